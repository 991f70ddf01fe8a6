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

    Each round, every violating record loses the value whose suppression gives it the largest
    frequency (on ties the least important key, or, when no single key helps, its rarest value);
    rounds repeat until no record violates."""
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
            better = can & (
                (score[:, 0] > best_score[:, 0])
                | ((score[:, 0] == best_score[:, 0]) & (score[:, 1] > best_score[:, 1]))
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
