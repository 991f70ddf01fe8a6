"""The sampling commands: ``sample-size``, ``allocate`` and ``select`` (``simulate`` is in
:mod:`survmig.sampling.simulate_command`, ``plan`` in :mod:`survmig.sampling.plan_commands`).

A thin layer over :mod:`survmig.sampling`: parse options, call the Python API, print the result
with its formula and assumptions (rich), and write outputs atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.fileio import atomic_path
from survmig.sampling.results import Result, _fmt, check_seed, check_unique
from survmig.tableio import check_table_path, read_table, write_table

TABLE_SUFFIXES = (".csv", ".parquet", ".xlsx")


# --------------------------------------------------------------------------- shared helpers


def _check_output(path: Path | None, suffixes: tuple[str, ...]) -> None:
    """Refuse an unsupported output suffix before any work is done."""
    if path is not None:
        check_table_path(path, suffixes)


def show(result: Result) -> None:
    """Print a result: its steps, its table, then the formula and assumptions."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    steps = Table(title=result.title, show_header=True, header_style="bold")
    steps.add_column("quantity")
    steps.add_column("value", justify="right")
    for key, value in result.steps.items():
        steps.add_row(key, _fmt(value))
    console.print(steps)
    if result.table is not None:
        print_table(console, df_table(result.table))
    console.print(f"[bold]formula:[/bold] {result.formula}", highlight=False)
    console.print(f"[bold]assumptions:[/bold] {result.assumptions}", highlight=False)
    if result.references:
        console.print(f"[bold]references:[/bold] {result.references}", highlight=False)


def df_table(frame: pd.DataFrame, title: str | None = None):
    """A rich table of a data frame (numbers formatted for reading)."""
    from rich import box
    from rich.table import Table

    # no vertical rules: two characters between columns instead of three leaves room for values
    table = Table(
        title=title,
        header_style="bold",
        box=box.SIMPLE_HEAD,
        padding=(0, 1, 0, 0),
        show_edge=False,
        pad_edge=False,
    )
    rows = [
        [_fmt(v) if isinstance(v, float | np.floating) else str(v) for v in row]
        for row in frame.itertuples(index=False)
    ]
    for i, col in enumerate(frame.columns):
        # a narrow terminal folds headers and text; a number is never cut ("500,0…"), so its
        # column is at least as wide as its longest value
        numeric = frame[col].dtype.kind in "iuf"
        table.add_column(
            str(col),
            justify="right" if numeric else "left",
            overflow="fold",
            min_width=max((len(row[i]) for row in rows), default=None) if numeric else None,
        )
    for row in rows:
        table.add_row(*row)
    return table


def print_table(console: Any, table: Any) -> None:
    """Print a table whole: the numbers' minimum widths may make it a little wider than the
    terminal, and then the terminal wraps the line rather than rich cropping the last column."""
    console.print(table, crop=False)


def _write_json(result: Result, path: Path | None) -> None:
    if path is None:
        return
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", "utf-8")


# --------------------------------------------------------------------------- sample-size


