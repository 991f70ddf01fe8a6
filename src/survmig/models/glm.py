"""Design-based generalized linear models (R ``svyglm``) and Wald tests of terms (``regTermTest``).

Coefficients solve the weighted score equations (IRLS, :mod:`.irls`). Variances:

* linearization — the sandwich ``A⁻¹ (Σ estfun) A⁻¹``: each row's influence
  ``w_i x_i (y_i - μ_i) μ'_i / V(μ_i) · A⁻¹`` is summed to PSUs within strata by the estimation
  engine (as the total of ``influence / w``), so fpc, lonely-PSU rules, later stages and
  calibration residuals apply exactly as to any estimate (R ``svy.varcoef`` → ``svyrecvar``);
* replicates — the model refitted with every replicate weight column (from the full-sample
  coefficients), ``svrVar`` of the replicate coefficients (R ``svyglm.svyrep.design``).

t tests and intervals use the residual degrees of freedom ``df(design) + 1 - p``, as R.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from survmig.design.core import SurveyDesign, show
from survmig.errors import SurvmigError
from survmig.estimation.covariance import covariance, replicate_covariance
from survmig.models.irls import Family, family, irls

RESULT_COLUMNS = ("term", "estimate", "se", "t", "p_value", "ci_low", "ci_high", "df")


@dataclasses.dataclass
class ModelResult:
    """A fitted design-based GLM: the tidy ``table``, the coefficient covariance ``vcov`` and what
    :meth:`wald_test` needs (term → coefficient positions)."""

    formula: str
    family: str
    table: pd.DataFrame
    vcov: pd.DataFrame
    df_residual: float
    n: int
    iterations: int
    variance: str
    term_columns: dict[str, list[int]]

    def wald_test(self, terms: str | Sequence[str], df: float | None = None) -> dict[str, Any]:
        """R ``regTermTest(model, ~terms)`` (Wald): ``F = b' V⁻¹ b / q`` on (q, ``df``) degrees of
        freedom (``df`` default: the residual df; ``inf`` gives a chi-square test)."""
        names = [terms] if isinstance(terms, str) else list(terms)
        cols: list[int] = []
        for name in names:
            key = name.strip()
            if key not in self.term_columns:
                raise SurvmigError(
                    f"term {show(key)} is not in the model",
                    where="test",
                    hint=f"terms: {', '.join(t for t in self.term_columns if t != 'Intercept')}",
                )
            cols += self.term_columns[key]
        b = self.table["estimate"].to_numpy()[cols]
        V = self.vcov.to_numpy()[np.ix_(cols, cols)]
        chisq = float(b @ np.linalg.solve(V, b))
        q = len(cols)
        ddf = self.df_residual if df is None else float(df)
        p = stats.chi2.sf(chisq, q) if not np.isfinite(ddf) else stats.f.sf(chisq / q, q, ddf)
        return {
            "terms": names,
            "chisq": chisq,
            "F": chisq / q,
            "df": q,
            "ddf": ddf,
            "p_value": float(p),
        }


_NAME_ERROR = re.compile(r"name '([^']+)' is not defined")


def _matrices(
    formula: str, data: pd.DataFrame, na: str
) -> tuple[np.ndarray, np.ndarray, Any, str, np.ndarray]:
    """Outcome, model matrix, patsy's design info, the outcome's name and the positions of the rows
    used (all rows with ``na="fail"``; the complete ones with ``na="drop"``)."""
    import patsy

    if "~" not in formula:
        raise SurvmigError(
            f"a model formula is 'outcome ~ terms', got {formula!r}", where="formula",
            hint="e.g. 'remits ~ age + C(region)'",
        )  # fmt: skip
    frame = data.reset_index(drop=True)
    simple = _simple_matrices(formula, frame, na)
    if simple is not None:
        return simple
    try:
        y, X = patsy.dmatrices(
            formula, frame, NA_action="drop" if na == "drop" else "raise", return_type="dataframe"
        )
    except patsy.PatsyError as exc:
        text = str(exc)
        missing = _NAME_ERROR.search(text)
        if missing:
            name = missing.group(1)
            raise SurvmigError(
                f"the formula names {name!r}, which is not a column of the data",
                where="formula",
                hint="check the spelling; categorical variables go in C(…)",
            ) from None
        if "missing values" in text:
            raise SurvmigError(
                "a variable of the model has missing values",
                where="formula",
                hint="leave those rows out of the model explicitly with na='drop' (--na drop)",
            ) from None
        raise SurvmigError(
            f"cannot read the formula: {text.splitlines()[0]}", where="formula"
        ) from None
    if y.shape[1] != 1:
        raise SurvmigError(
            f"the outcome of {formula!r} must be one numeric column (got {y.shape[1]})",
            where="formula",
            hint="a categorical outcome: make it 0/1, e.g. I(status == 'migrant')",
        )
    rows = X.index.to_numpy()
    yv = y.to_numpy()[:, 0].astype(float)
    return yv, X.to_numpy(dtype=float), X.design_info, str(y.columns[0]), rows


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_SIMPLE = re.compile(rf"^\s*({_NAME})\s*~\s*({_NAME}(?:\s*\+\s*{_NAME})*)\s*$")


@dataclasses.dataclass(frozen=True)
class _SimpleInfo:
    """What the callers use of patsy's ``DesignInfo``, for a formula of plain numeric columns."""

    column_names: list[str]
    term_name_slices: dict[str, slice]


