"""Disclosure risk of microdata on declared key variables (quasi-identifiers), as sdcMicro measures it.

For each record and its combination of key values (Templ 2017, *Statistical Disclosure Control for
Microdata*, ch. 3; sdcMicro ``freqCalc``, ``indivRisk``, ``measure_risk``, ``ldiversity``):

- ``fk``: sample frequency of the combination; ``Fk``: the sum of the sampling weights over it (the
  estimated population frequency). A missing key value (a suppressed one) matches any value, as in
  sdcMicro (``alpha = 1``): records agree when their keys are equal or missing in either.
- *k-anonymity*: a record violates it when ``fk < k`` (and, with weights, ``Fk < k``).
- *individual risk* (Benedetti and Franconi 1998, the approximation sdcMicro uses): with
  ``p = fk / Fk``, ``r = p/(1-p) log(1/p)`` for ``fk = 1``, ``p/(1-p) - (p/(1-p))² log(1/p)`` for
  ``fk = 2``, ``p / (fk - (1 - p))`` for larger ``fk``, and ``1/fk`` when ``fk = Fk`` (or no weights).
- *global risk*: the expected number of re-identifications ``Σ r`` (and ``Σ r / n``).
- *household risk*: ``1 - Π (1 - r_i)`` over the members of a household (each member carries it);
  its expected number is the sum over records.
- *l-diversity* of a sensitive variable: the number of its distinct (non-missing) values within the
  records' combination.

:func:`local_suppression` blanks the fewest key values it can find, least important key first, until
every record is k-anonymous (greedy, like sdcMicro's ``localSuppression`` with an importance order).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError


def _codes(frame: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Integer codes of each key (-1 for missing), one column per key."""
    out = np.empty((len(frame), len(keys)), dtype=np.int64)
    for j, key in enumerate(keys):
        out[:, j] = pd.factorize(frame[key], use_na_sentinel=True)[0]
    return out


