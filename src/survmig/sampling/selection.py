"""Sample selection with inclusion probabilities: SRS, systematic, PPS systematic, two-stage, two-phase.

Every function takes a seed (a :class:`numpy.random.Generator` is built from it), so a selection is
reproducible, and returns the selected rows with the inclusion probability of each stage
(``prob_stage1``, ``prob_stage2``, ``prob_phase2``), the overall ``prob`` and ``weight = 1/prob`` —
what :mod:`survmig.weighting` needs for base weights.

The array primitives (:func:`pps_probabilities`, :func:`pps_systematic_draw`,
:func:`smallest_keys`) work on many repetitions at once; the simulator uses them too.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from survmig.arrays import positions_in_groups
from survmig.errors import SurvmigError, show
from survmig.sampling.results import check_count, check_unique, generator

__all__ = [
    "pps_probabilities",
    "pps_systematic_draw",
    "select_households",
    "select_pps",
    "select_srs",
    "select_systematic",
    "select_two_phase",
    "select_two_stage",
    "smallest_keys",
]

SampleSize = int | Mapping[object, int] | pd.DataFrame


# --------------------------------------------------------------------------- array primitives


def pps_probabilities(
    size: np.ndarray, codes: np.ndarray, n_h: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Inclusion probabilities ``π_i = n_h x_i / X_h`` with certainty units removed iteratively.

    Units with ``n_h x_i / X_h ≥ 1`` are taken with certainty; the remaining sample is spread over
    the remaining units, repeatedly until no unit exceeds 1. Returns ``(prob, certain)``.
    """
    size = np.asarray(size, dtype=float)
    n_strata = len(n_h)
    certain = np.zeros(size.shape, dtype=bool)
    while True:
        n_rest = n_h - np.bincount(codes, weights=certain, minlength=n_strata)
        x_rest = np.bincount(codes, weights=np.where(certain, 0.0, size), minlength=n_strata)
        with np.errstate(divide="ignore", invalid="ignore"):
            pi = np.where(certain, 1.0, n_rest[codes] * size / x_rest[codes])
        new = ~certain & (pi >= 1 - 1e-12)
        if not new.any():
            return np.clip(np.nan_to_num(pi), 0.0, 1.0), certain
        certain |= new


def pps_systematic_draw(
    size: np.ndarray,
    codes: np.ndarray,
    n_h: np.ndarray,
    certain: np.ndarray,
    u: np.ndarray,
    keys: np.ndarray | None = None,
) -> np.ndarray:
    """PPS systematic selection within strata, for many repetitions at once.

    ``u`` has shape ``(reps, H)`` with values in (0, 1] (the random starts as a share of the
    interval). Units are taken in frame order within strata or, with ``keys`` of shape
    ``(reps, N)``, in a random order per repetition (randomized systematic PPS, Hartley & Rao 1962).
    Returns unit indices of shape ``(reps, n_total)``: first the certainty units, then the
    systematic picks stratum by stratum. A pick ``p`` selects the unit with ``X_{i−1} < p ≤ X_i``.
    """
    size = np.asarray(size, dtype=float)
    n_strata, n_units, reps = len(n_h), len(size), u.shape[0]
    if keys is None:
        order = np.broadcast_to(np.argsort(codes, kind="stable"), (reps, n_units))
    else:
        order = np.argsort(codes[None, :] + keys, axis=1, kind="stable")
    eff = np.where(certain, 0.0, size)
    cum = np.cumsum(eff[order], axis=1)
    x_h = np.bincount(codes, weights=eff, minlength=n_strata)
    start = np.concatenate([[0.0], np.cumsum(x_h)[:-1]])
    m_h = (n_h - np.bincount(codes, weights=certain, minlength=n_strata)).astype(int)
    col_stratum = np.repeat(np.arange(n_strata), m_h)
    j = positions_in_groups(m_h, start=0)
    interval = np.divide(x_h, m_h, out=np.zeros(n_strata), where=m_h > 0)
    points = start[col_stratum] + (u[:, col_stratum] + j) * interval[col_stratum]
    shift = (np.arange(reps) * (x_h.sum() + 1.0))[:, None]  # one sorted array for all reps
    pos = np.searchsorted((cum + shift).ravel(), (points + shift).ravel(), side="left")
    pos = np.minimum(pos.reshape(points.shape) - np.arange(reps)[:, None] * n_units, n_units - 1)
    picks = np.take_along_axis(order, pos, axis=1)
    fixed = np.broadcast_to(np.flatnonzero(certain), (reps, int(certain.sum())))
    return np.concatenate([fixed, picks], axis=1)