@click.command("sample-size")
@click.option("--proportion", type=float, help="Expected proportion P to estimate.")
@click.option("--mean", "mean_", type=float, help="Expected mean (for a target CV).")
@click.option("--sd", type=float, help="Element standard deviation S (for a mean).")
@click.option(
    "--margin",
    type=float,
    help="Absolute margin of error e, half the CI width, as a share (0.05 for ±5 points).",
)
@click.option("--cv", type=float, help="Target coefficient of variation, a share (0.1 for 10 %).")
@click.option(
    "--confidence",
    type=float,
    default=0.95,
    show_default=True,
    help="Confidence level of the margin, a share (0.95 for 95 %).",
)
@click.option(
    "--population-size", type=float, help="Population size N (finite-population correction)."
)
@click.option("--deff", type=float, help="Design effect, if known.")
@click.option(
    "--cluster-size",
    type=float,
    help="Average take per cluster m̄, households per EA (deff = 1 + (m̄−1)ρ).",
)
@click.option("--icc", type=float, help="Intra-class correlation ρ in [0, 1) (0: no clustering).")
@click.option(
    "--response-rate",
    type=float,
    default=1.0,
    show_default=True,
    help="Expected interview response rate, a share in (0, 1]; the sample is divided by it.",
)
@click.option(
    "--prevalence",
    type=float,
    help="Prevalence P of the rare group among screened households, a share (0.05 for 5 %).",
)
@click.option(
    "--screener-response",
    type=float,
    default=1.0,
    show_default=True,
    help="Response rate to the screening interview r_s, a share in (0, 1].",
)
@click.option(
    "--cases", type=float, help="Completed rare-group interviews wanted (screening mode)."
)
@click.option(
    "--psu-cost", type=float, help="Cost per cluster (EA) C1, in money units (optimal-take mode)."
)
@click.option(
    "--unit-cost",
    type=float,
    help="Cost per household interviewed C2, in money units (optimal-take mode).",
)
@click.option("--screen-cost", type=float, help="Cost per household screened c_s, in money units.")
@click.option(
    "--interview-cost",
    type=float,
    help="Cost per rare-group interview c_i, in money units.",
)
@click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Also write the result as JSON."
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    help="Also draw the size against ρ, the prevalence or the margin (optimal take: variance × "
    "cost against the take per EA), as .png, .svg or .pdf.",
)
def sample_size(
    proportion: float | None,
    mean_: float | None,
    sd: float | None,
    margin: float | None,
    cv: float | None,
    confidence: float,
    population_size: float | None,
    deff: float | None,
    cluster_size: float | None,
    icc: float | None,
    response_rate: float,
    prevalence: float | None,
    screener_response: float,
    cases: float | None,
    psu_cost: float | None,
    unit_cost: float | None,
    screen_cost: float | None,
    interview_cost: float | None,
    output: Path | None,
    plot: Path | None,
) -> None:
    """Sample size for a proportion or mean (rare groups included), screening, optimal take.

    Modes: --proportion or --sd (a sample size); --cases with --prevalence (households to screen and
    cost per case); --psu-cost with --unit-cost and --icc (optimal take per cluster). Every result
    prints the formula used and its assumptions.

    \b
    Examples:
      survmig sample-size --proportion 0.05 --margin 0.01 --cluster-size 20 --icc 0.1
      survmig sample-size --proportion 0.4 --cv 0.1 --prevalence 0.05 --response-rate 0.85
      survmig sample-size --mean 250 --sd 400 --cv 0.05 --deff 2
      survmig sample-size --cases 800 --prevalence 0.04 --screen-cost 2 --interview-cost 25
      survmig sample-size --psu-cost 400 --unit-cost 20 --icc 0.05 --screen-cost 2 --prevalence 0.05
      survmig sample-size --proportion 0.3 --margin 0.05 --cluster-size 20 --icc 0.1 --plot n_icc.png
    """
    from survmig.sampling import plots, size

    _check_output(output, (".json",))
    _check_output(plot, plots.PLOT_SUFFIXES)
    if psu_cost is not None or unit_cost is not None:
        if psu_cost is None or unit_cost is None or icc is None:
            raise SurvmigError(
                "optimal take needs --psu-cost, --unit-cost and --icc", where="--icc"
            )
        result = size.optimal_cluster_take(
            psu_cost, unit_cost, icc, screen_cost=screen_cost, prevalence=prevalence
        )
        figure = lambda: plots.take_plot(psu_cost, result["C2"], icc, path=plot)  # noqa: E731
    elif cases is not None:
        if prevalence is None:
            raise SurvmigError("screening needs --prevalence", where="--prevalence")
        screen = dict(
            cases=cases,
            prevalence=prevalence,
            screener_response=screener_response,
            interview_response=response_rate,
            screen_cost=screen_cost,
            interview_cost=interview_cost,
        )
        result = size.screening(**screen)
        figure = lambda: plots.calculator_plot(size.screening, screen, plot)  # noqa: E731
    else:
        common = dict(
            margin=margin,
            cv=cv,
            confidence=confidence,
            population_size=population_size,
            deff=deff,
            cluster_size=cluster_size,
            icc=icc,
            response_rate=response_rate,
            prevalence=prevalence,
            screener_response=screener_response,
        )
        if proportion is not None:
            result = size.sample_size_proportion(proportion, **common)
            calc, fixed = size.sample_size_proportion, {"proportion": proportion}
        elif sd is not None:
            result = size.sample_size_mean(sd, mean=mean_, **common)
            calc, fixed = size.sample_size_mean, {"sd": sd, "mean": mean_}
        else:
            raise SurvmigError(
                "say what to size: --proportion, --sd (a mean), --cases (screening) or "
                "--psu-cost/--unit-cost (optimal take)",
                where="--proportion",
            )
        figure = lambda: plots.calculator_plot(calc, fixed | common, plot)  # noqa: E731
    show(result)
    click.echo(f"result: {result.value}")
    _write_json(result, output)
    if plot is not None:
        figure()
        click.echo(f"wrote the figure to {plot}")


