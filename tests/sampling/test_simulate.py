"""The design simulator: unbiasedness within Monte Carlo error, variance estimators, outputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from survmig.errors import SurvmigError
from survmig.sampling import simulate as sim
from survmig.sampling.population import synthetic_population
from survmig.sampling.selection import pps_probabilities

REPS = 3000


@pytest.fixture(scope="module")
def pop() -> pd.DataFrame:
    return synthetic_population(40_000, 3, prevalence=0.06, mean_ea_size=100, seed=5)


@pytest.fixture(scope="module")
def result(pop) -> sim.SimulationResult:
    designs = [
        sim.SrsHouseholds(n=800),
        sim.StratifiedCluster(psus=60, take=10),
        sim.StratifiedCluster(psus=60, take=10, allocation="rare", name="disproportionate"),
        sim.TwoPhase(psus=40),
        # many EAs in the small top stratum: some are taken with certainty
        sim.StratifiedCluster(psus=200, take=10, allocation="rare", name="with certainty"),
        sim.TwoPhase(psus=200, rate_negative=0.2, name="two-phase with certainty"),
        sim.AdaptiveCluster(initial=20, threshold=0.15),
    ]
    return sim.simulate(pop, designs, reps=REPS, seed=11)


def test_certainty_case_is_exercised(pop):
    summary = sim._summarise(pop)
    a_h = sim._psu_allocation("rare", 200, summary, sim.CostModel(), 10)
    assert pps_probabilities(summary.mos, summary.stratum, a_h)[1].any()


def test_truth(result, pop):
    assert result.truth["prevalence"] == pytest.approx(pop["is_migrant"].mean())
    mig = pop[pop["is_migrant"]]
    assert result.truth["remittance_share"] == pytest.approx(mig["remittances"].mean())


def test_prevalence_estimators_are_unbiased(result):
    """HT-type prevalence estimators: |mean − truth| within 4 Monte Carlo standard errors."""
    truth = result.truth["prevalence"]
    for design, runs in result.runs.groupby("design"):
        est = runs["prevalence"].to_numpy()
        mc_se = est.std(ddof=1) / np.sqrt(len(est))
        assert abs(est.mean() - truth) <= 4 * mc_se, design


def test_ratio_estimators_nearly_unbiased(result):
    table = result.table[result.table["estimand"] == "remittance_share"]
    assert (table["relative_bias_pct"].abs() < 2.0).all()


def test_variance_estimators_track_the_empirical_variance(result):
    """Mean estimated variance within 20 % of the Monte Carlo variance; where half the EAs of a
    stratum are sampled, the with-replacement (ultimate-cluster) variance is conservative."""
    heavy = {"with certainty", "two-phase with certainty"}
    for (design, estimand), _ in result.table.groupby(["design", "estimand"]):
        runs = result.runs[result.runs["design"] == design]
        emp = runs[estimand].var()
        est = (runs[f"{estimand}_se"] ** 2).mean()
        if design in heavy:
            assert est >= 0.9 * emp, (design, estimand)
        else:
            assert est == pytest.approx(emp, rel=0.2), (design, estimand)
    srs = result.table[result.table["design"] == "SRS of households"]
    assert (srs["coverage_95"] - 0.95).abs().max() < 4 * np.sqrt(0.05 * 0.95 / REPS)


def test_table_columns_and_costs(result):
    expected = {
        "design",
        "estimand",
        "truth",
        "bias",
        "empirical_se",
        "mean_estimated_se",
        "coverage_95",
        "mean_cost",
        "rare_interviews",
        "relative_var_x_cost",
    }
    assert expected <= set(result.table.columns)
    assert result.table["relative_var_x_cost"].min() == pytest.approx(1.0)
    t = result.table.set_index(["design", "estimand"])
    # oversampling the high-prevalence stratum finds more migrant households for the same EAs
    assert (
        t.loc[("disproportionate", "prevalence"), "rare_interviews"]
        > t.loc[("proportionate stratified cluster", "prevalence"), "rare_interviews"]
    )
    # two-phase screening interviews far more migrant households than a plain cluster sample
    assert (
        t.loc[("two-phase screening", "prevalence"), "rare_interviews"]
        > 2 * t.loc[("proportionate stratified cluster", "prevalence"), "rare_interviews"]
    )


def test_reproducible_and_design_streams_independent(pop):
    one = sim.simulate(pop, [sim.SrsHouseholds(n=500)], reps=50, seed=3)
    two = sim.simulate(pop, [sim.SrsHouseholds(n=500)], reps=50, seed=3)
    pd.testing.assert_frame_equal(one.runs, two.runs)
    other = sim.simulate(pop, [sim.SrsHouseholds(n=500)], reps=50, seed=4)
    assert not one.runs["prevalence"].equals(other.runs["prevalence"])


def test_progress_and_outputs(pop, tmp_path):
    seen = []
    res = sim.simulate(
        pop,
        reps=30,
        chunk=10,
        seed=1,
        progress=seen.append,
        designs=[sim.SrsHouseholds(n=300), sim.AdaptiveCluster(initial=10)],
    )
    assert sum(seen) == 60
    md = res.write(tmp_path / "t.md")
    assert md.read_text().startswith("| design | estimand |")
    csv = res.write(tmp_path / "t.csv")
    assert len(pd.read_csv(csv)) == 3 * 2  # SRS + adaptive HH + HT, two estimands
    res.plot(tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("design", "field"),
    [
        (sim.TwoPhase(sensitivity=1.3), "sensitivity"),
        (sim.TwoPhase(rate_negative=0), "rate_negative"),
        (sim.StratifiedCluster(psus=2), "psus"),
        (sim.StratifiedCluster(allocation="odd"), "allocation"),
        (sim.AdaptiveCluster(threshold=1.5), "threshold"),
        (sim.SrsHouseholds(n=10**7), "n"),
    ],
)
def test_bad_designs(pop, design, field):
    with pytest.raises(SurvmigError) as err:
        sim.simulate(pop, [design], reps=5)
    assert err.value.where == field


def test_population_without_columns():
    with pytest.raises(SurvmigError, match="no column 'ea'"):
        sim.simulate(pd.DataFrame({"x": [1]}), reps=5)


def test_plot_text_fits_and_does_not_overlap(pop):
    """Every label, tick and legend entry lies inside the figure, and no two overlap in a panel
    (the adaptive HH and HT estimators share one cost, so point labels used to collide)."""
    res = sim.simulate(
        pop,
        reps=10,
        seed=1,
        designs=[
            sim.SrsHouseholds(n=300),
            sim.StratifiedCluster(psus=30, take=10),
            sim.StratifiedCluster(psus=30, take=10, allocation="rare", name="disproportionate"),
            sim.TwoPhase(psus=20),
            sim.AdaptiveCluster(initial=10),
        ],
    )
    fig = res.plot()
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    page = fig.bbox

    def drawn_ticks(axis) -> list:
        # tick labels exist for ticks outside the view limits too; only those inside are drawn
        low, high = sorted(axis.get_view_interval())
        pairs = [
            *zip(axis.get_majorticklocs(), axis.get_majorticklabels(), strict=True),
            *zip(axis.get_minorticklocs(), axis.get_minorticklabels(), strict=True),
        ]
        return [label for at, label in pairs if low <= at <= high]

    groups = [
        [*ax.texts, *drawn_ticks(ax.xaxis), *drawn_ticks(ax.yaxis), ax.title, ax.xaxis.label]
        for ax in fig.axes
    ] + [[*legend.get_texts()] for legend in fig.legends]
    for texts in groups:
        boxes = [t.get_window_extent(renderer) for t in texts if t.get_visible() and t.get_text()]
        for box in boxes:
            assert page.x0 <= box.x0 and box.x1 <= page.x1 and page.y0 <= box.y0
            assert box.y1 <= page.y1
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not a.overlaps(b), (a, b)
