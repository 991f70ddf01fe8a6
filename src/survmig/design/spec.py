"""``design.yaml``: the survey design as a file, checked field by field.

Two forms. A linearization design (R ``svydesign``)::

    ids: [ea, household]      # cluster ids per stage; omit (or []) when rows are sampled directly
    strata: region            # first-stage strata (a list gives one column per stage)
    weights: weight           # or  probs: [p_ea, p_hh]  (multiplied); or only fpc: weights N/n
    fpc: [ea_total, hh_total] # per stage: population sizes (>= 1) or sampling fractions (<= 1)
    nest: true                # PSU ids restart within strata
    survey: country_year      # pooled surveys: strata and PSUs restart within each survey
    lonely_psu: fail          # fail | remove | certainty | adjust | average
    lonely_psu_domain: false  # apply the rule to single-PSU strata inside a domain (R's option)
    variance: ultimate        # ultimate (first stage) | multistage (needs fpc for every stage)
    phase2:                   # a two-phase design (R twophase): phase 1 = ids/strata above with
      ids: household          #   probs (PSU probabilities) or fpc; phase 2 = a stratified SRS of
      strata: [ea, screen]    #   the listed units, fpc = units listed in each phase-2 stratum
      fpc: listed_in_class    #   (weights optional: final weights; default 1/(p1 n2/N2))
    create_replicates:        # optional: estimate with replicates made from this design
      type: bootstrap         # JK1 | JKn | BRR | Fay | bootstrap (Rao-Wu rescaled)
      replicates: 500
      seed: 2024
      rho: 0.5                # Fay only

A design with supplied replicate weights (R ``svrepdesign``)::

    weights: wt
    repweights: "^repwt[0-9]+$"   # a regular expression, or a list of columns
    type: JK1                      # JK1 | JKn | BRR | Fay | bootstrap | successive-difference | other
    replicates: 80                 # optional check of the number of columns found
    rho: 0.5                       # Fay
    scale: 0.9875                  # optional, R's defaults otherwise
    rscales: [..]                  # JKn (one per replicate) or other
    mse: false
    combined_weights: true         # false: the columns are factors to multiply by the weights
    df: 79                         # optional degrees of freedom (default: rank - 1, as R)
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from survmig.design.core import SurveyDesign
from survmig.errors import SurvmigError
from survmig.fileio import note_input
from survmig.modules.yamlio import LDict, parse_yaml

LINEARIZATION_KEYS = {
    "ids",
    "strata",
    "weights",
    "probs",
    "fpc",
    "nest",
    "lonely_psu",
    "lonely_psu_domain",
    "variance",
    "create_replicates",
    "survey",
    "calibration",
    "fixed_adjustments",
    "phase2",
}
REPLICATE_KEYS = {
    "weights",
    "repweights",
    "type",
    "replicates",
    "rho",
    "scale",
    "rscales",
    "mse",
    "combined_weights",
    "df",
    "fixed_adjustments",
}
CREATE_KEYS = {"type", "replicates", "seed", "rho", "mse"}


def load_design(
    source: str | Path | dict[str, Any],
    data: pd.DataFrame,
    data_file: str | Path | None = None,
) -> SurveyDesign:
    """Build a :class:`SurveyDesign` over ``data`` from a ``design.yaml`` path or the parsed dict.

    Errors name the file, the line and the field; errors in the data's values (a negative weight
    at row 7) name ``data_file`` instead of the design file.
    """
    lines: dict[str, int] = {}
    file: str | None = None
    if isinstance(source, dict):
        spec = source
    else:
        path = Path(source)
        file = str(path)
        if not path.is_file():
            raise SurvmigError(
                "design file not found", file=file, hint="give the path to design.yaml"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise SurvmigError(
                "not a text file: a design file is YAML text",
                file=file,
                hint="give the design.yaml (strata, ids, weights…), not a data or form file",
            ) from None
        note_input(path)
        # the shared loader: duplicate keys, alias bombs and syntax errors name file:line
        spec = parse_yaml(text, file)
        if isinstance(spec, LDict):
            lines = {str(k): spec.line_of(k) for k in spec}
    if not isinstance(spec, dict):
        raise SurvmigError("a design file must be a mapping of fields", file=file, line=1)

    def fail(key: str, message: str, hint: str | None = None) -> SurvmigError:
        return SurvmigError(message, file=file, line=lines.get(key), where=key, hint=hint)

    replicate = "repweights" in spec
    allowed = REPLICATE_KEYS if replicate else LINEARIZATION_KEYS
    for key in spec:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            other = LINEARIZATION_KEYS if replicate else REPLICATE_KEYS
            hint = f"did you mean {close[0]!r}?" if close else None
            if key in other:
                hint = (
                    "this field belongs to a linearization design (no repweights)"
                    if replicate
                    else "this field belongs to a replicate design: add repweights"
                )
            raise fail(str(key), f"unknown design field {key!r}", hint)

    def typed(key: str, kinds: tuple[type, ...], what: str) -> Any:
        value = spec.get(key)
        if value is not None and (
            not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)
        ):
            raise fail(key, f"{key} must be {what}, got {value!r}")
        if isinstance(value, list) and not all(isinstance(v, str) for v in value):
            raise fail(key, f"{key} must be {what}, got {value!r}")
        return value

    try:
        if replicate:
            if "type" not in spec:
                raise fail(
                    "repweights",
                    "a replicate design needs its type",
                    "add type: JK1 (or JKn, BRR, …)",
                )
            rscales = spec.get("rscales")
            if rscales is not None and not isinstance(rscales, int | float | list):
                raise fail("rscales", "rscales must be a number or a list of numbers")
            design = SurveyDesign.replicate(
                data,
                repweights=typed("repweights", (str, list), "a pattern or a list of columns"),
                type=str(spec["type"]),
                weights=typed("weights", (str,), "a column name"),
                rho=typed("rho", (int, float), "a number"),
                scale=typed("scale", (int, float), "a number"),
                rscales=rscales,
                mse=bool(typed("mse", (bool,), "true or false") or False),
                combined_weights=bool(
                    spec["combined_weights"]
                    if typed("combined_weights", (bool,), "true or false") is not None
                    else True
                ),
                replicates=typed("replicates", (int,), "a whole number"),
                df=typed("df", (int,), "a whole number"),
            )
            return _with_fixed_note(design, spec, fail)
        ids = typed("ids", (str, list), "a column or a list of columns")
        strata = typed("strata", (str, list), "a column or a list of columns")
        design = SurveyDesign(
            data,
            ids=ids,
            strata=strata,
            weights=typed("weights", (str,), "a column name"),
            probs=typed("probs", (str, list), "a column or a list of columns"),
            fpc=typed("fpc", (str, list), "a column or a list of columns"),
            nest=bool(typed("nest", (bool,), "true or false") or False),
            lonely_psu=str(spec.get("lonely_psu", "fail")),
            lonely_psu_domain=bool(typed("lonely_psu_domain", (bool,), "true or false") or False),
            variance=str(spec.get("variance", "ultimate")),
            survey=typed("survey", (str,), "a column name"),
            phase2=_phase2_section(spec, fail),
        )
        create = spec.get("create_replicates")
        if "calibration" in spec:
            if create is not None:
                raise fail(
                    "calibration",
                    "a design cannot both carry calibration and create replicates",
                    "replicate designs carry the calibration in their adjusted replicate weights",
                )
            from survmig.weighting.designfile import recalibrate  # the weighting stage's steps

            design = recalibrate(
                design, spec["calibration"], lambda message: fail("calibration", message)
            )
        design = _with_fixed_note(design, spec, fail)
        if create is not None:
            if not isinstance(create, dict):
                raise fail(
                    "create_replicates",
                    "create_replicates must be a mapping (type, replicates, seed)",
                )
            for key in create:
                if key not in CREATE_KEYS:
                    raise fail(
                        "create_replicates",
                        f"unknown create_replicates field {key!r}",
                        f"use {', '.join(sorted(CREATE_KEYS))}",
                    )
            design = design.to_replicate(
                type=str(create.get("type", "bootstrap")),
                replicates=create.get("replicates"),
                seed=create.get("seed"),
                rho=float(create.get("rho", 0.0)),
                mse=bool(create.get("mse", False)),
            )
        return design
    except SurvmigError as err:
        if err.file is None and DATA_ROW.search(err.message):  # about a value in the data
            raise SurvmigError(
                err.message,
                file=str(data_file) if data_file is not None else None,
                where=err.where,
                hint=err.hint,
            ) from err
        if err.file is None and file is not None:
            key = err.where if err.where in lines else None
            raise SurvmigError(
                err.message,
                file=file,
                line=lines.get(key) if key else None,
                where=err.where,
                hint=err.hint,
            ) from err
        raise


def _phase2_section(spec: dict[str, Any], fail: Any) -> dict[str, Any] | None:
    """The ``phase2`` section (two-phase design), checked for shape."""
    section = spec.get("phase2")
    if section is None:
        return None
    if not isinstance(section, dict):
        raise fail(
            "phase2",
            "phase2 must be a mapping: ids (the phase-2 unit), strata, fpc (units listed per "
            "phase-2 stratum)",
        )
    if spec.get("create_replicates") is not None:
        raise fail("phase2", "a two-phase design cannot create replicates")
    return dict(section)


def _with_fixed_note(design: SurveyDesign, spec: dict[str, Any], fail: Any) -> SurveyDesign:
    """The design's ``fixed_adjustments`` (weight adjustments its SEs treat as fixed) as its note."""
    fixed = spec.get("fixed_adjustments")
    if fixed is None:
        return design
    if not isinstance(fixed, list) or not all(isinstance(v, str) for v in fixed):
        raise fail("fixed_adjustments", "fixed_adjustments must be a list of step descriptions")
    return design.with_weights_note(fixed_weights_note(fixed)) if fixed else design