def frequencies(
    frame: pd.DataFrame, keys: Sequence[str], weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``fk`` and ``Fk`` of every record (missing key values match anything)."""
    codes = _codes(frame, keys)
    w = np.ones(len(frame)) if weights is None else np.asarray(weights, float)
    observed = codes >= 0
    patterns, pattern_of = np.unique(observed, axis=0, return_inverse=True)
    pattern_of = pattern_of.reshape(-1)
    fk = np.zeros(len(frame))
    big = np.zeros(len(frame))
    for p, pat in enumerate(patterns):
        rows = np.flatnonzero(pattern_of == p)
        for q, other in enumerate(patterns):
            cols = np.flatnonzero(pat & other)  # keys observed in both: they must agree
            src = np.flatnonzero(pattern_of == q)
            if len(cols) == 0:
                fk[rows] += len(src)
                big[rows] += w[src].sum()
                continue
            both = np.concatenate([codes[src][:, cols], codes[rows][:, cols]])
            _, cell = np.unique(both, axis=0, return_inverse=True)
            cell = cell.reshape(-1)
            n_cells = cell.max() + 1
            count = np.bincount(cell[: len(src)], minlength=n_cells)
            total = np.bincount(cell[: len(src)], weights=w[src], minlength=n_cells)
            fk[rows] += count[cell[len(src) :]]
            big[rows] += total[cell[len(src) :]]
    return fk, big


def individual_risk(fk: np.ndarray, big_fk: np.ndarray | None) -> np.ndarray:
    """Benedetti-Franconi individual risk (sdcMicro's approximation); ``1/fk`` without weights."""
    fk = np.asarray(fk, float)
    if big_fk is None:
        return 1.0 / fk
    p = fk / np.asarray(big_fk, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = p / (1 - p)
        r = np.where(
            fk == 1,
            odds * np.log(1 / p),
            np.where(fk == 2, odds - odds**2 * np.log(1 / p), p / (fk - (1 - p))),
        )
    return np.where(np.isclose(fk, big_fk, rtol=0, atol=1e-9), 1.0 / fk, r)


@dataclasses.dataclass
class RiskReport:
    """Per-record measures (``records``) and their summary (``summary``)."""

    records: pd.DataFrame  # fk, Fk, risk, household_risk, l_<sensitive>
    summary: dict[str, Any]

    def lines(self, label: str) -> list[str]:
        """The summary as short lines for the export log."""
        s = self.summary
        text = (
            f"{label}: {s['records']} records on keys {', '.join(s['keys'])}: "
            f"{s['violations_sample']} violate {s['k']}-anonymity in the sample"
        )
        if s.get("weighted"):
            text += (
                f", {s['violations_population']} in the weighted population; expected "
                f"re-identifications {s['expected_reidentifications']:.2f} "
                f"({s['global_risk_pct']:.3f} %), highest individual risk {s['max_risk']:.3f}"
            )
        out = [text]
        if "household_expected" in s:
            out.append(
                f"{label}: household risk: expected re-identifications "
                f"{s['household_expected']:.2f} ({s['household_risk_pct']:.3f} %)"
            )
        for var, (lmin, below) in s.get("l_diversity", {}).items():
            out.append(
                f"{label}: l-diversity of {var}: lowest {lmin}, {below} records below "
                f"{s['l']}-diverse"
            )
        return out


def measure_risk(
    frame: pd.DataFrame,
    keys: Sequence[str],
    *,
    weights: np.ndarray | None = None,
    household: np.ndarray | None = None,
    sensitive: Sequence[str] = (),
    k: int = 3,
    l_target: int = 2,
) -> RiskReport:
    """The measures on ``frame`` (one row per record); ``household`` gives each record's household."""
    fk, big = frequencies(frame, keys, weights)
    risk = individual_risk(fk, big if weights is not None else None)
    records = pd.DataFrame({"fk": fk, "Fk": big, "risk": risk}, index=frame.index)
    summary: dict[str, Any] = {
        "records": int(len(frame)),
        "keys": list(keys),
        "k": int(k),
        "weighted": weights is not None,
        "violations_sample": int((fk < k).sum()),
        "sample_uniques": int((fk == 1).sum()),
        "expected_reidentifications": float(risk.sum()),
        "global_risk_pct": float(100 * risk.mean()) if len(risk) else 0.0,
        "max_risk": float(risk.max()) if len(risk) else 0.0,
    }
    if weights is not None:
        summary["violations_population"] = int((big < k).sum())
    if household is not None:
        log_safe = pd.Series(np.log1p(-np.minimum(risk, 1 - 1e-15))).groupby(household)
        hh = 1 - np.exp(log_safe.transform("sum").to_numpy())
        records["household_risk"] = hh
        summary["household_expected"] = float(hh.sum())
        summary["household_risk_pct"] = float(100 * hh.mean()) if len(hh) else 0.0
    if sensitive:
        summary["l"] = int(l_target)
        summary["l_diversity"] = {}
        for var in sensitive:
            lv = l_diversity(frame, keys, var)
            records[f"l_{var}"] = lv
            summary["l_diversity"][var] = (
                int(lv.min()) if len(lv) else 0,
                int((lv < l_target).sum()),
            )
    return RiskReport(records, summary)


def l_diversity(frame: pd.DataFrame, keys: Sequence[str], sensitive: str) -> np.ndarray:
    """Distinct non-missing values of ``sensitive`` among the records sharing each record's keys
    (records with complete keys; as sdcMicro's distinct l-diversity)."""
    cell = pd.Series(
        pd.MultiIndex.from_frame(frame[list(keys)].astype(object)).factorize()[0],
        index=frame.index,
    )
    return frame[sensitive].groupby(cell.to_numpy()).transform("nunique").to_numpy(dtype=float)


def local_suppression(
    frame: pd.DataFrame,
    keys: Sequence[str],
    k: int,
    *,
    importance: Sequence[str] | None = None,
    groups: dict[str, np.ndarray] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Blank key values until every record has ``fk ≥ k``; returns the new frame and a boolean frame
    of the suppressed cells. ``importance`` lists the keys most important first (suppressed last;
    default: the order of ``keys``). ``groups[key]`` gives, for a key held on a higher level (a
    household's region), the id of that unit: a value is then suppressed for the whole unit.

    Each round, every violating record loses one value: of the least important key whose
    suppression alone makes it k-anonymous, or else the one giving it the largest frequency (on ties
    the rarest value); rounds repeat until no record violates."""
    order = list(importance or keys)
    if sorted(order) != sorted(keys):
        raise SurvmigError(
            "the importance order must list every key once",
            where="risk.importance",
            hint=f"keys: {', '.join(keys)}",
        )
    rank = {key: i for i, key in enumerate(order)}  # higher = less important = suppressed first
    out = frame[list(keys)].copy()
    suppressed = pd.DataFrame(False, index=frame.index, columns=list(keys))
    for _ in range(len(keys) * 4 + 4):
        fk, _ = frequencies(out, keys)
        bad = fk < k
        if not bad.any():
            return out, suppressed
        best_key = np.full(len(out), -1)
        best_score = np.full((len(out), 2), -np.inf)
        for j in sorted(range(len(keys)), key=lambda j: -rank[keys[j]]):
            key = keys[j]
            can = bad & out[key].notna().to_numpy()
            if not can.any():
                continue
            trial = out.copy()
            trial.loc[can, key] = None
            fk_j, _ = frequencies(trial, keys)
            # no gain from this key alone: blank the rarest value first (it makes the record
            # unique), else the least important key (visited first) wins ties
            rarity = -out[key].map(out[key].value_counts()).to_numpy(float)
            score = np.column_stack([fk_j, np.where(fk_j > fk, 0.0, rarity)])
            safe_now = best_score[:, 0] >= k  # a less important key already makes it safe
            better = (
                can
                & ~safe_now
                & (
                    (score[:, 0] >= k)
                    | (score[:, 0] > best_score[:, 0])
                    | ((score[:, 0] == best_score[:, 0]) & (score[:, 1] > best_score[:, 1]))
                )
            )
            best_key[better] = j
            best_score[better] = score[better]
        if (best_key[bad] < 0).all():
            break
        for j, key in enumerate(keys):
            rows = bad & (best_key == j)
            if groups and key in groups:
                unit = pd.Series(rows).groupby(groups[key]).transform("any").to_numpy()
                rows = unit & out[key].notna().to_numpy()
            out.loc[rows, key] = None
            suppressed.loc[rows, key] = True
    fk, _ = frequencies(out, keys)
    if (fk < k).any():
        raise SurvmigError(
            f"{int((fk < k).sum())} record(s) stay below {k}-anonymity with every key suppressed",
            where="risk",
            hint="lower k or declare fewer keys",
        )
    return out, suppressed


# ------------------------------------------------------------------------ the public-use step

_RISK_KEYS = {"keys", "k", "weight", "weight_file", "importance", "sensitive", "l", "suppress"}


def _config(config: Any, file: str | None) -> dict[str, Any]:
    if not isinstance(config, dict) or not config.get("keys"):
        raise SurvmigError(
            "risk: needs keys: [the key variables]",
            file=file,
            hint="e.g. keys: [sex, age, hh_size]",
        )
    unknown = set(config) - _RISK_KEYS
    if unknown:
        raise SurvmigError(
            f"risk: unknown key(s) {', '.join(sorted(unknown))}",
            file=file,
            hint="allowed: " + ", ".join(sorted(_RISK_KEYS)),
        )
    k = config.get("k", 3)
    if not isinstance(k, int) or k < 2:
        raise SurvmigError(f"risk.k must be an integer of at least 2, got {k!r}", file=file)
    return config


def _weights(
    tables: dict[str, pd.DataFrame], root: str, config: dict[str, Any], file: str | None
) -> pd.Series | None:
    """Household weights by KEY: a column of the household table, or of ``weight_file`` (a table with
    KEY and that column, as ``survmig weight`` writes), path relative to the configuration."""
    from pathlib import Path

    from survmig.data.form import KEY
    from survmig.tableio import read_table

    column = config.get("weight")
    if column is None:
        if config.get("weight_file"):
            raise SurvmigError("risk.weight_file needs risk.weight (its column)", file=file)
        return None
    if config.get("weight_file"):
        path = Path(config["weight_file"])
        if not path.is_absolute() and file:
            path = Path(file).parent / path
        source = read_table(path)
        where: Any = path
    else:
        source, where = tables[root], file
    if KEY not in source.columns or column not in source.columns:
        raise SurvmigError(
            f"no columns {KEY!r} and {column!r} for the risk weights",
            file=where,
            hint="give the weighted household file of `survmig weight` as risk.weight_file",
        )
    weights = pd.to_numeric(source[column], errors="coerce")
    weights.index = source[KEY].astype(str)
    missing = ~tables[root][KEY].astype(str).isin(weights.index)
    if missing.any() or weights.isna().any() or (weights <= 0).any():
        raise SurvmigError(
            f"risk weights: {int(missing.sum())} household(s) without a weight, "
            f"{int(weights.isna().sum())} missing, {int((weights <= 0).sum())} not positive",
            file=where,
            hint="every household needs a positive weight",
        )
    return weights


def apply_risk(
    tables: dict[str, pd.DataFrame], meta: Any, config: Any, file: str | None
) -> tuple[list[dict[str, str]], list[str]]:
    """The ``risk:`` section of a public-use configuration: measure the risk on the key variables,
    suppress key values locally until every record is k-anonymous (unless ``suppress: false``),
    measure again. ``tables`` are changed in place; returns export notes and log lines."""
    from survmig.data.dataset import Dataset
    from survmig.data.form import KEY
    from survmig.data.public import _linked

    cfg = _config(config, file)
    keys = [str(k) for k in cfg["keys"]]
    levels = {}
    for key in keys:
        var = meta.variables.get(key)
        if var is None or key not in tables.get(var.level, pd.DataFrame()).columns:
            raise SurvmigError(
                f"risk.keys: {key!r} is not a variable of the public file",
                file=file,
                hint="name variables kept in the file (after drop and coarsening)",
            )
        levels[key] = var.level
    level = max(set(levels.values()), key=lambda lv: len(meta.ancestors(lv)))
    chain = {level, *meta.ancestors(level)}
    off = [k for k, lv in levels.items() if lv not in chain]
    if off:
        raise SurvmigError(
            f"risk.keys {', '.join(off)} are not on level {level!r} or its parents", file=file
        )
    sensitive = [str(s) for s in cfg.get("sensitive") or []]
    ds = Dataset(tables, meta)
    flat = ds.flatten(level).reset_index(drop=True)
    for s in sensitive:
        if s not in flat.columns:
            raise SurvmigError(f"risk.sensitive: {s!r} is not on level {level!r}", file=file)
    root_key = flat[KEY] if level == meta.root else flat[f"KEY_{meta.root}"]
    hh_weights = _weights(tables, meta.root, cfg, file)
    weights = None if hh_weights is None else hh_weights.reindex(root_key.astype(str)).to_numpy()
    household = pd.factorize(root_key)[0]
    k = int(cfg.get("k", 3))
    l_target = int(cfg.get("l", 2))

    def measure(frame: pd.DataFrame) -> RiskReport:
        return measure_risk(
            frame,
            keys,
            weights=weights,
            household=household,
            sensitive=sensitive,
            k=k,
            l_target=l_target,
        )

    before = measure(flat)
    log = before.lines("disclosure risk before suppression")
    notes = [{"level": level, "column": ", ".join(keys), "note": line} for line in log]
    if not cfg.get("suppress", True):
        return notes, log
    groups = {key: flat[f"KEY_{lv}"].to_numpy() for key, lv in levels.items() if lv != level}
    safe, suppressed = local_suppression(
        flat, keys, k, importance=cfg.get("importance"), groups=groups
    )
    for key in keys:
        lv = levels[key]
        unit = flat[KEY] if lv == level else flat[f"KEY_{lv}"]
        gone = set(unit[suppressed[key].to_numpy()].astype(str))
        table = tables[lv]
        hit = table[KEY].astype(str).isin(gone)
        # a variable that carries the key's value (age_reported beside a grouped age) goes too
        twins = [t for t in _linked(meta, key) if t in table.columns and t != key]
        if hit.any():
            tables[lv] = table.assign(**{c: table[c].mask(hit) for c in [key, *twins]})
        also = f" (and in {', '.join(twins)}, which carry it)" if twins and hit.any() else ""
        text = (
            f"local suppression: {int(hit.sum())} value(s) of {key} set to missing{also} to reach "
            f"{k}-anonymity on {', '.join(keys)}"
        )
        if hit.any():
            log.append(f"{lv}.{key}: {text}")
            notes.append({"level": lv, "column": key, "note": text})
    flat_after = flat.assign(**{key: safe[key].to_numpy() for key in keys})
    after = measure(flat_after)
    lines = after.lines("disclosure risk after suppression")
    log.extend(lines)
    notes.extend({"level": level, "column": ", ".join(keys), "note": line} for line in lines)
    return notes, log
