"""``survmig plan``: the planner's calculators beyond a single sample size.

Cluster optima (PracTools ``clusOpt2``/``clusOpt3``), variance components measured on a frame
(``BW2stagePPS``/``BW2stageSRS``), domain, small-prevalence and difference sizes, joint inclusion
probabilities and composite measures of size. A thin layer over :mod:`survmig.sampling.clusters`,
:mod:`survmig.sampling.precision` and :mod:`survmig.sampling.unequal`; every result prints its
formula and assumptions like the other calculators.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click
import numpy as np
import pandas as pd

from survmig.errors import SurvmigError
from survmig.sampling.commands import TABLE_SUFFIXES, _check_output, _write_json, show
from survmig.tableio import read_table, write_table

_JSON = click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Also write the result as JSON."
)


@click.group("plan")
def plan() -> None:
    """Plan a design: cluster optima, variance components, domain and power sizes, joint π.

    \b
    Examples:
      survmig plan cluster --psu-cost 750 --unit-cost 100 --delta 0.05 --unit-relvar 1 --budget 100000
      survmig plan components frame.csv --y migrant --psu ea --size households
      survmig plan difference --p1 0.30 --p2 0.22 --power 0.8 --deff 1.8
      survmig plan joint eas.csv --size households --n 10 --design cps -o joint.csv
    """


@plan.command("cluster")
@click.option(
    "--psu-cost", type=float, required=True, help="Cost per PSU (EA) C1: travel, listing."
)
@click.option("--unit-cost", type=float, required=True, help="Cost per interview C2 within a PSU.")
@click.option("--delta", type=float, required=True, help="Measure of homogeneity δ (ICC), 0–1.")
@click.option(
    "--unit-relvar",
    type=float,
    required=True,
    help="Unit relvariance S²/Ȳ²; (1−P)/P for a share P.",
)
@click.option("--k", type=float, default=1.0, show_default=True, help="Ratio (B²+W²)/unit relvar.")
@click.option("--budget", type=float, help="Variable budget, without fixed costs (gives the CV).")
@click.option("--cv", type=float, help="Target CV of the estimated total (gives the cost).")
@_JSON
def cluster(psu_cost, unit_cost, delta, unit_relvar, k, budget, cv, output) -> None:
    """The optimal two-stage design: take per PSU, number of PSUs and the CV (or cost) reached.

    Prints the optimum and a table of whole takes around it with the PSUs each buys.

    \b
    Example:
      survmig plan cluster --psu-cost 750 --unit-cost 100 --delta 0.05 --unit-relvar 1 --budget 100000
    """
    from survmig.sampling.clusters import cluster_optimum

    _check_output(output, (".json",))
    result = cluster_optimum(psu_cost, unit_cost, delta, unit_relvar, k=k, budget=budget, cv=cv)
    show(result)
    _write_json(result, output)


@plan.command("cluster3")
@click.option(
    "--costs",
    required=True,
    help="Costs per PSU, per SSU and per element: C1,C2,C3 (e.g. 500,100,120).",
)
@click.option("--delta1", type=float, required=True, help="Homogeneity between PSUs δ1, 0–1.")
@click.option(
    "--delta2", type=float, required=True, help="Homogeneity between SSUs within PSUs δ2."
)
@click.option("--unit-relvar", type=float, required=True, help="Unit relvariance S²/Ȳ².")
@click.option(
    "--k1", type=float, default=1.0, show_default=True, help="PSU-stage variance ratio k1."
)
@click.option(
    "--k2", type=float, default=1.0, show_default=True, help="SSU-stage variance ratio k2."
)
@click.option("--budget", type=float, help="Variable budget, without fixed costs (gives the CV).")
@click.option("--cv", type=float, help="Target CV of the estimated total (gives the cost).")
@_JSON
def cluster3(costs, delta1, delta2, unit_relvar, k1, k2, budget, cv, output) -> None:
    """The optimal three-stage design (EAs, segments, households).

    \b
    Example:
      survmig plan cluster3 --costs 500,100,120 --delta1 0.01 --delta2 0.1 --unit-relvar 1 --budget 100000
    """
    from survmig.sampling.clusters import cluster_optimum_3stage

    _check_output(output, (".json",))
    values = _numbers(costs, "--costs")
    if len(values) != 3:
        raise SurvmigError(f"needs three costs C1,C2,C3, got {len(values)}", where="--costs")
    result = cluster_optimum_3stage(
        tuple(values), delta1, delta2, unit_relvar, k1=k1, k2=k2, budget=budget, cv=cv
    )
    show(result)
    _write_json(result, output)


@plan.command("components")
@click.argument("frame", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--y",
    "y",
    required=True,
    help="The variable: a numeric column, or COLUMN=VALUE for the 0/1 indicator of a category.",
)
@click.option("--psu", required=True, help="PSU (EA) id column.")
@click.option("--size", help="Measure of size of each row's PSU (PPS); without it PSUs are SRS.")
@click.option(
    "--lonely",
    type=click.Choice(["mean", "zero"]),
    default="mean",
    show_default=True,
    help="What a one-element PSU adds to W²: the other PSUs' mean variance, or zero.",
)
@_JSON
def components(frame, y, psu, size, lonely, output) -> None:
    """Variance components B², W², k and δ of a two-stage design, measured on a frame.

    A census frame (one row per household, with its EA and a migrant indicator) gives the δ that
    `plan cluster` and `sample-size --icc` need, instead of a guess.

    \b
    Example:
      survmig plan components census_households.csv --y migrant --psu ea --size ea_households
      survmig plan components listing.csv --y screener=migrant --psu ea
    """
    from survmig.sampling.clusters import variance_components

    _check_output(output, (".json",))
    data = read_table(frame, TABLE_SUFFIXES)
    with _in_file(frame):
        column, is_category, value = y.partition("=")
        if is_category:
            if column not in data.columns:
                raise SurvmigError(f"no column {column!r} in the frame", where="--y")
            found = data[column].astype(str) == value
            if not found.any():
                raise SurvmigError(f"no row has {column} = {value!r}", where="--y")
            data = data.assign(**{y: found.astype(float)})
        result = variance_components(data, y, psu, size=size, lonely=lonely)

    show(result)
    _write_json(result, output)


@plan.command("domain")
@click.option(
    "--share", type=float, required=True, help="The domain's share of the population P_d."
)
@click.option("--cv", type=float, required=True, help="Target CV of the domain estimate.")
@click.option(
    "--estimate",
    type=click.Choice(["total", "mean"]),
    default="total",
    show_default=True,
    help="A domain total (count or sum) or a domain mean.",
)
@click.option(
    "--unit-cv", type=float, help="Unit CV of the variable in the domain (0 for a count)."
)
@click.option("--mean", "mean_", type=float, help="Mean of the variable in the domain (with --sd).")
@click.option("--sd", type=float, help="Standard deviation in the domain (with --mean).")
@click.option(
    "--population-size", type=float, help="Population size N (finite-population correction)."
)
@_JSON
def domain(share, cv, estimate, unit_cv, mean_, sd, population_size, output) -> None:
    """Sample size (from the whole population) for a domain total or mean to reach a CV.

    \b
    Examples:
      survmig plan domain --share 0.06 --cv 0.1                      # the number of migrant households
      survmig plan domain --share 0.06 --cv 0.1 --mean 900 --sd 1500 # their total remittances
    """
    from survmig.sampling.precision import domain_size

    _check_output(output, (".json",))
    result = domain_size(
        share,
        cv,
        estimate=estimate,
        unit_cv=unit_cv,
        mean=mean_,
        sd=sd,
        population_size=population_size,
    )
    show(result)
    _write_json(result, output)


@plan.command("proportion")
@click.option("--proportion", type=float, required=True, help="Expected proportion P, e.g. 0.03.")
@click.option(
    "--margin", type=float, required=True, help="Half-width of the interval (0.01 = 1 point)."
)
@click.option(
    "--method",
    type=click.Choice(["wilson", "log-odds"]),
    default="wilson",
    show_default=True,
    help="The interval the size is for (both stay inside 0–1 for small P).",
)
@click.option("--relative", is_flag=True, help="Read --margin as a share of P (0.3 = ±30 % of P).")
@click.option("--confidence", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option("--population-size", type=float, help="Population size N (log-odds only).")
@_JSON
def proportion(proportion, margin, method, relative, confidence, population_size, output) -> None:
    """Sample size for a small proportion by the Wilson or log-odds interval.

    \b
    Example:
      survmig plan proportion --proportion 0.03 --margin 0.01 --method log-odds
    """
    from survmig.sampling.precision import proportion_size_interval

    _check_output(output, (".json",))
    result = proportion_size_interval(
        proportion,
        margin,
        method=method,
        relative=relative,
        confidence=confidence,
        population_size=population_size,
    )
    show(result)
    _write_json(result, output)


@plan.command("difference")
@click.option("--p1", type=float, help="Proportion in group 1 (or round 1).")
@click.option("--p2", type=float, help="Proportion in group 2 (or round 2).")
@click.option("--difference", type=float, help="Difference of means to detect (with --sd1).")
@click.option("--sd1", type=float, help="Unit standard deviation in group 1 (means).")
@click.option("--sd2", type=float, help="Unit standard deviation in group 2 (default: --sd1).")
@click.option(
    "--overlap",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of units in both samples γ (a panel).",
)
@click.option(
    "--p-both", type=float, help="Share with the trait in both rounds (proportions, overlap > 0)."
)
@click.option(
    "--correlation",
    type=float,
    default=0.0,
    show_default=True,
    help="Unit correlation between rounds ρ (means).",
)
@click.option("--ratio", type=float, default=1.0, show_default=True, help="n1/n2.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Significance level.")
@click.option(
    "--power", type=float, default=0.8, show_default=True, help="Power to detect the difference."
)
@click.option(
    "--sided",
    type=click.Choice(["two", "one"]),
    default="two",
    show_default=True,
    help="Test sides.",
)
@click.option(
    "--deff", type=float, default=1.0, show_default=True, help="Design effect of each estimate."
)
@_JSON
def difference(
    p1,
    p2,
    difference,
    sd1,
    sd2,
    overlap,
    p_both,
    correlation,
    ratio,
    alpha,
    power,
    sided,
    deff,
    output,
) -> None:
    """Sizes to detect a difference between two groups (migrant vs other households) or two rounds.

    \b
    Examples:
      survmig plan difference --p1 0.30 --p2 0.22 --deff 1.8
      survmig plan difference --p1 0.5 --p2 0.55 --overlap 0.5 --p-both 0.45 --sided one
      survmig plan difference --difference 50 --sd1 400 --power 0.9
    """
    from survmig.sampling import precision

    _check_output(output, (".json",))
    common = dict(ratio=ratio, alpha=alpha, power=power, sided=sided, deff=deff, overlap=overlap)
    if p1 is not None or p2 is not None:
        if p1 is None or p2 is None or difference is not None:
            raise SurvmigError(
                "give --p1 and --p2 (proportions) or --difference with --sd1", where="--p1"
            )
        result = precision.difference_size_proportions(p1, p2, p_both=p_both, **common)
    elif difference is not None:
        if sd1 is None:
            raise SurvmigError("a difference of means needs --sd1", where="--sd1")
        result = precision.difference_size_means(
            difference, sd1, sd2, correlation=correlation, **common
        )
    else:
        raise SurvmigError("give --p1 and --p2, or --difference with --sd1", where="--p1")
    show(result)
    _write_json(result, output)


@plan.command("joint")
@click.argument("frame", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--prob", help="Column of first-order inclusion probabilities (summing to n).")
@click.option("--size", help="Measure-of-size column (with --n): π = n·x/X, certainty units at 1.")
@click.option("--n", "n", type=int, help="Sample size (with --size).")
@click.option(
    "--design",
    type=click.Choice(["systematic", "cps", "poisson", "pps-wr"]),
    required=True,
    help="PPS systematic in frame order, conditional Poisson (maximum entropy) or Poisson.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the N × N matrix (.csv/.parquet/.xlsx).",
)
def joint(frame, prob, size, n, design, output) -> None:
    """Joint inclusion probabilities π_kl of a PSU design (for HT and Sen-Yates-Grundy variances).

    PPS systematic has zero pairs (no unbiased variance estimator); conditional Poisson has none.

    \b
    Example:
      survmig plan joint eas.csv --size households --n 10 --design cps -o joint.csv
    """
    from survmig.sampling import unequal
    from survmig.sampling.selection import _measure_of_size, pps_probabilities

    _check_output(output, TABLE_SUFFIXES)
    data = read_table(frame, TABLE_SUFFIXES)
    with _in_file(frame):
        if (prob is None) == (size is None):
            raise SurvmigError("give --prob, or --size with --n", where="--prob")
        if prob is not None:
            if prob not in data.columns:
                raise SurvmigError(f"no column {prob!r}", where="--prob")
            pik = pd.to_numeric(data[prob], errors="coerce").to_numpy(float)
        else:
            if n is None:
                raise SurvmigError("--size needs --n", where="--n")
            mos = _measure_of_size(data, size)
            pik, _ = pps_probabilities(mos, np.zeros(len(data), dtype=int), np.array([n]))
        matrix = unequal.joint_inclusion(pik, design)

    show(unequal.design_summary(pik, matrix))
    if output is not None:
        write_table(
            pd.DataFrame(matrix, columns=[f"unit_{i + 1}" for i in range(len(pik))]),
            output,
            TABLE_SUFFIXES,
        )
        click.echo(f"wrote {output}")


@plan.command("composite-mos")
@click.argument("frame", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--psu", required=True, help="PSU id column (one row per PSU).")
@click.option(
    "--domain",
    "domains",
    multiple=True,
    required=True,
    help="COLUMN=N: a domain count column and the interviews it needs (repeat).",
)
@click.option(
    "--response", "responses", multiple=True, help="COLUMN=RATE expected response (repeat)."
)
@click.option("--psus", "n_psus", type=int, required=True, help="Number of PSUs to select.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the PSU table (.csv/.parquet/.xlsx).",
)
def composite_mos(frame, psu, domains, responses, n_psus, output) -> None:
    """A composite measure of size for several rare domains (Folsom, Potter & Williams).

    \b
    Example:
      survmig plan composite-mos eas.csv --psu ea --domain emigrant_hh=400 --domain return_hh=300 \\
          --domain other_hh=600 --psus 60 -o eas_mos.csv
    """
    from survmig.sampling.clusters import composite_mos as compute

    _check_output(output, TABLE_SUFFIXES)
    data = read_table(frame, TABLE_SUFFIXES)
    with _in_file(frame):
        result = compute(
            data,
            psu,
            _pairs(domains, "--domain"),
            n_psus,
            response_rates=_pairs(responses, "--response"),
        )

    show(result)
    if output is not None:
        write_table(result.table, output, TABLE_SUFFIXES)
        click.echo(f"wrote {output}")


@contextlib.contextmanager
def _in_file(frame: Path) -> Iterator[None]:
    """Errors about the frame's contents name the frame file."""
    try:
        yield
    except SurvmigError as err:
        if err.file is not None:
            raise
        raise SurvmigError(err.message, file=frame, where=err.where, hint=err.hint) from None


def _numbers(text: str, option: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise SurvmigError(
            f"must be numbers separated by commas, got {text!r}", where=option
        ) from None


def _pairs(items: tuple[str, ...], option: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SurvmigError(f"must be COLUMN=NUMBER, got {item!r}", where=option)
        if name in out:
            raise SurvmigError(f"{name!r} is given twice", where=option)
        try:
            out[name] = float(value)
        except ValueError:
            raise SurvmigError(f"must be COLUMN=NUMBER, got {item!r}", where=option) from None
    return out