def _simple_matrices(
    formula: str, frame: pd.DataFrame, na: str
) -> tuple[np.ndarray, np.ndarray, Any, str, np.ndarray] | None:
    """``y ~ a + b + …`` over numeric (not boolean) columns: the model matrix straight from the
    columns (intercept first, as patsy), without patsy's per-call overhead; ``None`` for any other
    formula (patsy reads it)."""
    m = _SIMPLE.match(formula)
    if m is None:
        return None
    yname = m.group(1)
    terms = [t.strip() for t in m.group(2).split("+")]
    cols = [yname, *terms]
    if len(set(cols)) != len(cols) or "Intercept" in terms:
        return None
    for c in cols:
        if c not in frame.columns:
            return None
        s = frame[c]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            return None
    n, p = len(frame), len(terms) + 1
    X = np.empty((n, p))
    X[:, 0] = 1.0
    for j, c in enumerate(terms, start=1):
        X[:, j] = frame[c].to_numpy(dtype=float, na_value=np.nan)
    y = frame[yname].to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(y) | np.isnan(X).any(axis=1)
    rows = np.arange(n)
    if bad.any():
        if na != "drop":
            raise SurvmigError(
                "a variable of the model has missing values",
                where="formula",
                hint="leave those rows out of the model explicitly with na='drop' (--na drop)",
            )
        rows = np.flatnonzero(~bad)
        X, y = X[rows], y[rows]
    slices = {"Intercept": slice(0, 1), **{t: slice(j, j + 1) for j, t in enumerate(terms, 1)}}
    return y, X, _SimpleInfo(["Intercept", *terms], slices), yname, rows


def _check_outcome(y: np.ndarray, fam: Family, name: str, live: np.ndarray) -> None:
    values = y[live]
    if fam.name == "binomial":
        bad = ~np.isin(values, (0.0, 1.0))
        what = "0 or 1"
    elif fam.kind == "binomial":
        bad = (values < 0) | (values > 1)
        what = "between 0 and 1"
    elif fam.kind == "poisson":
        bad = values < 0
        what = "a count (≥ 0)"
    else:
        return
    if fam.kind == "binomial" and values.size and np.all(values == values[0]):
        raise SurvmigError(
            f"outcome {name} is {show(values[0])} in every row: a logistic model needs both outcomes",
            where="family",
            hint="check the outcome's definition (a misspelt category gives all 0)",
        )
    if bad.any():
        seen = ", ".join(map(show, np.unique(values[bad])[:5]))
        raise SurvmigError(
            f"outcome {name} must be {what} for the {fam.name} family; it has {seen}",
            where="family",
            hint="recode the outcome (e.g. I(x == 'yes')) or choose another family",
        )