# --------------------------------------------------------------------------- allocate


@click.command("allocate")
@click.argument("strata", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--method",
    type=click.Choice(
        ["proportional", "neyman", "optimal", "rare", "compromise", "power", "two-phase"]
    ),
    required=True,
    help="Allocation rule: proportional (n_h ∝ N_h), neyman (∝ N_h S_h), optimal (∝ N_h S_h/√c_h), "
    "rare (screening for a rare group), compromise (Kish), power (Bankier), two-phase.",
)
@click.option(
    "--n", "n", type=int, help="Total sample size, in units of the table (households or EAs)."
)
@click.option(
    "--budget", type=float, help="Total budget in money units (optimal, rare, two-phase)."
)
@click.option(
    "--fixed-cost",
    type=float,
    default=0.0,
    show_default=True,
    help="Fixed survey cost c0 taken off --budget before allocating, in money units (optimal).",
)
@click.option(
    "--target-variance",
    type=float,
    help="Target variance of the mean, squared units of the variable (optimal).",
)
@click.option(
    "--screen-cost", type=float, help="Cost per unit screened c_s, in money units (rare)."
)
@click.option(
    "--interview-cost",
    type=float,
    help="Cost per rare-group interview c_i, in money units (rare).",
)
@click.option(
    "--importance", type=float, help="Kish's I: national vs domain estimates (compromise)."
)
@click.option("--q", type=float, help="Bankier's power q in [0, 1] (power).")
@click.option(
    "--phase1-cost",
    type=float,
    help="Cost per phase-1 (screened) unit c′, in money units (two-phase).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the allocation (.csv/.parquet/.xlsx).",
)
@click.option(
    "--plot",
    type=click.Path(path_type=Path),
    help="Also draw the allocation by stratum beside the proportional one (.png, .svg, .pdf).",
)
def allocate(
    strata: Path,
    method: str,
    n: int | None,
    budget: float | None,
    fixed_cost: float,
    target_variance: float | None,
    screen_cost: float | None,
    interview_cost: float | None,
    importance: float | None,
    q: float | None,
    phase1_cost: float | None,
    output: Path | None,
    plot: Path | None,
) -> None:
    """Allocate a sample across strata from a strata table.

    The table has a column `stratum`, the stratum size `N` and what the method needs: `sd` (or
    `prevalence` for a proportion), `cost`, `prevalence` (rare), `mean` and `x` (power), or for
    two-phase one row per screening class with `share`, `sd`, `mean` and `cost`. The output has
    `stratum` and `n`, ready for `survmig select --allocation`.

    \b
    Examples:
      survmig allocate strata.csv --method neyman --n 2000
      survmig allocate strata.csv --method rare --n 6000 --screen-cost 2 --interview-cost 20 -o alloc.csv
      survmig allocate strata.csv --method optimal --budget 150000 --fixed-cost 20000
      survmig allocate classes.csv --method two-phase --budget 50000 --phase1-cost 2
      survmig allocate strata.csv --method neyman --n 2000 --plot allocation.png
    """
    from survmig.sampling.allocation import allocate as run
    from survmig.sampling.plots import PLOT_SUFFIXES, allocation_plot

    _check_output(output, TABLE_SUFFIXES)
    _check_output(plot, PLOT_SUFFIXES)
    table = read_table(strata, TABLE_SUFFIXES)
    try:
        result = run(
            table,
            method,
            n=n,
            budget=budget,
            fixed_cost=fixed_cost,
            target_variance=target_variance,
            screen_cost=screen_cost,
            interview_cost=interview_cost,
            importance=importance,
            q=q,
            phase1_cost=phase1_cost,
        )
    except SurvmigError as err:
        raise SurvmigError(err.message, file=strata, where=err.where, hint=err.hint) from None
    show(result)
    if output is not None:
        write_table(result.table, output, TABLE_SUFFIXES)
    if plot is not None:
        allocation_plot(result.table, path=plot)
        click.echo(f"wrote the figure to {plot}")


