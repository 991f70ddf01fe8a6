"""Comparisons between domains: differences and ratios with SE, CI and a test.

"Are migrants' households poorer than others'?" is a difference between two domain estimates; its
variance needs their covariance, which the joint linearization (or the replicates) gives
(:mod:`.covariance`, R ``svyby(covmat=TRUE)``). A difference ``a - b`` has variance
``V_aa + V_bb - 2 V_ab``; a ratio ``a / b`` the delta-method variance of R ``svycontrast(…,
quote(a/b))``. Tests are Wald t tests of "no difference" (``a - b = 0``, ``a / b = 1``) with the
design degrees of freedom, as the CIs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from survmig.design.core import SurveyDesign, show
from survmig.errors import SurvmigError
from survmig.estimation import ci as cimod
from survmig.estimation.covariance import covariance
from survmig.estimation.margins import breakdowns_of

CONTRASTS = ("difference", "ratio")
KEY_COLUMNS = ("statistic", "variable", "category")


def _estimate_with_engine(design: SurveyDesign, by: list[str], options: dict[str, Any]) -> Any:
    from survmig.estimation.engine import estimate

    if options.get("quantile"):
        raise SurvmigError(
            "quantiles have no joint covariance (their SEs come from Woodruff intervals)",
            where="compare",
            hint="compare means, proportions, totals or ratios",
        )
    return estimate(design, by=by, _keep_engine=True, **options)


def domain_covariance(
    design: SurveyDesign, *, by: str | Sequence[str], **options: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The estimate table (as :func:`~survmig.estimation.estimate`) and the covariance matrix of
    its rows, labelled ``statistic:variable[:category] | by=value, …`` (R ``vcov(svyby(…,
    covmat=TRUE))``)."""
    by_list = breakdowns_of(by)
    by_cols = by_list[0] if len(by_list) == 1 else [b for bd in by_list for b in bd]
    table, engine = _estimate_with_engine(design, by_cols, options)
    cov = covariance(engine, table["se"].to_numpy() ** 2)
    labels = _row_labels(table, by_cols)
    return table, pd.DataFrame(cov, index=labels, columns=labels)


def _row_labels(table: pd.DataFrame, by: Sequence[str]) -> list[str]:
    out = []
    for rec in table[[*KEY_COLUMNS, *by]].itertuples(index=False):
        head = ":".join(str(v) for v in rec[:3] if v is not None and v == v)
        dom = ", ".join(f"{b}={show(v)}" for b, v in zip(by, rec[3:], strict=True))
        out.append(f"{head} | {dom}" if dom else head)
    return out


def contrast_kinds(contrast: str | Sequence[str]) -> list[str]:
    """The requested contrasts (``difference``, ``ratio``) as a list, an unknown one an error."""
    kinds = [contrast] if isinstance(contrast, str) else list(contrast)
    bad = [k for k in kinds if k not in CONTRASTS]
    if bad or not kinds:
        raise SurvmigError(
            f"unknown contrast {show(bad[0] if bad else '')}", where="compare",
            hint="difference or ratio",
        )  # fmt: skip
    return kinds