def _check_rank(X: np.ndarray, w: np.ndarray, names: list[str]) -> None:
    """A column that is a combination of the columns before it (R's aliased coefficients, which
    R reports as NA) is an error naming it: a Cholesky pass over the weighted cross-product with
    unit diagonal (a loop over the p columns, not the rows)."""
    G = (X * w[:, None]).T @ X
    scale = np.sqrt(np.maximum(np.diag(G), 1e-300))
    G = G / scale[:, None] / scale[None, :]
    p = G.shape[0]
    L = np.zeros_like(G)
    aliased = []
    for j in range(p):
        r = G[j, j] - L[j, :j] @ L[j, :j]
        if np.diag(G)[j] < 1e-300 or r < 1e-10:
            aliased.append(names[j])
            continue
        L[j, j] = np.sqrt(r)
        L[j + 1 :, j] = (G[j + 1 :, j] - L[j + 1 :, :j] @ L[j, :j]) / L[j, j]
    if aliased:
        raise SurvmigError(
            f"the model matrix is singular: {', '.join(aliased)} is a linear combination of the "
            "terms before it (or has no cases)",
            where="formula",
            hint="drop the redundant term or collapse the categories",
        )


def _separated(X: np.ndarray, y: np.ndarray, live: np.ndarray) -> bool:
    """(Quasi-)complete separation: some direction b with s_i x_i'b ≥ 0 for all rows (s = ±1 by
    outcome) and not all zero — a linear program."""
    from scipy.optimize import linprog

    Xl, yl = X[live], y[live]
    s = np.where(yl > 0.5, 1.0, -1.0)
    A = -(Xl * s[:, None])
    Xc, idx = np.unique(A, axis=0, return_index=True)
    p = X.shape[1]
    res = linprog(
        np.zeros(p),
        A_ub=Xc,
        b_ub=np.zeros(len(Xc)),
        A_eq=-Xc.sum(axis=0)[None, :],
        b_eq=[1.0],
        bounds=[(None, None)] * p,
        method="highs",
    )
    return bool(res.status == 0)


def _engine_sandwich(
    design: SurveyDesign, X: np.ndarray, resid: np.ndarray, ainv: np.ndarray
) -> np.ndarray:
    """The sandwich through the estimation engine: the covariance of the totals of the rows'
    influence per unit weight (calibration residuals, every variance option of the engine)."""
    from survmig.estimation.engine import estimate

    score = (X * resid[:, None]) @ ainv
    cols = {f"__glm_score{j}": score[:, j] for j in range(score.shape[1])}
    table, engine = estimate(
        design.with_columns(cols), total=list(cols), deff=False, missing_codes=(),
        _keep_engine=True,
    )  # fmt: skip
    return covariance(engine, table["se"].to_numpy() ** 2)


def _sandwich(
    design: SurveyDesign, X: np.ndarray, resid: np.ndarray, ainv: np.ndarray
) -> np.ndarray:
    """``A⁻¹ [Σ_stages Σ_h scale_h Σ_units (s_u - s̄_h)(s_u - s̄_h)'] A⁻¹`` without calibration:
    the weighted scores ``w_i x_i (y_i - μ_i)`` summed to each stage's units (one ``bincount`` per
    coefficient), then the engine's stage algebra on the unit sums (fpc, lonely-PSU rules) —
    the same numbers as :func:`_engine_sandwich`, without building the engine's features."""
    from survmig.estimation.covariance import stage_covariance
    from survmig.estimation.variance import Cells, emit, stage_variance

    p = X.shape[1]
    r = resid * design.weights
    live = (design.weights != 0).astype(float)
    stages = design.stages if design.variance == "multistage" else design.stages[:1]
    warn: list[str] = []
    total = np.zeros((p, p))
    diag = np.zeros(p)
    for number, st in enumerate(stages, start=1):
        U = st.n_units_total
        sums = np.empty((U, p))
        for j in range(p):  # p columns (not rows): one bincount each
            sums[:, j] = np.bincount(st.units, weights=X[:, j] * r, minlength=U)
        cases = np.bincount(st.units, weights=live, minlength=U)
        units = np.flatnonzero(np.bincount(st.units, minlength=U))
        scores = sums[units] @ ainv
        present = np.repeat(cases[units, None] > 0, p, axis=1)
        cells = Cells(units, np.zeros(len(units), dtype=np.int64), scores, present)
        diag += stage_variance(st, cells, 1, design, number, warn)[0]
        total += stage_covariance(st, cells, 1, design)
    emit(warn)
    if not np.allclose(np.diag(total), diag, rtol=1e-9, atol=1e-300):
        return _engine_sandwich(design, X, resid, ainv)  # it says why the rules disagree
    return total


