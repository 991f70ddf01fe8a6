"""Public-use files: remove what identifies people, coarsen what could, keep the rest unchanged.

Always removed: questions flagged ``pii: yes`` in the form (with their option columns), GPS answers
(geopoint/geotrace/geoshape), identifying metadata (device id, phone number, user name, e-mail,
SIM serial, subscriber id, audit) and the platform columns that name submitters or devices. Keys
(instance ids) are replaced by sequential ids that keep the links between levels.

Configured in YAML::

    drop: [village_name, enumerator]      # more variables to remove
    keep: [start]                         # exceptions to the automatic removal (not PII-flagged ones)
    top_code:                             # values above the limit become the limit
      remit_amount: {max: 50000}
      hh_income: {quantile: 0.99}         # the limit is this quantile of the valid values
    age_groups:                           # replace a number by labelled groups [lo, next lo)
      age: {breaks: [0, 15, 25, 35, 45, 55, 65]}
    anonymize_keys: true
    risk:                                 # disclosure risk on key variables (survmig.data.risk)
      keys: [sex, age, cc_country_birth, hh_size]
      k: 3                                # local suppression until every record is 3-anonymous
      weight: weight                      # sampling weights for Fk and the individual risk,
      weight_file: households_weighted.csv  # from this table (KEY + weight) if not in the data
      importance: [age, sex, hh_size, cc_country_birth]  # most important first (suppressed last)
      sensitive: [cc_citizenship]         # l-diversity
      l: 2

Special codes (-8, -9) are never top-coded or grouped: they stay as they are.

Coarsening covers every variable that carries the same information as the one named (found from
the form, transitively):

- variables with the same ``concept`` (e.g. the age of emigrants when ``age`` is grouped);
- numeric or date variables the named one is *calculated from* (``age`` is calculated from
  ``age_reported`` and ``date_of_birth``) and calculations made *from* it.

A numeric one that the calculation can pass through unchanged (``${x}`` alone or as a whole
argument, as ``age_reported`` in ``if(…, …, ${age_reported})``) or of the same concept gets the same
top-code or groups; any other (a date, ``${age} * 12``) is dropped, unless listed under ``keep``.
Select and text variables used as conditions (``dob_known``) are not linked. Every such step is
listed in the log (printed by ``survmig data export`` and written to ``export_notes.csv``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from survmig.conventions import SPECIAL_CODES
from survmig.data.coerce import DATE_TYPES, DATETIME_TYPES, FLOAT_TYPES, INT_TYPES
from survmig.data.dataset import Dataset
from survmig.data.form import (
    GEO_TYPES,
    IDENTIFYING_META,
    KEY,
    PARENT_KEY,
    ROOT_KEY,
    Choice,
    FormMetadata,
    Variable,
)
from survmig.data.xpath import XPathError, XPathUnsupported, parse, tokenize
from survmig.errors import SurvmigError
from survmig.modules.yamlio import load_yaml

IDENTIFYING_PLATFORM = (
    "SubmitterID",
    "SubmitterName",
    "SubmissionDeviceID",
    "ReviewNotes",
    "ReviewTags",
)
_ALLOWED = {"drop", "keep", "top_code", "age_groups", "anonymize_keys", "risk"}
_NUMERIC_TYPES = INT_TYPES | FLOAT_TYPES | {"calculate"}
_DATE_TYPES = DATE_TYPES | DATETIME_TYPES


def load_config(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise SurvmigError("public-use configuration not found", file=path)
    # the shared loader: a duplicated key (a second `drop:` silently replacing the first list of
    # identifying variables) is an error, and every message is one line naming file:line
    data = load_yaml(path)
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise SurvmigError(
            "the configuration must be a mapping (drop:, top_code:, age_groups:)", file=path
        )
    unknown = set(data) - _ALLOWED
    if unknown:
        raise SurvmigError(
            f"unknown key(s): {', '.join(sorted(unknown))}",
            file=path,
            hint="allowed: " + ", ".join(sorted(_ALLOWED)),
        )
    data["_file"] = str(path)
    return data


def public_use(ds: Dataset, config: dict[str, Any] | None = None) -> tuple[Dataset, list[str]]:
    """A new Dataset for public release, and the list of what was done (for the release notes)."""
    config = dict(config or {})
    file = config.pop("_file", None)
    meta = ds.metadata
    log: list[str] = []
    known = set(meta.variables)
    for section in ("drop", "keep"):
        for name in config.get(section) or []:
            if name not in known:
                raise SurvmigError(f"{section}: '{name}' is not a variable of the form", file=file)
    keep = set(config.get("keep") or [])
    drop: set[str] = set(config.get("drop") or [])
    for var in meta.variables.values():
        if var.pii:
            drop.add(var.name)
            if var.name in keep:
                raise SurvmigError(
                    f"keep: '{var.name}' is flagged as PII in the form and cannot be kept",
                    file=file,
                )
        elif identifying(var) and var.name not in keep:
            drop.add(var.name)
    if config.get("anonymize_keys", True):
        drop.update(n for n in ("instanceID", "deprecatedID", "instanceName") if n in known)
    for var in meta.variables.values():
        if var.parent in drop:
            drop.add(var.name)
    tables = {}
    for level in ds.levels:
        df = ds.table(level)
        gone = [c for c in df.columns if c in drop or (c in IDENTIFYING_PLATFORM and c not in keep)]
        if gone:
            log.append(f"{level}: removed {', '.join(gone)}")
        tables[level] = df.drop(columns=gone).copy()
    variables = {k: v for k, v in meta.variables.items() if k not in drop}
    choices = dict(meta.choices)
    notes: list[dict[str, str]] = []

    def note(level: str, column: str, text: str) -> None:
        log.append(f"{level}.{column}: {text}")
        notes.append({"level": level, "column": column, "note": text})

    def present(name: str) -> bool:
        var = meta.variables.get(name)
        return var is not None and name in tables.get(var.level, pd.DataFrame()).columns

    def coarsenable(target: str, name: str, linked: dict[str, tuple[bool, str]]) -> bool:
        """Whether ``target`` takes ``name``'s rule; if not, it is removed (or kept as asked)."""
        var = meta.variables[target]
        numeric = pd.api.types.is_numeric_dtype(tables[var.level][target].dtype)
        if target == name or (linked[target][0] and numeric):
            return True
        why = linked[target][1]
        if target in keep:
            note(var.level, target, f"kept as asked, though it carries the value of {name} ({why})")
        else:
            tables[var.level] = tables[var.level].drop(columns=[target])
            variables.pop(target, None)
            note(var.level, target, f"removed: it carries the value of {name} ({why})")
        return False

    def targets(name: str) -> Iterator[tuple[str, Variable, pd.Series, str]]:
        """``name`` and the variables linked to it that take its rule (the others are handled)."""
        linked = _linked(meta, name)
        for target in [name, *linked]:
            if present(target) and coarsenable(target, name, linked):
                var = meta.variables[target]
                why = "" if target == name else f" like {name} ({linked[target][1]})"
                yield target, var, tables[var.level][target], why

    for name, rule in (config.get("top_code") or {}).items():
        level, series = _numeric(ds, meta, name, "top_code", file)
        limit = _limit(series, rule, name, file)
        for target, tv, values, why in targets(name):
            special = values.isin(list(SPECIAL_CODES))
            over = (values > limit) & ~special
            tables[tv.level][target] = values.mask(over.fillna(False), limit)
            note(
                tv.level,
                target,
                f"{int(over.sum())} value(s) above {limit:g} top-coded to {limit:g}{why}",
            )
    for name, rule in (config.get("age_groups") or {}).items():
        _numeric(ds, meta, name, "age_groups", file)
        breaks = rule.get("breaks") if isinstance(rule, dict) else None
        if not breaks or sorted(breaks) != list(breaks) or len(breaks) < 2:
            raise SurvmigError(
                f"age_groups.{name}.breaks must be an increasing list of at least two numbers",
                file=file,
            )
        for target, tv, values, why in targets(name):
            codes, list_choices = _groups(values, [float(b) for b in breaks])
            list_name = f"{target}_groups"
            choices[list_name] = list_choices
            tables[tv.level][target] = codes
            variables[target] = dataclasses.replace(
                variables[target], type="select_one", list_name=list_name, constraint=None
            )
            note(tv.level, target, f"grouped at {', '.join(f'{b:g}' for b in breaks)}{why}")
    if config.get("risk") is not None:  # measured (and suppressed) on the file as released
        from survmig.data.risk import apply_risk

        risk_notes, risk_log = apply_risk(tables, meta, config["risk"], file)
        notes.extend(risk_notes)
        log.extend(risk_log)
    if config.get("anonymize_keys", True):
        _anonymize(tables, meta)
        log.append("keys replaced by sequential ids")
    new_meta = FormMetadata(
        title=meta.title,
        form_id=meta.form_id,
        version=meta.version,
        default_language=meta.default_language,
        languages=meta.languages,
        levels=list(meta.levels.values()),
        variables=list(variables.values()),
        choices=choices,
        source=meta.source,
        silent=meta.silent,
    )
    source = {**ds.source, "public_use": True, "public_use_notes": notes}
    return Dataset(tables, new_meta, source=source), log


