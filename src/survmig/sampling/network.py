"""Multiplicity (network) sampling and the generalized weight share method.

A household survey can reach people who are *not* household members — children or siblings living
abroad — through the households linked to them. Sirken's (1970) multiplicity estimator divides each
reported person by the number of households ``m_i`` that could report them; Lavallée's generalized
weight share method (GWSM) extends this to clusters of target units with ``L_i`` links.

Both are Horvitz-Thompson estimators of a frame-unit score ``z_j = Σ_links Y_i / L_i``, so their
variance is the sample design's variance of ``z`` (here: stratified with-replacement / SRS form).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from survmig.errors import SurvmigError, show
from survmig.sampling.results import Result

__all__ = ["multiplicity_total", "weight_share", "weight_share_total"]


def weight_share(
    links: pd.DataFrame,
    sample: pd.DataFrame,
    *,
    unit: str = "unit",
    cluster: str = "cluster",
    links_total: str = "links_total",
    prob: str = "prob",
) -> pd.DataFrame:
    """GWSM cluster weights ``w_i = (1/L_i) Σ_{j∈s} Σ_k l_{j,ik} / π_j``.

    ``links`` has one row per link from a sampled frame unit ``unit`` to a target unit in ``cluster``;
    ``links_total`` is ``L_i``, the number of links from the *whole* frame into cluster i (asked in the
    interview). ``sample`` lists every sampled frame unit with its inclusion probability ``prob``.
    Returns one row per cluster reached: ``cluster, links_total, links_sampled, weight``.
    """
    joined = _joined(links, sample, unit, cluster, links_total, prob)
    grouped = joined.groupby(cluster, sort=True)
    out = pd.DataFrame(
        {
            links_total: grouped[links_total].first(),
            "links_sampled": grouped.size(),
            "weight": grouped["_inv"].sum() / grouped[links_total].first(),
        }
    ).reset_index()
    return out


def weight_share_total(
    links: pd.DataFrame,
    sample: pd.DataFrame,
    y: str,
    *,
    unit: str = "unit",
    cluster: str = "cluster",
    links_total: str = "links_total",
    prob: str = "prob",
    strata: str | None = None,
    population_size: str | float | None = None,
) -> Result:
    """Total of ``y`` over the target population by the weight share method, with its SE.

    ``y`` is the cluster total ``Y_i`` (a column of ``links``, constant within a cluster). The
    variance is the with-replacement (Hansen-Hurwitz) form of ``Σ z_j/π_j`` within strata, times
    ``1 − n_h/N_h`` when ``population_size`` (a number or a column of ``sample``) is given — exact
    and unbiased for stratified SRS without replacement.
    """
    joined = _joined(links, sample, unit, cluster, links_total, prob, extra=[y])
    if joined.groupby(cluster)[y].nunique().gt(1).any():
        raise SurvmigError(f"{y!r} differs between rows of the same cluster", where=y)
    units = sample[unit].to_numpy()
    pos = pd.Index(units).get_indexer(joined[unit])
    z = np.bincount(pos, weights=joined[y] / joined[links_total], minlength=len(units))
    pi = sample[prob].to_numpy(dtype=float)
    codes = (
        pd.factorize(sample[strata], sort=True)[0] if strata else np.zeros(len(units), dtype=int)
    )
    return _hh_total(z, pi, codes, sample, population_size, "Weight share (GWSM) total")


def multiplicity_total(
    links: pd.DataFrame,
    sample: pd.DataFrame,
    y: str,
    *,
    unit: str = "household",
    person: str = "person",
    multiplicity: str = "multiplicity",
    prob: str = "prob",
    strata: str | None = None,
    population_size: str | float | None = None,
) -> Result:
    """Sirken's multiplicity estimator ``Ŷ = Σ_{h∈s} (1/π_h) Σ_i δ_hi y_i / m_i`` with its SE.

    ``links`` has one row per (sampled household, linked person) with the person's value ``y`` and
    multiplicity ``m_i`` (households that would report them under the counting rule). It is the
    weight share method with one-person clusters.
    """
    result = weight_share_total(
        links,
        sample,
        y,
        unit=unit,
        cluster=person,
        links_total=multiplicity,
        prob=prob,
        strata=strata,
        population_size=population_size,
    )
    return Result(
        title="Multiplicity (network) estimator of a total",
        value=result.value,
        formula="Ŷ = Σ_{h∈s} (1/π_h) Σ_i δ_hi y_i/m_i; " + result.formula.split("; ", 1)[1],
        assumptions="every linked person reported by each household linked to them, m_i reported "
        "without error; " + result.assumptions,
        steps=result.steps,
        references="Sirken (1970) JASA 65; Lavallée (2007) Indirect Sampling",
    )


def _joined(
    links: pd.DataFrame,
    sample: pd.DataFrame,
    unit: str,
    cluster: str,
    links_total: str,
    prob: str,
    extra: list[str] | None = None,
) -> pd.DataFrame:
    for table, name, cols in (
        (links, "links", [unit, cluster, links_total, *(extra or [])]),
        (sample, "sample", [unit, prob]),
    ):
        for col in cols:
            if col not in table.columns:
                raise SurvmigError(f"the {name} table has no column {col!r}", where=col)
    if sample[unit].duplicated().any():
        raise SurvmigError("a sampled unit is listed twice", where=unit)
    pi = sample[prob].to_numpy(dtype=float)
    if not np.all((pi > 0) & (pi <= 1)):
        raise SurvmigError("inclusion probabilities must be in (0, 1]", where=prob)
    big_l = links[links_total].to_numpy(dtype=float)
    if not np.all(np.isfinite(big_l) & (big_l >= 1)):
        raise SurvmigError("every cluster needs at least one link (L_i ≥ 1)", where=links_total)
    if links.groupby(cluster)[links_total].nunique().gt(1).any():
        raise SurvmigError(
            f"{links_total!r} differs between rows of the same cluster", where=links_total
        )
    if not links[unit].isin(sample[unit]).all():
        raise SurvmigError("a link comes from a unit that is not in the sample", where=unit)
    joined = links.merge(sample[[unit, prob]], on=unit, how="left", validate="many_to_one")
    joined["_inv"] = 1.0 / joined[prob]
    over = joined.groupby(cluster).size() > joined.groupby(cluster)[links_total].first()
    if over.any():
        raise SurvmigError(
            f"cluster {show(over.index[over.to_numpy()][0])} has more sampled links than L_i",
            where=links_total,
        )
    return joined


def _hh_total(
    z: np.ndarray,
    pi: np.ndarray,
    codes: np.ndarray,
    sample: pd.DataFrame,
    population_size: str | float | None,
    title: str,
) -> Result:
    """``Ŷ = Σ z/π`` and ``v = Σ_h (1 − f_h) n_h/(n_h − 1) Σ (z/π − Ŷ_h/n_h)²``."""
    n_strata = int(codes.max()) + 1
    t = z / pi
    n_h = np.bincount(codes, minlength=n_strata).astype(float)
    if np.any(n_h < 2):
        raise SurvmigError(
            "each stratum needs at least 2 sampled units for a variance", where="strata"
        )
    tot_h = np.bincount(codes, weights=t, minlength=n_strata)
    ss = np.bincount(codes, weights=(t - (tot_h / n_h)[codes]) ** 2, minlength=n_strata)
    fpc = np.ones(n_strata)
    assumptions = "units drawn with replacement within strata (conservative without replacement)"
    if population_size is not None:
        if isinstance(population_size, str):
            big_n = np.bincount(codes, weights=sample[population_size], minlength=n_strata) / n_h
        else:
            big_n = np.full(n_strata, float(population_size))
        fpc = 1 - n_h / big_n
        assumptions = "stratified SRS without replacement (fpc 1 − n_h/N_h)"
    var = float(np.sum(fpc * n_h / (n_h - 1) * ss))
    total = float(t.sum())
    return Result(
        title=title,
        value=total,
        formula="Ŷ = Σ_{j∈s} z_j/π_j with z_j = Σ_links Y_i/L_i; "
        "v = Σ_h (1 − f_h) n_h/(n_h−1) Σ_j (z_j/π_j − Ŷ_h/n_h)²",
        assumptions="links and L_i known without error; " + assumptions,
        steps={"total": total, "variance": var, "se": var**0.5},
        references="Lavallée (2007) Indirect Sampling, Springer",
    )