def smallest_keys(codes: np.ndarray, n_h: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Stratified SRS without replacement by random keys: the ``n_h`` smallest keys per stratum.

    ``keys`` has shape ``(reps, N)`` (uniform on [0, 1)); returns indices ``(reps, Σ n_h)`` grouped
    by stratum in code order.
    """
    n_strata = len(n_h)
    big_n = np.bincount(codes, minlength=n_strata)
    order = np.argsort(codes[None, :] + keys, axis=1, kind="stable")
    first = np.concatenate([[0], np.cumsum(big_n)[:-1]])
    positions = np.repeat(first, n_h) + positions_in_groups(n_h, start=0)
    return np.take_along_axis(order, np.broadcast_to(positions, (keys.shape[0], len(positions))), 1)


# --------------------------------------------------------------------------- frames


def select_srs(
    frame: pd.DataFrame, n: SampleSize, *, strata: str | None = None, seed: int | None = None
) -> pd.DataFrame:
    """Simple random sampling without replacement (stratified when ``strata`` is given)."""
    codes, labels = _codes(frame, strata)
    n_h = _sizes_per_stratum(n, labels, strata, np.bincount(codes, minlength=len(labels)))
    rng = generator(seed)
    idx = smallest_keys(codes, n_h, rng.random((1, len(frame))))[0]
    big_n = np.bincount(codes, minlength=len(labels))
    prob = (n_h / big_n)[codes]
    return _output(frame, np.sort(idx), {"prob_stage1": prob})


def select_systematic(
    frame: pd.DataFrame, n: SampleSize, *, strata: str | None = None, seed: int | None = None
) -> pd.DataFrame:
    """Systematic sampling with a fractional interval N/n in frame order (probability n/N each).

    Sort the frame first (e.g. geographically) to get implicit stratification.
    """
    codes, labels = _codes(frame, strata)
    big_n = np.bincount(codes, minlength=len(labels))
    n_h = _sizes_per_stratum(n, labels, strata, big_n)
    ones = np.ones(len(frame))
    rng = generator(seed)
    u = 1.0 - rng.random((1, len(labels)))
    idx = pps_systematic_draw(ones, codes, n_h, np.zeros(len(frame), dtype=bool), u)[0]
    return _output(frame, np.sort(idx), {"prob_stage1": (n_h / big_n)[codes]})


def select_pps(
    frame: pd.DataFrame,
    n: SampleSize,
    size: str,
    *,
    strata: str | None = None,
    seed: int | None = None,
    random_order: bool = False,
) -> pd.DataFrame:
    """PPS systematic sampling with certainty units; adds ``certainty``.

    ``size`` names the measure-of-size column (e.g. households at the last census); it must be
    positive for every unit. Units are taken in frame order within strata (sort the frame
    geographically for implicit stratification) or, with ``random_order``, in a random order
    (randomized systematic PPS, for which with-replacement variance formulas are good
    approximations).
    """
    mos = _measure_of_size(frame, size)
    codes, labels = _codes(frame, strata)
    n_h = _sizes_per_stratum(n, labels, strata, np.bincount(codes, minlength=len(labels)))
    prob, certain = pps_probabilities(mos, codes, n_h)
    rng = generator(seed)
    u = 1.0 - rng.random((1, len(labels)))
    keys = rng.random((1, len(frame))) if random_order else None
    idx = pps_systematic_draw(mos, codes, n_h, certain, u, keys)[0]
    if len(np.unique(idx)) != len(idx):  # cannot happen once certainty units are removed
        raise SurvmigError("a unit was hit twice", where=size, hint="report this as a bug")
    return _output(frame, np.sort(idx), {"prob_stage1": prob, "certainty": certain})


def select_households(
    listing: pd.DataFrame,
    psus: pd.DataFrame,
    take: int,
    *,
    psu: str,
    seed: int | None = None,
) -> pd.DataFrame:
    """Second stage: ``take`` households by SRS from the listing of each selected PSU.

    ``psus`` is the first-stage sample (with ``prob_stage1``, and ``stratum`` columns carried over
    when present). PSUs listing ``take`` households or fewer are taken whole. Stage-2 probability
    is ``min(take, M_i)/M_i`` with ``M_i`` the number of households actually listed.
    """
    take = check_count(take, "take")
    for table, name in ((listing, "listing"), (psus, "PSU sample")):
        if psu not in table.columns:
            raise SurvmigError(f"the {name} has no column {psu!r}", where=psu)
    if "prob_stage1" not in psus.columns:
        raise SurvmigError(
            "the PSU sample has no prob_stage1 column",
            where="prob_stage1",
            hint="select the PSUs with `survmig select --method pps` first",
        )
    listed = listing[psu].value_counts()
    missing = ~psus[psu].isin(listed.index)
    if missing.any():
        raise SurvmigError(
            f"selected PSU {show(psus[psu][missing].iloc[0])} has no households in the listing",
            where=psu,
            hint="list every selected PSU before selecting households",
        )
    mine = listing[listing[psu].isin(psus[psu])]
    codes, labels = _codes(mine, psu)
    m_i = np.bincount(codes, minlength=len(labels))
    n_i = np.minimum(m_i, take)
    rng = generator(seed)
    idx = np.sort(smallest_keys(codes, n_i, rng.random((1, len(mine))))[0])
    out = mine.iloc[idx].reset_index(drop=True)
    carry = ["prob_stage1"] + [c for c in ("stratum",) if c in psus and c not in out]
    out = out.merge(psus[[psu, *carry]], on=psu, how="left", validate="many_to_one")
    out["prob_stage2"] = (n_i / m_i)[codes[idx]]
    out["prob"] = out["prob_stage1"] * out["prob_stage2"]
    out["weight"] = 1.0 / out["prob"]
    return out


def select_two_stage(
    frame: pd.DataFrame,
    listing: pd.DataFrame,
    n: SampleSize,
    take: int,
    *,
    psu: str,
    size: str,
    strata: str | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Stratified two-stage selection: PSUs by PPS systematic, then ``take`` households per PSU."""
    if psu not in frame.columns:
        raise SurvmigError(f"the frame has no column {psu!r}", where=psu)
    rng = generator(seed)
    seeds = rng.integers(0, 2**63 - 1, size=2)
    psus = select_pps(frame, n, size, strata=strata, seed=int(seeds[0]))
    keep = [psu, "prob_stage1"] + ([strata] if strata and strata not in listing else [])
    return select_households(listing, psus[keep], take, psu=psu, seed=int(seeds[1]))


def select_two_phase(
    sample: pd.DataFrame,
    rates: Mapping[object, float],
    *,
    by: str,
    within: str | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Second-phase subsample by screening class at rates ``ν_c`` (Bilsborrow-style oversampling).

    In each group (``within`` × class, e.g. PSU × screener class) an SRS of ``⌊ν n′⌋`` units is drawn,
    plus one more with probability equal to the fractional part, so every unit's phase-2 inclusion
    probability is exactly ``ν_c`` (``prob_phase2``). ``prob`` and ``weight`` multiply the phase-1
    ones (``prob`` / ``weight`` columns, or 1 if the phase-1 sample has none).
    """
    if by not in sample.columns:
        raise SurvmigError(f"the phase-1 sample has no column {by!r}", where=by)
    classes = sample[by]
    if classes.isna().any():
        row = int(np.flatnonzero(classes.isna().to_numpy())[0])
        raise SurvmigError(f"row {row + 1} has no screening class", where=by)
    lookup = {str(k): v for k, v in rates.items()}
    unknown = sorted(set(classes.astype(str)) - set(lookup))
    if unknown:
        raise SurvmigError(
            f"no phase-2 rate for class {show(unknown[0])}",
            where="rate",
            hint=f"give a rate for every class: {', '.join(sorted(set(classes.astype(str))))}",
        )
    for name, rate in lookup.items():
        if not 0 < float(rate) <= 1:
            raise SurvmigError(
                f"must be in (0, 1], got {rate} for class {show(name)}", where="rate"
            )
    nu = classes.astype(str).map(lookup).to_numpy(dtype=float)
    group_cols = [within, by] if within else [by]
    codes = sample.groupby(group_cols, sort=True, dropna=False).ngroup().to_numpy()
    n_groups = int(codes.max()) + 1 if len(codes) else 0
    size_g = np.bincount(codes, minlength=n_groups)
    nu_g = np.bincount(codes, weights=nu, minlength=n_groups) / np.maximum(size_g, 1)
    rng = generator(seed)
    target = nu_g * size_g
    n_g = np.floor(target + 1e-12).astype(int)
    n_g += rng.random(n_groups) < (target - n_g)
    idx = np.sort(smallest_keys(codes, np.minimum(n_g, size_g), rng.random((1, len(sample))))[0])
    out = sample.iloc[idx].reset_index(drop=True)
    out["prob_phase2"] = nu[idx]
    prob1 = out["prob"] if "prob" in out else pd.Series(1.0, index=out.index)
    out["prob"] = prob1 * out["prob_phase2"]
    out["weight"] = 1.0 / out["prob"]
    return out


# --------------------------------------------------------------------------- helpers


def _codes(frame: pd.DataFrame, strata: str | None) -> tuple[np.ndarray, list]:
    """Integer stratum codes (0..H−1) and their labels, in sorted label order."""
    if strata is None:
        return np.zeros(len(frame), dtype=int), [None]
    if strata not in frame.columns:
        raise SurvmigError(
            f"the frame has no column {strata!r}",
            where=strata,
            hint=f"columns found: {', '.join(map(str, frame.columns))}",
        )
    col = frame[strata]
    if col.isna().any():
        row = int(np.flatnonzero(col.isna().to_numpy())[0])
        raise SurvmigError(f"row {row + 1} has no stratum", where=strata)
    codes, uniques = pd.factorize(col, sort=True)
    return codes.astype(int), list(uniques)


def _sizes_per_stratum(
    n: SampleSize, labels: list, strata: str | None, big_n: np.ndarray
) -> np.ndarray:
    """Per-stratum sample sizes from an int, a mapping or an allocation table (stratum, n)."""
    if isinstance(n, pd.DataFrame):
        for col in ("stratum", "n"):
            if col not in n.columns:
                raise SurvmigError(f"the allocation has no column {col!r}", where=col)
        check_unique(n["stratum"].astype(str), "stratum")
        n = dict(zip(n["stratum"], n["n"], strict=True))
    if isinstance(n, Mapping):
        by_text = {str(k): v for k, v in n.items()}
        known = {str(lab) for lab in labels}
        empty = sorted(set(by_text) - known)
        if empty and any(by_text[k] for k in empty):
            raise SurvmigError(
                f"stratum {show(empty[0])} has no units in the frame",
                where=strata or "stratum",
                hint="check the stratum codes of the allocation against the frame",
            )
        missing = [lab for lab in labels if str(lab) not in by_text]
        if missing:
            raise SurvmigError(
                f"no sample size for stratum {missing[0]!r}", where=strata or "stratum"
            )
        n_h = np.array([check_count(by_text[str(lab)], "n", minimum=0) for lab in labels])
    else:
        n_h = np.full(len(labels), check_count(n, "n"))
    too_many = n_h > big_n
    if too_many.any():
        i = int(np.flatnonzero(too_many)[0])
        where = f"stratum {labels[i]!r}: " if strata else ""
        raise SurvmigError(
            f"{where}sample size {n_h[i]} exceeds the {big_n[i]} units in the frame", where="n"
        )
    return n_h


def _measure_of_size(frame: pd.DataFrame, size: str) -> np.ndarray:
    if size not in frame.columns:
        raise SurvmigError(
            f"the frame has no measure-of-size column {size!r}",
            where=size,
            hint="PPS needs a size for every unit, e.g. households at the last census",
        )
    mos = pd.to_numeric(frame[size], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(mos) & (mos > 0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise SurvmigError(
            f"row {row + 1} has no positive measure of size ({frame[size].iloc[row]!r})",
            where=size,
            hint="give every unit a positive size (use 1 for units known to exist but not counted)",
        )
    return mos


def _output(frame: pd.DataFrame, idx: np.ndarray, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    out = frame.iloc[idx].reset_index(drop=True)
    for name, values in columns.items():
        out[name] = np.asarray(values)[idx]
    out["prob"] = out["prob_stage1"]
    out["weight"] = 1.0 / out["prob"]
    return out