# --------------------------------------------------------------------------- select


def _parse_rates(rates: tuple[str, ...]) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in rates:
        name, sep, value = item.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name:
            raise SurvmigError(f"expected CLASS=RATE, got {item!r}", where="--rate")
    return out


@click.command("select")
@click.argument("frame", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--method",
    type=click.Choice(
        [
            "srs",
            "systematic",
            "pps",
            "cps",
            "poisson",
            "pps-wr",
            "two-stage",
            "households",
            "two-phase",
        ]
    ),
    required=True,
    help=(
        "srs; systematic (frame order); pps: PPS systematic; cps: conditional Poisson (fixed "
        "size, every joint probability positive); poisson: random size; pps-wr: with replacement "
        "(one row per hit); two-stage (PPS EAs, then households); households (stage 2 from a "
        "stage-1 sample); two-phase (subsample by class)."
    ),
)
@click.option("--n", "n", type=int, help="Sample size (per stratum when --strata is given).")
@click.option(
    "--allocation",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Table with columns stratum, n (e.g. from `survmig allocate`).",
)
@click.option("--strata", help="Stratum column of the frame.")
@click.option("--size", help="Measure-of-size column (pps, cps, poisson, pps-wr, two-stage).")
@click.option(
    "--random-order", is_flag=True, help="Randomize the frame order before PPS systematic."
)
@click.option("--psu", help="PSU id column shared by frame and listing (two-stage, households).")
@click.option(
    "--listing",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Household listing of the PSUs (two-stage).",
)
@click.option(
    "--psus",
    "psu_sample",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="First-stage sample with prob_stage1 (households).",
)
@click.option("--take", type=int, help="Households per PSU (two-stage, households).")
@click.option("--by", help="Screening-class column (two-phase).")
@click.option("--within", help="Subsample within these groups, e.g. the PSU (two-phase).")
@click.option("--rate", "rates", multiple=True, help="CLASS=RATE phase-2 rate (two-phase; repeat).")
@click.option(
    "--seed", type=int, required=True, help="Random seed (the selection is reproducible)."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="Where to write the sample (.csv/.parquet/.xlsx).",
)
def select(
    frame: Path,
    method: str,
    n: int | None,
    allocation: Path | None,
    strata: str | None,
    size: str | None,
    random_order: bool,
    psu: str | None,
    listing: Path | None,
    psu_sample: Path | None,
    take: int | None,
    by: str | None,
    within: str | None,
    rates: tuple[str, ...],
    seed: int,
    output: Path,
) -> None:
    """Select a sample from a frame, with inclusion probabilities per stage.

    The output keeps the frame's columns and adds prob_stage1 (and prob_stage2 for households in
    PSUs, prob_phase2 for a second phase), the overall prob and weight = 1/prob.

    \b
    Examples:
      survmig select frame.csv --method pps --strata stratum --size households --allocation alloc.csv --seed 7 -o eas.csv
      survmig select frame.csv --method two-stage --strata stratum --size households --n 10 \\
          --psu ea --listing listing.csv --take 20 --seed 7 -o households.csv
      survmig select listing.csv --method households --psus eas.csv --psu ea --take 20 --seed 8 -o hh.csv
      survmig select phase1.csv --method two-phase --by screener --within ea \\
          --rate migrant=1 --rate none=0.1 --seed 9 -o phase2.csv
    """
    from survmig.sampling import selection as sel

    _check_output(output, TABLE_SUFFIXES)
    check_seed(seed)
    data = read_table(frame, TABLE_SUFFIXES)
    sizes: object = n
    if method in ("srs", "systematic", "pps", "cps", "poisson", "pps-wr", "two-stage"):
        if (n is None) == (allocation is None):
            raise SurvmigError("give exactly one of --n or --allocation", where="--n")
        if allocation is not None:
            sizes = read_table(allocation, TABLE_SUFFIXES)
            if "stratum" in sizes.columns:
                try:
                    check_unique(sizes["stratum"].astype(str), "stratum")
                except SurvmigError as err:
                    raise SurvmigError(
                        err.message, file=allocation, where=err.where, hint=err.hint
                    ) from None
            if strata is None:
                raise SurvmigError("an allocation needs --strata", where="--strata")
    try:
        if method == "srs":
            sample = sel.select_srs(data, sizes, strata=strata, seed=seed)
        elif method == "systematic":
            sample = sel.select_systematic(data, sizes, strata=strata, seed=seed)
        elif method == "pps":
            sample = sel.select_pps(
                data,
                sizes,
                _need(size, "--size"),
                strata=strata,
                seed=seed,
                random_order=random_order,
            )
        elif method in ("cps", "poisson", "pps-wr"):
            from survmig.sampling.unequal import select_unequal

            sample = select_unequal(
                data, sizes, _need(size, "--size"), method, strata=strata, seed=seed
            )
        elif method == "two-stage":
            sample = sel.select_two_stage(
                data,
                read_table(Path(_need(listing, "--listing")), TABLE_SUFFIXES),
                sizes,
                _need(take, "--take"),
                psu=_need(psu, "--psu"),
                size=_need(size, "--size"),
                strata=strata,
                seed=seed,
            )
        elif method == "households":
            sample = sel.select_households(
                data,
                read_table(Path(_need(psu_sample, "--psus")), TABLE_SUFFIXES),
                _need(take, "--take"),
                psu=_need(psu, "--psu"),
                seed=seed,
            )
        else:
            if not rates:
                raise SurvmigError("give a --rate CLASS=RATE for every class", where="--rate")
            sample = sel.select_two_phase(
                data, _parse_rates(rates), by=_need(by, "--by"), within=within, seed=seed
            )
    except SurvmigError as err:
        if err.file is None:
            raise SurvmigError(err.message, file=frame, where=err.where, hint=err.hint) from None
        raise
    write_table(sample, output, TABLE_SUFFIXES)
    # two-stage and households methods select listed households, not rows of the area frame
    source = "listed households" if method in ("two-stage", "households") else "frame rows"
    click.echo(
        f"selected {len(sample)} {source} ({method}, seed {seed}; the frame has {len(data)} "
        f"rows); sum of weights {sample['weight'].sum():,.1f}; wrote {output}"
    )


def _need(value, option: str):
    if value is None:
        raise SurvmigError("is required for this method", where=option)
    return value