def fixed_weights_note(adjustments: Sequence[str]) -> str:
    """The sentence every output carries when SEs treat weight adjustments as fixed."""
    return (
        "SEs treat these weight adjustments as fixed (their own variance is not estimated): "
        + "; ".join(adjustments)
    )


DATA_ROW = re.compile(r"\bat row \d+|\bfirst at row\b")


def design_from_options(
    data: pd.DataFrame,
    *,
    strata: str | None = None,
    psu: str | None = None,
    weight: str | None = None,
    fpc: str | None = None,
    nest: bool = False,
    lonely_psu: str = "fail",
) -> SurveyDesign:
    """The one-stage design of Stata's ``svyset psu [pw=weight], strata() fpc()`` one-liner."""
    return SurveyDesign(
        data,
        ids=[psu] if psu else None,
        strata=strata,
        weights=weight,
        fpc=[fpc] if fpc else None,
        nest=nest,
        lonely_psu=lonely_psu,
    )


def design_to_spec(
    design: SurveyDesign,
    *,
    weights: str,
    repweights: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The ``design.yaml`` fields that rebuild ``design`` from a file holding its final weights in
    column ``weights`` (and its replicate analysis weights in ``repweights``).

    Replicate designs keep their type, scale, rscales, mse, rho and degrees of freedom, so SEs from
    the file equal those of the design. Calibration records of a linearization design cannot be
    written (they hold per-row residual projections): a file-based design treats the weights as
    fixed — see :func:`calibration_note`.
    """
    rep = design.replicate_weights
    if rep is not None:
        if repweights is None or len(repweights) != rep.n_replicates:
            raise SurvmigError(
                "the replicate weight columns of the design are not in the file", where="repweights"
            )
        spec: dict[str, Any] = {
            "weights": weights,
            "repweights": list(repweights),
            "type": rep.type,
            "replicates": rep.n_replicates,
            "scale": float(rep.scale),
            "rscales": [float(r) for r in rep.rscales],
            "mse": bool(rep.mse),
            "df": int(design.df),
        }
        if rep.rho is not None and rep.type == "Fay":
            spec["rho"] = float(rep.rho)
        return spec
    spec = {"weights": weights}
    if design.ids:
        spec["ids"] = list(design.ids)
    if design.strata:
        spec["strata"] = design.strata[0] if len(design.strata) == 1 else list(design.strata)
    if design.fpc:
        spec["fpc"] = list(design.fpc)
    spec["nest"] = bool(design.nest)
    spec["lonely_psu"] = design.lonely_psu
    if design.lonely_psu_domain:
        spec["lonely_psu_domain"] = True
    spec["variance"] = design.variance
    if design.twophase is not None:
        # the phase-1 probabilities (or fpc) and the phase-2 structure; the weights stay the file's
        if design.twophase.probs1:
            spec["probs"] = list(design.twophase.probs1)
        spec["phase2"] = design.twophase.spec()
    return spec


def calibration_note(design: SurveyDesign) -> str | None:
    """Why file-based SEs of a calibrated linearization design differ from in-memory ones."""
    if design.replicate_weights is not None or not design.calibration:
        return None
    return (
        "calibration residuals (post-stratification, raking, calibration) cannot be carried in a "
        "file: estimates from the written design treat the final weights as fixed, so their SEs "
        "ignore the calibration gain; to carry the adjustments, create replicate weights "
        "(create_replicates in design.yaml) before weighting"
    )


def write_design_spec(spec: dict[str, Any], target: Path, comment: str | None = None) -> Path:
    """Write ``spec`` as ``design.yaml`` at ``target`` (atomically)."""
    from survmig.fileio import atomic_path

    header = "".join(f"# {line}\n" for line in (comment or "").splitlines())
    text = header + yaml.safe_dump(spec, sort_keys=False, allow_unicode=True, width=100)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target


REPLICATE_LOOKALIKE = re.compile(
    r"^(repw|repwt|repwgt|rep_?weight|rw|brr|jk|pwgtp|wgtp)_?[0-9]+$", re.IGNORECASE
)


def ignored_replicate_columns(data: pd.DataFrame, weight: str | None) -> str | None:
    """A warning when a one-line design (``--weight``) leaves replicate-looking columns unused."""
    cols = [str(c) for c in data.columns if REPLICATE_LOOKALIKE.match(str(c)) and c != weight]
    if not cols:
        return None
    stem = re.match(r"^(.*?)[0-9]+$", cols[0]).group(1)
    shown = cols[0] if len(cols) == 1 else f"{cols[0]} … {cols[-1]}"
    return (
        f"{len(cols)} column(s) look like replicate weights ({shown}) and are ignored: "
        f"--weight gives a design without replicates; to use them, give --design with a "
        f"design.yaml naming weights, repweights: '^{re.escape(stem)}[0-9]+$' and type "
        "(survmig weight writes one beside its output)"
    )
