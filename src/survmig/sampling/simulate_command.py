"""The ``simulate`` command: five designs for a rare population compared on one synthetic
population (a thin layer over :mod:`survmig.sampling.simulate`)."""

from __future__ import annotations

from pathlib import Path

import click

from survmig.sampling.commands import _check_output, df_table, print_table
from survmig.sampling.results import check_seed


@click.command("simulate")
@click.option(
    "--households",
    type=int,
    default=200_000,
    show_default=True,
    help="Households in the synthetic population.",
)
@click.option(
    "--strata",
    "n_strata",
    type=int,
    default=3,
    show_default=True,
    help="Number of strata (census-prevalence classes) in the population.",
)
@click.option(
    "--prevalence", type=float, default=0.05, show_default=True, help="Share of migrant households."
)
@click.option(
    "--ea-size", type=float, default=200.0, show_default=True, help="Mean EA size, in households."
)
@click.option(
    "--clustering",
    type=float,
    default=3.0,
    show_default=True,
    help="Strength of migration hot spots (0 = none).",
)
@click.option(
    "--population-seed",
    type=int,
    default=1,
    show_default=True,
    help="Random seed of the synthetic population (same seed, same population).",
)
@click.option(
    "--reps",
    type=int,
    default=1000,
    show_default=True,
    help="Samples drawn per design (repetitions).",
)
@click.option(
    "--seed",
    type=int,
    default=2,
    show_default=True,
    help="Random seed of the sample draws (same seed, same table).",
)
@click.option("--srs-n", type=int, default=3000, show_default=True, help="SRS: households.")
@click.option("--psus", type=int, default=150, show_default=True, help="Cluster designs: EAs.")
@click.option(
    "--take", type=int, default=20, show_default=True, help="Cluster designs: households per EA."
)
@click.option(
    "--phase1-psus", type=int, default=100, show_default=True, help="Two-phase: EAs listed."
)
@click.option(
    "--rate-negative",
    type=float,
    default=0.05,
    show_default=True,
    help="Two-phase: subsampling rate of screened-negative households.",
)
@click.option(
    "--sensitivity",
    type=float,
    default=0.9,
    show_default=True,
    help="Two-phase: share of migrant households the screener finds, in (0, 1].",
)
@click.option(
    "--specificity",
    type=float,
    default=0.97,
    show_default=True,
    help="Two-phase: share of other households the screener classes as negative, in (0, 1].",
)
@click.option(
    "--acs-initial", type=int, default=40, show_default=True, help="Adaptive: initial EAs."
)
@click.option(
    "--acs-threshold",
    type=float,
    default=0.15,
    show_default=True,
    help="Adaptive: EA migrant share that triggers adding the neighbours.",
)
@click.option(
    "--cost-psu",
    type=float,
    default=400.0,
    show_default=True,
    help="Cost per EA visited (travel, supervision), in money units.",
)
@click.option(
    "--cost-listing",
    type=float,
    default=1.0,
    show_default=True,
    help="Cost per household listed, in money units.",
)
@click.option(
    "--cost-screen",
    type=float,
    default=3.0,
    show_default=True,
    help="Cost per household screened, in money units.",
)
@click.option(
    "--cost-interview",
    type=float,
    default=15.0,
    show_default=True,
    help="Cost per household interviewed (full questionnaire), in money units.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Write the table (.csv or .md)."
)
@click.option("--plot", type=click.Path(path_type=Path), help="Write the figure (.png).")
def simulate(
    households: int,
    n_strata: int,
    prevalence: float,
    ea_size: float,
    clustering: float,
    population_seed: int,
    reps: int,
    seed: int,
    srs_n: int,
    psus: int,
    take: int,
    phase1_psus: int,
    rate_negative: float,
    sensitivity: float,
    specificity: float,
    acs_initial: int,
    acs_threshold: float,
    cost_psu: float,
    cost_listing: float,
    cost_screen: float,
    cost_interview: float,
    output: Path | None,
    plot: Path | None,
) -> None:
    """Compare five designs for a rare population by simulation on one synthetic population.

    SRS of households, proportionate and disproportionate stratified cluster samples, two-phase
    screening (with screener errors) and adaptive cluster sampling, each repeated --reps times:
    bias, empirical SE, mean estimated SE, CI coverage, cost and rare-group interviews.

    \b
    Examples:
      survmig simulate --households 1000000 --reps 1000 -o designs.md --plot designs.png
      survmig simulate --prevalence 0.02 --clustering 4 --rate-negative 0.1 -o designs.csv
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from survmig.sampling import simulate as sim
    from survmig.sampling.population import synthetic_population

    _check_output(output, (".csv", ".md"))
    _check_output(plot, (".png",))
    check_seed(seed)
    check_seed(population_seed, "--population-seed")
    costs = sim.CostModel(cost_psu, cost_listing, cost_screen, cost_interview)
    designs = [
        sim.SrsHouseholds(n=srs_n),
        sim.StratifiedCluster(psus=psus, take=take),
        sim.StratifiedCluster(
            psus=psus, take=take, allocation="rare", name="disproportionate stratified cluster"
        ),
        sim.TwoPhase(
            psus=phase1_psus,
            rate_negative=rate_negative,
            sensitivity=sensitivity,
            specificity=specificity,
        ),
        sim.AdaptiveCluster(initial=acs_initial, threshold=acs_threshold),
    ]
    population = synthetic_population(
        households,
        n_strata,
        prevalence=prevalence,
        mean_ea_size=ea_size,
        clustering=clustering,
        seed=population_seed,
    )
    err = Console(stderr=True)
    # The bar only on a terminal: captured output (logs, CI) gets no bar and no stray blank line
    # before an error raised while it runs, so an error stays one line.
    bar = Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with bar:
        task = bar.add_task("designs", total=reps * len(designs))
        result = sim.simulate(
            population,
            designs,
            reps=reps,
            costs=costs,
            seed=seed,
            progress=lambda k: bar.advance(task, k),
        )
    shown = result.table[
        [
            "design",
            "estimand",
            "bias",
            "empirical_se",
            "mean_estimated_se",
            "coverage_95",
            "mean_cost",
            "rare_interviews",
            "relative_var_x_cost",
        ]
    ]
    out = Console()
    if not out.is_terminal:  # a pipe or a file: do not squeeze the table into 80 columns
        out = Console(width=180)
    print_table(
        out, df_table(shown, title=f"{reps} samples of each design on {households:,} households")
    )
    click.echo(
        f"truth: prevalence {result.truth['prevalence']:.4f}, "
        f"remittance share {result.truth['remittance_share']:.4f}"
    )
    click.echo(f"formula: {result.formula}")
    click.echo(f"assumptions: {result.assumptions}")
    if output is not None:
        result.write(output)
    if plot is not None:
        result.plot(plot)
