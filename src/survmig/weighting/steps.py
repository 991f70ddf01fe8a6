"""Weighting steps: each turns a data frame plus a weight matrix into adjusted weights and a record.

A step sees :class:`WeightState` — the data, the weight matrix ``W`` (column 0 the full-sample weight,
then one column per replicate) and the calibration records collected so far — and returns a
:class:`StepReport`. The numerical work is in :mod:`survmig.weighting.core`; this module maps data
columns and control totals to class codes, checks the statistical hazards (missing auxiliaries,
categories that do not match the controls, empty classes, classes without respondents, failed
convergence, infeasible bounds) and raises :class:`~survmig.errors.SurvmigError` naming them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from survmig.design.core import combine_codes, factorize, show
from survmig.errors import SurvmigError
from survmig.weighting import core

# --------------------------------------------------------------------------- state and records


@dataclasses.dataclass
class WeightState:
    """What flows through the pipeline."""

    data: pd.DataFrame
    W: np.ndarray  # (n, 1 + R): full-sample weights, then replicate weights
    #: calibration records for linearization variances, as R keeps them in ``design$postStrata``
    calibration: list[Any] = dataclasses.field(default_factory=list)
    #: whether the design is a linearization design (calibration records are then kept)
    linearization: bool = True
    #: where the steps came from, for error messages
    source: str | None = None
    #: positions (in the input data) of the rows still in the sample
    rows: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.rows is None:
            self.rows = np.arange(len(self.data))

    @property
    def n_replicates(self) -> int:
        return self.W.shape[1] - 1

    def keep(self, mask: np.ndarray) -> None:
        """Continue with the rows in ``mask`` only (respondents after a nonresponse adjustment)."""
        if mask.all():
            return
        if self.calibration:
            raise SurvmigError(
                "the nonresponse adjustment must come before post-stratification, raking and calibration",
                file=self.source,
                hint="move the nonresponse step up",
            )
        self.data = self.data.loc[mask].reset_index(drop=True)
        self.W = self.W[mask]
        self.rows = self.rows[mask]


def weight_summary(w: np.ndarray) -> dict[str, float]:
    """min / median / max / sum / Kish effect of one weight vector (units with non-zero weight)."""
    w = np.asarray(w, float)
    pos = w[w != 0]
    if len(pos) == 0:
        return {"n": 0, "sum": 0.0, "min": np.nan, "median": np.nan, "max": np.nan, "kish": np.nan}
    return {
        "n": int(len(pos)),
        "sum": float(pos.sum()),
        "min": float(pos.min()),
        "median": float(np.median(pos)),
        "max": float(pos.max()),
        "kish": float(core.kish(pos)[0]),
    }


@dataclasses.dataclass
class StepReport:
    """The record of one step: weights before/after, controls, classes, convergence."""

    name: str
    kind: str
    before: dict[str, float]
    after: dict[str, float] = dataclasses.field(default_factory=dict)
    #: one row per control: margin, category, control, before, after
    controls: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    #: one row per weighting class: class, cases, (respondents), factor
    classes: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    convergence: dict[str, Any] | None = None
    notes: list[str] = dataclasses.field(default_factory=list)
    #: histograms of the weights after the step and of its g-factors, and the step's bounds
    #: (:func:`survmig.weighting.pictures.distribution`)
    histograms: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def row_list(state: WeightState, mask: np.ndarray) -> str:
    """``rows 4, 8, …``: the first flagged data rows (1-based, in the input data)."""
    idx = state.rows[np.flatnonzero(mask)] + 1
    more = ", …" if len(idx) > 5 else ""
    return "rows " + ", ".join(map(str, idx[:5])) + more


def _err(state: WeightState, step: Step, message: str, hint: str | None = None) -> SurvmigError:
    return SurvmigError(
        message, file=state.source, line=step.line, where=f"step {step.label}", hint=hint
    )


# --------------------------------------------------------------------------- classes and controls


def canonical(values: pd.Series) -> pd.Series:
    """Category values as strings that compare equal across data and control files (1 == 1.0 == '1')."""
    s = values
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_bool_dtype(s):
        return s.map(lambda v: "true" if v else "false")
    if pd.api.types.is_numeric_dtype(s):
        num = pd.to_numeric(s)
        whole = num.dropna()
        if len(whole) and np.all(np.mod(whole.to_numpy(float), 1) == 0):
            return num.astype("Int64").astype(str)
        return num.astype(str)

    def one(v: Any) -> str:
        if isinstance(v, bool | np.bool_):
            return "true" if v else "false"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return str(v)

    return s.map(one)


def require_columns(state: WeightState, step: Step, columns: Sequence[str], role: str) -> None:
    """Every auxiliary column exists and has no missing values (never dropped silently)."""
    for col in columns:
        if col not in state.data.columns:
            raise _err(
                state,
                step,
                f"{role} column {show(col)} is not in the data",
                hint="check the spelling against the data's columns",
            )
        missing = state.data[col].isna().to_numpy()
        if missing.any():
            raise _err(
                state,
                step,
                f"{role} column {show(col)} has {int(missing.sum())} missing value(s) ({row_list(state, missing)})",
                hint="impute or recode them into a category before weighting",
            )


def class_codes(
    state: WeightState, step: Step, columns: Sequence[str], role: str = "class"
) -> tuple[np.ndarray, list[str]]:
    """Codes 0..C-1 of the cross-classification of ``columns`` and the class labels ("a:b").

    Values are hashed once per column (labels are made from the distinct values only), so this is
    one pass over the data whatever its size; classes are ordered by value, as R orders factors.
    """
    require_columns(state, step, columns, role)
    combined: np.ndarray | None = None
    per_column: list[tuple[np.ndarray, np.ndarray]] = []
    for col in columns:
        codes, uniques = factorize(state.data[col])
        labels = canonical(pd.Series(uniques, dtype=object))
        lab_codes, lab_uniques = pd.factorize(labels)  # 1 and 1.0 are one category
        codes = lab_codes.astype(np.int64)[codes]
        per_column.append((codes, np.asarray(lab_uniques, dtype=object)))
        combined = codes if combined is None else combine_codes(combined, codes)
    assert combined is not None
    k = int(combined.max()) + 1 if combined.size else 0
    first = np.empty(k, dtype=np.int64)
    first[combined[::-1]] = np.arange(len(combined))[::-1]
    parts = [labs[codes[first]] for codes, labs in per_column]
    labels_out = [":".join(map(str, t)) for t in zip(*parts, strict=True)]
    return combined, labels_out


@dataclasses.dataclass(frozen=True)
class ControlTable:
    """Population totals for one margin: ``by`` variables and one total per category."""

    by: tuple[str, ...]
    totals: dict[str, float]  # canonical label ("a" or "a:b") -> total

    @property
    def name(self) -> str:
        return " × ".join(self.by)

    @classmethod
    def from_frame(
        cls, by: Sequence[str], frame: pd.DataFrame, total_column: str, where: str
    ) -> ControlTable:
        missing = [c for c in [*by, total_column] if c not in frame.columns]
        if missing:
            raise SurvmigError(
                f"control table has no column(s) {', '.join(missing)}",
                where=where,
                hint=f"give columns {', '.join([*by, total_column])}",
            )
        keys = [canonical(frame[c]) for c in by]
        label = (
            keys[0] if len(keys) == 1 else pd.Series(list(zip(*keys, strict=True))).map(":".join)
        )
        totals = pd.to_numeric(frame[total_column], errors="coerce")
        if totals.isna().any():
            raise SurvmigError(
                f"control totals in column {show(total_column)} are missing or not numbers",
                where=where,
            )
        if label.duplicated().any():
            raise SurvmigError(
                f"control category {show(label[label.duplicated()].iloc[0])} is given twice",
                where=where,
            )
        return cls(tuple(by), dict(zip(label, totals.astype(float), strict=True)))


def match_controls(
    state: WeightState,
    step: Step,
    labels: list[str],
    controls: ControlTable,
    *,
    partial: bool = False,
) -> tuple[np.ndarray, list[str]]:
    """Align control totals with the data's classes; name every category that does not match.

    Returns (targets per class, control categories absent from the data with a zero total or, when
    ``partial``, any total). Categories in the data without a control, and controls with a positive
    total but no cases, are errors (R: "Strata in sample absent from population", "Some strata absent
    from sample").
    """
    data_only = [lab for lab in labels if lab not in controls.totals]
    if data_only:
        raise _err(
            state,
            step,
            f"margin {controls.name}: data categories {', '.join(map(show, data_only[:10]))} have no control total"
            f" (controls give {', '.join(map(show, list(controls.totals)[:10]))})",
            hint="add their totals, or recode/collapse those categories in the data",
        )
    absent = [lab for lab in controls.totals if lab not in set(labels)]
    empty_ok = [lab for lab in absent if controls.totals[lab] == 0 or partial]
    bad = [lab for lab in absent if lab not in empty_ok]
    if bad:
        raise _err(
            state,
            step,
            f"margin {controls.name}: control categories {', '.join(map(show, bad[:10]))} have no cases in the data"
            " (an empty weighting class)",
            hint="collapse them with a neighbouring category, or set partial: true to ignore them",
        )
    targets = np.array([controls.totals[lab] for lab in labels], float)
    zero = [lab for lab, t in zip(labels, targets, strict=True) if t <= 0]
    if zero:
        raise _err(
            state,
            step,
            f"margin {controls.name}: categories {', '.join(map(show, zero[:10]))} have cases but a control"
            " total of zero",
            hint="correct the control total or recode those cases",
        )
    return targets, empty_ok


def _check_class_totals(
    state: WeightState, step: Step, totals: np.ndarray, labels: list[str], what: str
) -> None:
    """A class with zero weight (full sample or a replicate) cannot be adjusted: name it."""
    zero = totals <= 0
    if zero[:, 0].any():
        names = [labels[i] for i in np.flatnonzero(zero[:, 0])]
        raise _err(
            state,
            step,
            f"{what}: classes {', '.join(map(show, names[:10]))} have zero total weight",
            hint="collapse them with a neighbouring class",
        )
    if zero.any():
        cls, rep = np.argwhere(zero)[0]
        raise _err(
            state,
            step,
            f"{what}: class {show(labels[cls])} has zero weight in replicate {rep} "
            f"({int(zero.any(axis=0).sum())} replicate(s) affected)",
            hint="collapse small classes so every replicate keeps cases in each class",
        )


def _check_margin_sums(
    state: WeightState,
    step: Step,
    names: list[str],
    sums: list[float],
    population: float,
    what: str,
) -> None:
    """Every margin must describe the same population: totals that disagree have no solution
    (raking would stop at whichever margin came last, calibration would fail to converge)."""
    off = [
        (m, s) for m, s in zip(names, sums, strict=True) if not np.isclose(s, population, rtol=1e-9)
    ]
    if off:
        raise _err(
            state,
            step,
            "margins do not add up to the same population: "
            + ", ".join(f"{m} = {s:.10g}" for m, s in off)
            + f" vs {population:.10g}",
            hint=f"make every categorical margin sum to the same total (infeasible {what} otherwise)",
        )


def _control_rows(
    margin: str, labels: list[str], targets: np.ndarray, before: np.ndarray, after: np.ndarray
) -> list[dict[str, Any]]:
    return [
        {
            "margin": margin,
            "category": lab,
            "control": float(t),
            "before": float(b),
            "after": float(a),
        }
        for lab, t, b, a in zip(labels, targets, before, after, strict=True)
    ]


# --------------------------------------------------------------------------- steps


@dataclasses.dataclass
class Step:
    """Common fields: a name for the report and the line in weighting.yaml."""

    name: str | None = dataclasses.field(default=None, kw_only=True)
    line: int | None = dataclasses.field(default=None, kw_only=True)
    kind = "step"

    @property
    def label(self) -> str:
        return self.name or self.kind

    def apply(self, state: WeightState) -> StepReport:  # pragma: no cover - abstract
        raise NotImplementedError

    def _report(self, state: WeightState) -> StepReport:
        return StepReport(self.label, self.kind, weight_summary(state.W[:, 0]))


Value = str | float  # a column name or a constant


@dataclasses.dataclass
class Stage:
    """One factor of the selection probability.

    ``kind``: ``pps`` (``n · size / size_total``), ``listing`` (``selected / listed``), ``phase2``
    (a rate per screening class, or ``selected / listed`` per class), ``probability`` (given).
    """

    kind: str
    params: dict[str, Any]


@dataclasses.dataclass
class BaseWeights(Step):
    """Base weight = 1 / product of the stage probabilities (PPS, listing, second phase, given)."""

    stages: list[Stage] = dataclasses.field(default_factory=list)
    kind = "base"

    def _value(self, state: WeightState, v: Value, what: str) -> np.ndarray:
        if isinstance(v, str):
            require_columns(state, self, [v], what)
            col = pd.to_numeric(state.data[v], errors="coerce")
            if col.isna().any():
                raise _err(state, self, f"{what} column {show(v)} is not numeric")
            return col.to_numpy(float)
        return np.full(len(state.data), float(v))

    def probabilities(self, state: WeightState) -> tuple[np.ndarray, list[dict[str, Any]]]:
        prob = np.ones(len(state.data))
        rows = []
        for i, st in enumerate(self.stages):
            p = st.params
            if st.kind == "pps":
                pi = core.pps_probability(
                    self._value(state, p["n"], "PPS sample size"),
                    self._value(state, p["size"], "measure of size"),
                    self._value(state, p["size_total"], "stratum size total"),
                )
            elif st.kind == "listing" or (st.kind == "phase2" and "rates" not in p):
                pi = self._value(state, p["selected"], "selected count") / self._value(
                    state, p["listed"], "listed count"
                )
            elif st.kind == "phase2":
                codes, labels = class_codes(state, self, [p["class"]], "screening class")
                rates = {str(k): float(v) for k, v in p["rates"].items()}
                missing = [lab for lab in labels if lab not in rates]
                if missing:
                    raise _err(
                        state,
                        self,
                        f"stage {i + 1} (phase2): screening classes {', '.join(map(show, missing))} have no rate",
                        hint=f"give a rate for each of {', '.join(labels)}",
                    )
                pi = np.array([rates[lab] for lab in labels])[codes]
            elif st.kind == "probability":
                pi = self._value(state, p["column"], "probability")
            else:  # validated by the spec loader
                raise _err(state, self, f"unknown stage type {show(st.kind)}")
            bad = ~((pi > 0) & (pi <= 1))
            if bad.any():
                raise _err(
                    state,
                    self,
                    f"stage {i + 1} ({st.kind}): selection probability outside (0, 1] in {int(bad.sum())} row(s)"
                    f" ({row_list(state, bad)}; e.g. {pi[bad][0]:.6g})",
                    hint="check the measures of size and counts; units with probability > 1 are certainty units"
                    " (give them probability 1 with a 'probability' stage)",
                )
            prob = prob * pi
            rows.append(
                {
                    "stage": i + 1,
                    "type": st.kind,
                    "min_probability": float(pi.min()),
                    "max_probability": float(pi.max()),
                }
            )
        return prob, rows

    def apply(self, state: WeightState) -> StepReport:
        rep = self._report(state)
        prob, rows = self.probabilities(state)
        base = 1.0 / prob
        old = state.W[:, 0]
        if state.n_replicates:
            # replicate factors are kept: each replicate weight is rescaled like the full-sample weight
            if (old <= 0).any():
                raise _err(
                    state, self, "cannot carry replicate weights: some current weights are zero"
                )
            state.W = state.W * (base / old)[:, None]
            rep.notes.append(
                "replicate weights rescaled by the same factor as the full-sample weight"
            )
        else:
            state.W = base[:, None]
        rep.classes = rows
        rep.after = weight_summary(state.W[:, 0])
        return rep


@dataclasses.dataclass
class Nonresponse(Step):
    """Weighting-class nonresponse adjustment: respondents carry their class's nonrespondents.

    Classes come from ``classes`` (columns) or from ``propensity``: a weighted logistic model of
    response (statsmodels) whose predicted propensities are cut into ``n_classes`` quantile classes.
    Replicate columns get their own factors in the same classes. Nonrespondents end with weight 0.
    """

    response: str = ""
    respondent_values: tuple[Any, ...] = (1, True, "1", "yes", "true")
    classes: list[str] = dataclasses.field(default_factory=list)
    propensity: list[str] | None = None
    n_classes: int = 5
    kind = "nonresponse"

    def _respondent(self, state: WeightState) -> np.ndarray:
        require_columns(state, self, [self.response], "response indicator")
        vals = canonical(state.data[self.response])
        ok = {canonical(pd.Series([v])).iloc[0] for v in self.respondent_values}
        return vals.isin(ok).to_numpy()

    def _propensity_classes(
        self, state: WeightState, resp: np.ndarray
    ) -> tuple[np.ndarray, list[str], dict[str, Any]]:
        import statsmodels.api as sm

        require_columns(state, self, self.propensity or [], "propensity covariate")
        X = pd.get_dummies(state.data[self.propensity], drop_first=True, dtype=float)
        X.insert(0, "const", 1.0)
        try:
            fit = sm.GLM(
                resp.astype(float),
                X.to_numpy(float),
                family=sm.families.Binomial(),
                var_weights=state.W[:, 0],
            ).fit()
        except Exception as err:  # perfect separation, singular matrix
            raise _err(
                state,
                self,
                f"the response-propensity model could not be fitted ({err})",
                hint="use fewer or coarser covariates, or weighting classes",
            ) from None
        phat = fit.predict(X.to_numpy(float))
        k = min(self.n_classes, len(np.unique(phat)))
        edges = np.unique(np.quantile(phat, np.linspace(0, 1, k + 1)))
        codes = np.clip(np.searchsorted(edges, phat, side="right") - 1, 0, len(edges) - 2)
        labels = [
            f"propensity {i + 1} [{edges[i]:.3f}, {edges[i + 1]:.3f}]"
            for i in range(len(edges) - 1)
        ]
        info = {
            "model": "logit",
            "covariates": list(X.columns[1:]),
            "coefficients": dict(zip(X.columns, map(float, fit.params), strict=True)),
        }
        return codes.astype(np.int64), labels, info

    def apply(self, state: WeightState) -> StepReport:
        rep = self._report(state)
        resp = self._respondent(state)
        if self.propensity:
            codes, labels, info = self._propensity_classes(state, resp)
            rep.notes.append(
                f"propensity classes from a weighted logistic model on {', '.join(info['covariates'])}"
            )
            rep.convergence = info
        elif self.classes:
            codes, labels = class_codes(state, self, self.classes, "weighting class")
        else:
            codes, labels = np.zeros(len(state.data), np.int64), ["all"]
        factors, total, resp_total = core.nonresponse_factors(state.W, codes, len(labels), resp)
        cases = np.bincount(codes, minlength=len(labels))
        respondents = np.bincount(codes, weights=resp.astype(float), minlength=len(labels)).astype(
            int
        )
        empty = [labels[i] for i in np.flatnonzero(total[:, 0] <= 0)]
        if empty:
            raise _err(
                state,
                self,
                f"weighting classes {', '.join(map(show, empty[:10]))} are empty (zero total weight)",
                hint="collapse them with a neighbouring class",
            )
        none = [labels[i] for i in np.flatnonzero(respondents == 0)]
        if none:
            raise _err(
                state,
                self,
                f"weighting classes {', '.join(map(show, none[:10]))} have no respondents",
                hint="collapse them with a neighbouring class that has respondents",
            )
        bad_rep = ~np.isfinite(factors)
        if bad_rep.any():
            cls, r = np.argwhere(bad_rep)[0]
            raise _err(
                state,
                self,
                f"weighting class {show(labels[cls])} has no respondent weight in replicate {r}",
                hint="collapse small classes so that every replicate keeps respondents in each class",
            )
        core.Factors(factors, codes).multiply(state.W)
        n_before = len(resp)
        rep.classes = [
            {
                "class": lab,
                "cases": int(c),
                "respondents": int(r),
                "response_rate_weighted": float(rt / t),
                "factor": float(f),
            }
            for lab, c, r, rt, t, f in zip(
                labels,
                cases,
                respondents,
                resp_total[:, 0],
                total[:, 0],
                factors[:, 0],
                strict=True,
            )
        ]
        state.keep(resp)
        rep.after = weight_summary(state.W[:, 0])
        rep.notes.append(
            f"{int((~resp).sum())} nonrespondent(s) of {n_before} leave the sample: their weight is carried"
            " by the respondents of their class"
        )
        return rep


@dataclasses.dataclass
class PostStratify(Step):
    """R ``postStratify``: weights in each cell scaled to the cell's population total."""

    controls: ControlTable | None = None
    partial: bool = False
    kind = "poststratify"

    def apply(self, state: WeightState) -> StepReport:
        rep = self._report(state)
        assert self.controls is not None
        codes, labels = class_codes(state, self, self.controls.by, "post-stratification")
        targets, ignored = match_controls(state, self, labels, self.controls, partial=self.partial)
        factors, totals = core.poststratify_factors(state.W, codes, len(labels), targets)
        _check_class_totals(state, self, totals, labels, f"post-strata {self.controls.name}")
        old = state.W[:, 0].copy()
        core.Factors(factors, codes).multiply(state.W)
        if state.linearization:
            state.calibration.append(
                _design_types().PostStratification(codes, state.W[:, 0].copy(), old)
            )
        after = core.class_totals(codes, len(labels), state.W[:, 0])[:, 0]
        rep.controls = _control_rows(self.controls.name, labels, targets, totals[:, 0], after)
        rep.classes = [
            {"class": lab, "cases": int(c), "factor": float(f)}
            for lab, c, f in zip(
                labels, np.bincount(codes, minlength=len(labels)), factors[:, 0], strict=True
            )
        ]
        if ignored:
            rep.notes.append(f"control categories without cases ignored: {', '.join(ignored)}")
        rep.after = weight_summary(state.W[:, 0])
        return rep


@dataclasses.dataclass
class Rake(Step):
    """R ``rake``: iterative proportional fitting over several margins."""

    margins: list[ControlTable] = dataclasses.field(default_factory=list)
    epsilon: float = 1e-6
    maxit: int = 100
    partial: bool = False
    kind = "rake"

    def apply(self, state: WeightState) -> StepReport:
        rep = self._report(state)
        ms, all_labels, before = [], [], []
        for ct in self.margins:
            codes, labels = class_codes(state, self, ct.by, "raking margin")
            targets, _ = match_controls(state, self, labels, ct, partial=self.partial)
            totals = core.class_totals(codes, len(labels), state.W)
            _check_class_totals(state, self, totals, labels, f"margin {ct.name}")
            ms.append(core.Margin(codes, targets))
            all_labels.append(labels)
            before.append(totals[:, 0])
        if not self.partial and len(ms) > 1:  # partial margins leave classes out of their sums
            sums = [float(m.targets.sum()) for m in ms]
            _check_margin_sums(state, self, [c.name for c in self.margins], sums, sums[0], "raking")
        res = core.rake(state.W, ms, epsilon=self.epsilon, maxit=self.maxit, inplace=True)
        rep.convergence = {
            "converged": res.converged,
            "sweeps": res.sweeps,
            "maxit": self.maxit,
            "epsilon": self.epsilon,
            "tolerance_abs": res.epsilon,
            "last_change": res.delta,
            "margin_misfit": dict(
                zip([c.name for c in self.margins], res.margin_misfit, strict=True)
            ),
        }
        if not res.converged:
            worst = int(np.argmax(res.margin_misfit))
            raise _err(
                state,
                self,
                f"raking did not converge in {self.maxit} sweeps (last change {res.delta:.4g} > {res.epsilon:.4g});"
                f" margin {self.margins[worst].name} is furthest from its controls (off by {res.margin_misfit[worst]:.4g})",
                hint="collapse sparse categories of that margin, check that the margins' totals agree, or raise maxit",
            )
        state.W = res.weights
        if state.linearization:
            state.calibration.append(
                _design_types().Raking(
                    [(m.codes, w) for m, w in zip(ms, res.margin_weights, strict=True)]
                )
            )
        for ct, m, labels, b in zip(self.margins, ms, all_labels, before, strict=True):
            after = core.class_totals(m.codes, m.n_groups, state.W[:, 0])[:, 0]
            rep.controls += _control_rows(ct.name, labels, m.targets, b, after)
            rep.classes += [
                {"margin": ct.name, "class": lab, "cases": int(c)}
                for lab, c in zip(labels, np.bincount(m.codes, minlength=m.n_groups), strict=True)
            ]
        rep.after = weight_summary(state.W[:, 0])
        return rep


@dataclasses.dataclass
class Calibrate(Step):
    """R ``calibrate``: linear (GREG), raking or logit distance, to categorical and continuous totals.

    The model matrix is R's ``~ a + b + x``: an intercept, treatment dummies of each categorical
    margin (first category dropped) and the continuous variables; the intercept's total is the first
    margin's sum (or ``population``). Bounds are on g = new/old weight (or on the weights themselves
    with ``bounds_on: weight``, R ``bounds.const``).
    """

    margins: list[ControlTable] = dataclasses.field(default_factory=list)
    continuous: dict[str, float] = dataclasses.field(default_factory=dict)
    population: float | None = None
    method: str = "linear"
    bounds: tuple[float, float] = (-np.inf, np.inf)
    bounds_on: str = "ratio"
    epsilon: float = 1e-7
    maxit: int = 50
    force: bool = False
    allow_negative: bool = False
    kind = "calibrate"

    def model_matrix(
        self, state: WeightState
    ) -> tuple[np.ndarray, np.ndarray, list[str], list[str], list[dict[str, Any]]]:
        """(X, totals, column names, margin of each column, control rows without before/after)."""
        n = len(state.data)
        cols, names, owner, totals = [], [], [], []
        rows: list[dict[str, Any]] = []
        margin_sums = []
        coded = []
        for ct in self.margins:
            codes, labels = class_codes(state, self, ct.by, "calibration margin")
            targets, _ = match_controls(state, self, labels, ct)
            coded.append((ct, codes, labels, targets))
            margin_sums.append(targets.sum())
        intercept = (
            self.population
            if self.population is not None
            else (margin_sums[0] if margin_sums else None)
        )
        if margin_sums:
            _check_margin_sums(
                state, self, [ct.name for ct, *_ in coded], margin_sums, intercept, "calibration"
            )
        if intercept is not None:
            cols.append(np.ones(n))
            names.append("(Intercept)")
            owner.append("population")
            totals.append(float(intercept))
        for ct, codes, labels, targets in coded:
            for j, lab in enumerate(labels):
                rows.append(
                    {
                        "margin": ct.name,
                        "category": lab,
                        "control": float(targets[j]),
                        "codes": (codes, j),
                    }
                )
                if j == 0 and intercept is not None:
                    continue
                cols.append((codes == j).astype(float))
                names.append(f"{ct.name}={lab}")
                owner.append(ct.name)
                totals.append(float(targets[j]))
        if self.continuous:
            require_columns(state, self, list(self.continuous), "continuous auxiliary")
        for var, total in self.continuous.items():
            x = pd.to_numeric(state.data[var], errors="coerce")
            if x.isna().any():
                raise _err(state, self, f"continuous auxiliary {show(var)} is not numeric")
            cols.append(x.to_numpy(float))
            names.append(var)
            owner.append(var)
            totals.append(float(total))
            rows.append({"margin": var, "category": "total", "control": float(total), "x": var})
        return np.column_stack(cols), np.array(totals), names, owner, rows

    def apply(self, state: WeightState) -> StepReport:
        rep = self._report(state)
        X, totals, names, owner, rows = self.model_matrix(state)
        lo, up = self.bounds
        if self.method == "logit" and not (np.isfinite(lo) and np.isfinite(up)):
            raise _err(
                state,
                self,
                "logit calibration needs finite bounds",
                hint="give bounds: [L, U] with L < 1 < U",
            )
        if self.bounds_on == "ratio" and not (lo < 1 < up):
            raise _err(
                state,
                self,
                f"infeasible bounds [{lo:g}, {up:g}]: they must satisfy lower < 1 < upper",
                hint="bounds are on g = calibrated / input weight; widen them",
            )
        W = state.W
        live = W[:, 0] > 0
        if self.bounds_on == "weight":
            with np.errstate(divide="ignore"):
                lo_v = np.where(W[:, 0] > 0, lo / W[:, 0], lo)
                up_v = np.where(W[:, 0] > 0, up / W[:, 0], up)
            lower, upper = lo_v, up_v
        else:
            lower, upper = lo, up
        before = X.T @ W[:, 0]
        if self.method == "linear" and not np.isfinite([lo, up]).any():
            g = core.linear_calibration(X, W, totals)
            res = None
        else:
            res = core.grake(
                X,
                W,
                totals,
                core.CALFUNS[self.method],
                lower=lower,
                upper=upper,
                epsilon=self.epsilon,
                maxit=self.maxit,
            )
            g = res.g
            failed = ~res.converged
            rep.convergence = {
                "converged": bool(res.converged[0]),
                "iterations": int(res.iterations[0]),
                "maxit": self.maxit,
                "epsilon": self.epsilon,
                "achieved": float(res.achieved[0]),
                "replicates_not_converged": int(failed[1:].sum()),
            }
            if failed.any() and not self.force:
                col = int(np.flatnonzero(failed)[0])
                rel = np.nan_to_num(np.abs(res.misfit[:, col]) / (1 + np.abs(totals)), nan=np.inf)
                worst = int(np.argmax(rel))
                which = (
                    "the full-sample weights"
                    if col == 0
                    else f"replicate {col} (and {int(failed.sum()) - 1} more)"
                )
                feasible = (
                    _feasible(X, W[:, col], totals, lower, upper)
                    if np.isfinite([lo, up]).any()
                    else True
                )
                if not feasible:
                    raise _err(
                        state,
                        self,
                        f"infeasible bounds [{lo:g}, {up:g}]: no weights within them meet the controls"
                        f" ({which})",
                        hint="widen the bounds or collapse categories of the margins",
                    )
                raise _err(
                    state,
                    self,
                    f"{self.method} calibration of {which} did not converge in {self.maxit} iterations"
                    f" (relative misfit {res.achieved[col]:.3g}); margin {owner[worst]} ({names[worst]}) is furthest off",
                    hint="collapse sparse categories of that margin, widen the bounds, or raise maxit",
                )
            if failed.any():
                rep.notes.append(
                    f"force: {int(failed.sum())} weight column(s) kept without convergence"
                )
        nonpos = g.nonpositive(W)
        if not self.allow_negative and nonpos.any():
            k = int(nonpos[0])
            where = (
                f"{k} full-sample weight(s)"
                if k
                else f"weights in {int((nonpos[1:] > 0).sum())} replicate(s)"
            )
            raise _err(
                state,
                self,
                f"{self.method} calibration gives zero or negative {where}",
                hint="use method: raking or logit, or bounds, or set allow_negative: true",
            )
        w_old = W[:, 0].copy()
        g0_all = g.column(0)
        if state.linearization:
            whalf = np.sqrt(w_old)
            state.calibration.append(
                _design_types().GregCalibration(X, qr_weights=whalf, weights=g0_all * whalf)
            )
        g.multiply(W)  # W is the state's own matrix: adjusted in place
        w_new = W[:, 0]
        after = X.T @ w_new
        # control rows with before/after per category (categorical) or total (continuous)
        for r in rows:
            if "codes" in r:
                codes, j = r.pop("codes")
                m = codes == j
                r["before"], r["after"] = float(w_old[m].sum()), float(w_new[m].sum())
            else:
                x = state.data[r.pop("x")].to_numpy(float)
                r["before"], r["after"] = float(x @ w_old), float(x @ w_new)
        rep.controls = rows
        rep.classes = [
            {"column": nm, "margin": ow, "control": float(t), "before": float(b), "after": float(a)}
            for nm, ow, t, b, a in zip(names, owner, totals, before, after, strict=True)
        ]
        g0 = g0_all[live]
        rep.notes.append(f"g-factors from {g0.min():.4g} to {g0.max():.4g}")
        rep.after = weight_summary(state.W[:, 0])
        return rep


def _feasible(X: np.ndarray, w: np.ndarray, totals: np.ndarray, lower: Any, upper: Any) -> bool:
    """Whether some g within the bounds meets ``X'(w g) = totals`` (a linear program)."""
    from scipy.optimize import linprog

    Xc, Wc, inv = (
        core.collapse_rows(X, w[:, None]) if np.ndim(lower) == 0 else (X, w[:, None], None)
    )
    wc = Wc[:, 0]
    keep = wc > 0
    A = (Xc[keep] * wc[keep, None]).T
    lb = np.broadcast_to(np.asarray(lower, float), (len(wc),))[keep]
    ub = np.broadcast_to(np.asarray(upper, float), (len(wc),))[keep]
    lb = np.where(np.isfinite(lb), lb, None)
    ub = np.where(np.isfinite(ub), ub, None)
    res = linprog(
        np.zeros(A.shape[1]),
        A_eq=A,
        b_eq=totals,
        bounds=list(zip(lb, ub, strict=True)),
        method="highs",
    )
    return bool(res.status == 0)


@dataclasses.dataclass
class Trim(Step):
    """R ``trimWeights``: weights outside [lower, upper] set to the bound, the excess redistributed.

    Bounds are absolute or multiples of the median weight (``{median: 3.5}``). Replicate columns:
    ``replicates="fixed"`` (default) multiplies each by the full-sample trimming factor
    (trimmed / untrimmed weight), so trimming is a fixed adjustment as in linearization variances;
    ``"retrim"`` trims every column with the same rule (a median multiple of each column's own
    median). Re-trimming is not the trimming estimator applied to a replicate sample: a bootstrap
    unit drawn k times is trimmed on k times its weight, jackknife replicates trim units only
    because of the n/(n-1) factor, and the equal redistribution undoes the replicate's calibration
    — inflating SEs of calibrated quantities (see docs/methods/weighting.md).
    """

    lower: float | None = None
    upper: float | None = None
    relative: bool = False  # bounds are multiples of the median
    redistribute: str = "equal"
    strict: bool = False
    replicates: str = "fixed"  # fixed | retrim
    kind = "trim"

    def apply(self, state: WeightState) -> StepReport:
        rep = self._report(state)
        W = state.W
        if self.replicates not in ("fixed", "retrim"):
            raise _err(
                state, self, f"unknown replicates rule {show(self.replicates)}: fixed or retrim"
            )
        fixed = self.replicates == "fixed" and W.shape[1] > 1
        if fixed:
            W = W[:, :1]
        if self.relative:
            med = (
                np.array([np.median(c[c != 0]) for c in W.T])
                if W.shape[1] < 2
                else np.nanmedian(np.where(W != 0, W, np.nan), axis=0)
            )
            lo = (self.lower if self.lower is not None else -np.inf) * med
            up = (self.upper if self.upper is not None else np.inf) * med
        else:
            lo = np.full(W.shape[1], self.lower if self.lower is not None else -np.inf)
            up = np.full(W.shape[1], self.upper if self.upper is not None else np.inf)
        if (lo >= up).any():
            raise _err(
                state, self, f"infeasible trimming bounds: lower {lo[0]:g} ≥ upper {up[0]:g}"
            )
        live = W[:, 0] != 0
        if self.strict and (
            live.sum() * up[0] < W[:, 0].sum() or live.sum() * lo[0] > W[:, 0].sum()
        ):
            raise _err(
                state,
                self,
                "infeasible trimming bounds: the total weight cannot fit within them",
                hint="widen the bounds",
            )
        res = core.trim(W, lo, up, redistribute=self.redistribute, strict=self.strict)
        if fixed:
            old = state.W[:, 0]
            factor = np.divide(res.weights[:, 0], old, out=np.ones_like(old), where=old != 0)
            state.W = np.column_stack([res.weights[:, 0], state.W[:, 1:] * factor[:, None]])
        else:
            state.W = res.weights
        rep.convergence = {
            "passes": res.passes,
            "strict": self.strict,
            "lower": float(lo[0]),
            "upper": float(up[0]),
            "redistribute": self.redistribute,
        }
        rep.classes = [{"class": "trimmed", "cases": int(res.trimmed[0])}]
        if self.strict is False and res.passes:
            out = ((state.W[:, 0] < lo[0]) | (state.W[:, 0] > up[0])) & live
            if out.any():
                rep.notes.append(
                    f"{int(out.sum())} weight(s) pushed outside the bounds by redistribution (strict: false)"
                )
        rep.after = weight_summary(state.W[:, 0])
        return rep


def _design_types() -> Any:
    """The calibration records live in :mod:`survmig.design.calibration` (the engine applies them)."""
    try:
        from survmig.design import calibration
    except ImportError:  # the estimation engine is not installed: keep records with the same fields
        return _FallbackTypes
    return calibration


class _FallbackTypes:
    """Stand-ins with the fields of :mod:`survmig.design.calibration`'s records."""

    @dataclasses.dataclass(frozen=True)
    class GregCalibration:
        model_matrix: np.ndarray
        qr_weights: np.ndarray
        weights: np.ndarray | None = None

    @dataclasses.dataclass(frozen=True)
    class PostStratification:
        groups: np.ndarray
        weights: np.ndarray
        old_weights: np.ndarray | None = None

    @dataclasses.dataclass(frozen=True)
    class Raking:
        margins: list


STEP_TYPES: dict[str, type[Step]] = {
    cls.kind: cls for cls in (BaseWeights, Nonresponse, PostStratify, Rake, Calibrate, Trim)
}