def svyglm(
    design: SurveyDesign,
    formula: str,
    *,
    family_name: str = "gaussian",
    level: float = 0.95,
    na: str = "fail",
) -> ModelResult:
    """Fit ``formula`` (patsy syntax: ``y ~ x + C(region)``) on the design; returns the tidy table
    (term, estimate, SE, t, p, CI; odds ratios for the logit families, rate ratios for the log
    ones) and the coefficient covariance. ``na="drop"`` leaves rows with a missing model variable out
    of the model (R ``na.omit``: the design is subset, strata keep their PSU counts)."""
    fam = family(family_name)
    if na not in ("fail", "drop"):
        raise SurvmigError(f"unknown na rule {show(na)}", where="na", hint="fail or drop")
    yc, Xc, info, yname, rows = _matrices(formula, design.data, na)
    if len(rows) < design.n:  # R na.omit: the design restricted to the complete rows
        keep = np.zeros(design.n, dtype=bool)
        keep[rows] = True
        design = design.subset(keep)
    n = design.n
    if n == len(rows):
        y, X = yc, Xc
    else:  # a calibrated design keeps every row; the incomplete ones have weight 0
        y, X = np.zeros(n), np.zeros((n, Xc.shape[1]))
        y[rows], X[rows] = yc, Xc
    w = design.weights
    live = w > 0
    names = list(info.column_names)
    _check_outcome(y, fam, yname, live)
    _check_rank(X[live], w[live], names)
    fit = irls(X, y, w, fam)
    extreme = np.any((fit.mu[live] < 1e-10) | (fit.mu[live] > 1 - 1e-10))
    if fam.kind == "binomial" and (not fit.converged[0] or extreme) and _separated(X, y, live):
        raise SurvmigError(
            f"perfect separation: the terms predict {yname} exactly for some rows, so the "
            "coefficients have no finite estimate",
            where="model",
            hint="drop or collapse the term that separates the outcome (a category all 0 or all 1)",
        )
    if not fit.converged[0]:
        raise SurvmigError(
            f"the model did not converge in {fit.iterations} iterations", where="model",
            hint="check for extreme values or near-separation",
        )  # fmt: skip
    beta = fit.beta[0]
    p = len(beta)
    if design.is_replicate:
        reps = irls(X, y, design.repweights, fam, start=beta)
        if not reps.converged.all():
            raise SurvmigError(
                f"the model did not converge in {int((~reps.converged).sum())} replicate(s)",
                where="model",
                hint="a replicate may leave a category without cases: collapse small categories",
            )
        V = replicate_covariance(beta, reps.beta, design)
        variance = (
            f"replicate weights ({design.replicate_weights.type}), model refitted per replicate"
        )
    else:
        ainv = np.linalg.inv(fit.xtwx)
        # canonical links: μ'/V(μ) = 1, so a row's score is x_i (y_i - μ_i), per unit weight
        resid = np.where(live, y - fit.mu, 0.0)
        if design.calibration or getattr(design, "_twophase", None) is not None:
            # the engine applies the calibration residuals and the two-phase variance
            V = _engine_sandwich(design, X, resid, ainv)
        else:
            V = _sandwich(design, X, resid, ainv)
        variance = "linearization (sandwich over PSUs within strata" + (
            f", with the residuals of {len(design.calibration)} calibration step(s))"
            if design.calibration
            else ")"
        )
    se = np.sqrt(np.diag(V))
    df = float(design.df + 1 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta / se
    pval = 2 * stats.t.sf(np.abs(t), df) if df > 0 else np.full(p, np.nan)
    q = stats.t.ppf(1 - (1 - level) / 2, df) if df > 0 else np.nan
    out = pd.DataFrame(
        {
            "term": names,
            "estimate": beta,
            "se": se,
            "t": t,
            "p_value": pval,
            "ci_low": beta - q * se,
            "ci_high": beta + q * se,
            "df": df,
        }
    )
    ratio = {"binomial": "odds_ratio", "poisson": "rate_ratio"}.get(fam.kind)
    if ratio:
        out[ratio] = np.exp(beta)
        out[f"{ratio}_ci_low"] = np.exp(out["ci_low"])
        out[f"{ratio}_ci_high"] = np.exp(out["ci_high"])
    terms = {name: list(range(sl.start, sl.stop)) for name, sl in info.term_name_slices.items()}
    return ModelResult(
        formula=formula,
        family=fam.name,
        table=out,
        vcov=pd.DataFrame(V, index=names, columns=names),
        df_residual=df,
        n=int(live.sum()),
        iterations=fit.iterations,
        variance=variance,
        term_columns=terms,
    )