def identifying(var: Variable) -> bool:
    """Whether a public-use file drops ``var`` by default: PII, GPS or identifying metadata."""
    return bool(var.pii) or var.type in GEO_TYPES or var.type in IDENTIFYING_META


def expression_refs(expr: str | None) -> set[str]:
    """Names ``${…}`` in an expression."""
    if not expr:
        return set()
    try:
        return {t.value for t in tokenize(expr) if t.kind == "ref"}
    except XPathError:
        return set()


def _passes_through(expr: str, name: str) -> bool:
    """Whether ``expr`` can return ``${name}`` unchanged: alone, or a branch of if()/coalesce()."""
    try:
        todo = [parse(expr)]
    except (XPathError, XPathUnsupported):
        return False
    while todo:
        node = todo.pop()
        if node[0] == "ref":
            if node[1] == name:
                return True
        elif node[0] == "call" and node[1] == "if" and len(node[2]) == 3:
            todo += node[2][1:]
        elif node[0] == "call" and node[1] == "coalesce":
            todo += node[2]
    return False


def _carries_values(var: Variable) -> bool:
    return var.type in _NUMERIC_TYPES or var.type in _DATE_TYPES


def _linked(meta: FormMetadata, name: str) -> dict[str, tuple[bool, str]]:
    """Variables carrying the same information as ``name``: name -> (same scale, why).

    Followed transitively: same concept, numeric/date variables a calculation is made from, and
    calculations made from a linked variable. "Same scale" means the value can be copied unchanged
    (same concept, or a calculation that passes it through), so the same top-code or groups apply.
    """
    found: dict[str, tuple[bool, str]] = {}
    todo = [name]
    calculated = [v for v in meta.variables.values() if v.calculation]
    while todo:
        current = meta.variables[todo.pop()]
        candidates: list[tuple[Variable, bool, str]] = []
        if current.concept:
            candidates += [
                (v, True, f"same concept '{current.concept}' as {current.name}")
                for v in meta.concept_variables(current.concept)
            ]
        for ref in expression_refs(current.calculation):
            source = meta.variables.get(ref)
            if source is not None and _carries_values(source):
                same = _passes_through(current.calculation or "", ref)
                candidates.append((source, same, f"{current.name} is calculated from it"))
        for derived in calculated:
            if current.name in expression_refs(derived.calculation):
                same = _passes_through(derived.calculation or "", current.name)
                candidates.append((derived, same, f"calculated from {current.name}"))
        for var, same, why in candidates:
            if var.name == name or var.name in found or var.kind != "question":
                continue
            found[var.name] = (same, why)
            todo.append(var.name)
    return found


