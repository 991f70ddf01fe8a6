"""Design-based tests: Rao-Scott chi-square for two-way tables (R ``svychisq``) and the t test of a
difference in means (R ``svyttest``).

``svychisq``: Pearson's X² on the weighted table (scaled to the number of rows) is corrected for
the design with the eigenvalues of the design effect matrix ``Δ = (C' D⁻¹ C / N)⁻¹ C' D⁻¹ V D⁻¹ C``
(C: interaction contrasts of the cells, D: the cell proportions, V: their design covariance):
first order (``"Chisq"``: X² / mean(δ) on (r-1)(c-1) df) and second order (``"F"``, Satterthwaite:
F = X² / Σδ on d0 and d0·ν df, ``d0 = (Σδ)² / Σδ²``, ν the design df). Rao & Scott (1984), Ann.
Statist. 12:46-60; the formulas as R survey 4.1 codes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from survmig.design.core import SurveyDesign, require_columns, show
from survmig.errors import SurvmigError
from survmig.estimation.covariance import covariance

CHISQ_STATISTICS = ("F", "Chisq")


def _levels(values: pd.Series, name: str) -> tuple[np.ndarray, np.ndarray]:
    codes, uniques = pd.factorize(values, sort=True)
    if len(uniques) < 2:
        raise SurvmigError(
            f"{show(name)} has {len(uniques)} category: a table test needs two or more",
            where="svychisq",
        )
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def svychisq(
    design: SurveyDesign, rows: str, cols: str, *, statistic: str = "F", na: str = "fail"
) -> dict[str, Any]:
    """Rao-Scott test of independence of ``rows`` and ``cols`` (see the module docstring).

    Returns ``statistic`` (F or X²), ``df`` (``(ndf, ddf)`` for F), ``p_value``, ``pearson`` (the
    unadjusted X²), ``deltas`` (the design effect eigenvalues' trace and d0) and ``method``.
    """
    from survmig.estimation.engine import estimate

    if statistic not in CHISQ_STATISTICS:
        raise SurvmigError(
            f"unknown statistic {show(statistic)}", where="svychisq", hint="F or Chisq"
        )
    data = design.data
    require_columns(data, [rows, cols], "svychisq")
    miss = (data[rows].isna() | data[cols].isna()).to_numpy()
    if miss.any() and na == "fail":
        raise SurvmigError(
            f"{int(miss.sum())} row(s) have no {rows} or {cols}",
            where="svychisq",
            hint="leave them out explicitly with na='drop'",
        )
    r_codes, r_levels = _levels(data[rows][~miss], rows)
    c_codes, c_levels = _levels(data[cols][~miss], cols)
    nr, nc = len(r_levels), len(c_levels)
    cell = np.full(design.n, np.nan)
    cell[~miss] = r_codes + nr * c_codes  # R: interaction(rows, cols), rows varying fastest
    table, engine = estimate(
        design.with_columns({"__cell": cell}),
        prop="__cell",
        na="drop",
        missing_codes=(),
        deff=False,
        _keep_engine=True,
    )
    V_obs = covariance(engine, table["se"].to_numpy() ** 2)
    k = table["category"].to_numpy(dtype=float).astype(np.int64)
    m = nr * nc
    p = np.zeros(m)
    p[k] = table["estimate"].to_numpy()
    V = np.zeros((m, m))
    V[np.ix_(k, k)] = V_obs
    N = design.n  # R: the rows of the data, missing ones included
    # Pearson's X² on the table scaled to N
    observed = p.reshape(nc, nr).T * N
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / N
    with np.errstate(invalid="ignore", divide="ignore"):
        pearson = float(np.nansum((observed - expected) ** 2 / expected))
    # interaction contrasts, residualised on the main effects (R's Cmat)
    rr = np.tile(np.arange(nr), nc)
    cc = np.repeat(np.arange(nc), nr)
    X1 = np.column_stack(
        [np.ones(m)]
        + [(rr == i).astype(float) for i in range(1, nr)]
        + [(cc == j).astype(float) for j in range(1, nc)]
    )
    inter = np.column_stack(
        [((rr == i) & (cc == j)).astype(float) for j in range(1, nc) for i in range(1, nr)]
    )
    C = inter - X1 @ np.linalg.lstsq(X1, inter, rcond=None)[0]
    with np.errstate(divide="ignore"):
        idiag = np.where(p == 0, 0.0, 1.0 / p)
    denom = (C.T * idiag) @ C / N
    numr = (C.T * idiag) @ V @ (idiag[:, None] * C)
    delta = np.linalg.solve(denom, numr)
    tr, tr2 = float(np.trace(delta)), float(np.trace(delta @ delta))
    d0 = tr * tr / tr2
    nu = float(design.df)
    if statistic == "F":
        f = pearson / tr
        return {
            "statistic": f,
            "df": (d0, d0 * nu),
            "p_value": float(stats.f.sf(f, d0, d0 * nu)),
            "pearson": pearson,
            "trace_delta": tr,
            "d0": d0,
            "method": "Pearson's X²: Rao & Scott second-order adjustment (F)",
        }
    df = delta.shape[1]
    return {
        "statistic": pearson,
        "df": df,
        "p_value": float(stats.chi2.sf(pearson / (tr / df), df)),
        "pearson": pearson,
        "trace_delta": tr,
        "d0": d0,
        "method": "Pearson's X²: Rao & Scott first-order adjustment (X² / mean δ)",
    }


def svyttest(
    design: SurveyDesign,
    outcome: str,
    group: str | None = None,
    *,
    level: float = 0.95,
    na: str = "fail",
) -> dict[str, Any]:
    """Design-based t test (R ``svyttest``): with ``group`` (two groups), the difference in means of
    ``outcome`` between the second and the first group, from the regression ``outcome ~ group`` with
    residual df ``df(design) - 1``; without, the one-sample test of mean zero on ``df - 1``."""
    from survmig.estimation.engine import estimate
    from survmig.models.glm import svyglm

    if group is None:
        est = estimate(design, mean=outcome, na=na, deff=False).iloc[0]
        value, se, df = float(est["estimate"]), float(est["se"]), float(design.df - 1)
        method = "design-based one-sample t test"
    else:
        require_columns(design.data, [group], "svyttest")
        levels = pd.unique(design.data[group].dropna())
        if len(levels) != 2:
            raise SurvmigError(
                f"a t test compares two groups; {show(group)} has {len(levels)}",
                where="svyttest",
                hint="use a 0/1 or two-category group variable (or compare() for more)",
            )
        res = svyglm(design, f"Q({outcome!r}) ~ C(Q({group!r}))", na=na)
        row = res.table.iloc[1]
        value, se, df = float(row["estimate"]), float(row["se"]), res.df_residual
        method = "design-based t test of a difference in means"
    t = value / se
    q = stats.t.ppf(1 - (1 - level) / 2, df)
    return {
        "estimate": value,
        "se": se,
        "statistic": t,
        "df": df,
        "p_value": float(2 * stats.t.sf(abs(t), df)),
        "ci_low": value - q * se,
        "ci_high": value + q * se,
        "method": method,
    }