def compare(
    design: SurveyDesign,
    var: str,
    *,
    by: str | Sequence[str] = (),
    reference: Any = None,
    contrast: str | Sequence[str] = CONTRASTS,
    level: float = 0.95,
    **options: Any,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Estimates for each group of ``var`` and each group's difference (and ratio) to the
    ``reference`` group (default: the first), within every domain of ``by``.

    Returns ``(groups, comparisons)``: ``groups`` is ``estimate(…, by=[*by, var])``; ``comparisons``
    has one row per output, domain, group and contrast with ``var`` = ``"B - A"`` or ``"B / A"``,
    ``estimate, se, ci_low, ci_high, t, p_value, df``.
    """
    kinds = contrast_kinds(contrast)
    by_cols = [b for bd in breakdowns_of(by) for b in bd]
    if var in by_cols:
        raise SurvmigError(f"{show(var)} is both compared and a domain variable", where="compare")
    table, engine = _estimate_with_engine(design, [*by_cols, var], {"level": level, **options})
    cov = covariance(engine, table["se"].to_numpy() ** 2)
    groups = pd.unique(table[var])
    if len(groups) < 2:
        raise SurvmigError(
            f"a comparison needs two or more groups of {show(var)}; the data has "
            f"{len(groups)} ({', '.join(map(show, groups))})",
            where="compare",
            hint="compare a variable with several categories",
        )
    if reference is None:
        reference = groups[0]
    else:
        match = [g for g in groups if str(g) == str(reference)]
        if not match:
            raise SurvmigError(
                f"reference group {show(reference)} is not a value of {show(var)}",
                where="compare",
                hint=f"choose one of {', '.join(map(show, groups))}",
            )
        reference = match[0]
    comparisons = pair_contrasts(table, cov, var, [*KEY_COLUMNS, *by_cols], reference, kinds, level)
    return table, comparisons


def pair_contrasts(
    table: pd.DataFrame,
    cov: np.ndarray,
    var: str,
    keys: Sequence[str],
    reference: Any,
    kinds: Sequence[str],
    level: float,
) -> pd.DataFrame:
    """Each row of ``table`` whose ``var`` is not ``reference`` against the reference row with
    the same ``keys``: ``a - b`` (variance ``V_aa + V_bb - 2 V_ab``) and/or ``a / b`` (the delta
    method, R ``svycontrast``), with t, p (Wald, ``table["df"]``) and a ``level`` CI.

    ``cov``: the covariance of ``table``'s rows (in its order). Returns the ``keys`` columns,
    ``var`` = ``"B - A"`` or ``"B / A"``, ``contrast, estimate, se, ci_low, ci_high, t, p_value,
    df``."""
    keys = list(keys)
    frame = table[keys].astype(object).where(table[keys].notna(), "\x00")
    frame["_row"] = np.arange(len(table))
    is_ref = (table[var] == reference).to_numpy()
    pairs = frame[~is_ref].merge(frame[is_ref], on=keys, suffixes=("", "_ref"))
    i = pairs["_row"].to_numpy()
    j = pairs["_row_ref"].to_numpy()
    est = table["estimate"].to_numpy(dtype=float)
    a, b = est[i], est[j]
    vaa, vbb, vab = cov[i, i], cov[j, j], cov[i, j]
    df = table["df"].to_numpy(dtype=float)[i]
    groups = table[var].to_numpy()[i]
    out = []
    for kind in kinds:
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "difference":
                value, null = a - b, 0.0
                var_c = vaa + vbb - 2 * vab
                name = [f"{show_value(g)} - {show_value(reference)}" for g in groups]
            else:  # a zero denominator has no ratio (NaN, as R), not ±inf
                value, null = np.where(b != 0, a / b, np.nan), 1.0
                var_c = vaa / b**2 + a**2 * vbb / b**4 - 2 * a * vab / b**3
                name = [f"{show_value(g)} / {show_value(reference)}" for g in groups]
            se = np.sqrt(np.maximum(var_c, 0.0))
            t = (value - null) / se
        lo, hi = cimod.ci_t(value, se, df, level)
        rows = table.iloc[i][keys].reset_index(drop=True)
        rows[var] = name
        rows["contrast"] = kind
        rows["estimate"], rows["se"] = value, se
        rows["ci_low"], rows["ci_high"] = lo, hi
        rows["t"] = t
        rows["p_value"] = _two_sided_p(t, df)
        rows["df"] = df
        out.append(rows)
    return pd.concat(out, ignore_index=True)


def show_value(value: Any) -> str:
    """A group value in a contrast's name: ``1`` for a float 1.0, the text otherwise."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _two_sided_p(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    from scipy import stats

    with np.errstate(invalid="ignore"):
        return 2 * stats.t.sf(np.abs(t), df)


def stack_comparison(groups: pd.DataFrame, comparisons: pd.DataFrame, var: str) -> pd.DataFrame:
    """One table: the group estimates (``contrast`` empty) then the comparisons, columns aligned."""
    g = groups.copy()
    g[var] = g[var].astype(object)
    g.insert(g.columns.get_loc(var) + 1, "contrast", None)
    cols = list(g.columns) + [c for c in ("t", "p_value") if c not in g.columns]
    return pd.concat([g, comparisons], ignore_index=True).reindex(columns=cols)