def _numeric(
    ds: Dataset, meta: FormMetadata, name: str, section: str, file: str | None
) -> tuple[str, pd.Series]:
    var = meta.variables.get(name)
    if var is None:
        raise SurvmigError(f"{section}: '{name}' is not a variable of the form", file=file)
    series = ds.table(var.level)[name] if name in ds.table(var.level).columns else None
    if series is None or not pd.api.types.is_numeric_dtype(series.dtype):
        raise SurvmigError(f"{section}: '{name}' is not a numeric variable", file=file)
    return var.level, series


def _limit(series: pd.Series, rule: Any, name: str, file: str | None) -> float:
    if not isinstance(rule, dict) or not ({"max", "quantile"} & set(rule)):
        raise SurvmigError(f"top_code.{name} needs 'max: NUMBER' or 'quantile: 0.99'", file=file)
    if "max" in rule:
        return float(rule["max"])
    q = float(rule["quantile"])
    if not 0 < q < 1:
        raise SurvmigError(f"top_code.{name}.quantile must be between 0 and 1", file=file)
    valid = series[~series.isin(list(SPECIAL_CODES))].dropna().astype(float)
    return float(np.quantile(valid, q)) if len(valid) else float("inf")


def _groups(series: pd.Series, breaks: list[float]) -> tuple[pd.Series, list[Choice]]:
    values = series.astype("Float64")
    special = values.isin(list(SPECIAL_CODES)).fillna(False)
    idx = np.searchsorted(
        np.asarray(breaks), values.to_numpy(dtype=float, na_value=np.nan), side="right"
    )
    codes = pd.Series(idx, index=series.index).astype("Int64")
    codes = codes.where(values.notna() & ~special, pd.NA)
    codes = codes.where(~special, values.astype("Int64"))
    labels = (
        [f"under {breaks[0]:g}"]
        + [f"{a:g}–{b - 1:g}" for a, b in zip(breaks[:-1], breaks[1:], strict=True)]
        + [f"{breaks[-1]:g}+"]
    )
    choices = [Choice(str(i), {"default": text}) for i, text in enumerate(labels)]
    choices += [Choice(str(c), {"default": text}) for c, (_, text) in SPECIAL_CODES.items()]
    return codes, choices


def _anonymize(tables: dict[str, pd.DataFrame], meta: FormMetadata) -> None:
    mapping: dict[str, str] = {}
    for level, df in tables.items():
        lv = meta.levels[level]
        if lv.parent is None:
            new = pd.Series(np.arange(1, len(df) + 1), index=df.index).astype(str)
            mapping.update(dict(zip(df[KEY].astype(str), new, strict=True)))
            df[KEY] = new.astype("string")
            continue
        parent = df[PARENT_KEY].astype(str).map(mapping)
        new = (
            parent.fillna("orphan")
            + "/"
            + df.get("ROW_POS", pd.Series(range(1, len(df) + 1))).astype(str)
        )
        mapping.update(dict(zip(df[KEY].astype(str), new, strict=True)))
        df[KEY] = new.astype("string")
        df[PARENT_KEY] = parent.astype("string")
        df[ROOT_KEY] = df[ROOT_KEY].astype(str).map(mapping).astype("string")
