"""``survmig estimate``: design-based estimates from a data file, a thin layer over :func:`estimate`."""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from typing import Any

import click
import pandas as pd

from survmig.design import LONELY_PSU_RULES, SurveyDesign, design_from_options, load_design
from survmig.design.spec import ignored_replicate_columns
from survmig.errors import SurvmigError, SurvmigWarning
from survmig.estimation.ci import CI_METHODS
from survmig.estimation.engine import estimate as run_estimate
from survmig.estimation.output import check_output_path, print_table, write_table
from survmig.estimation.scale import (
    echo_warnings,
    needed_columns,
    one_line_spec,
    run_out_of_core,
)
from survmig.estimation.sources import ENGINES, choose_engine, read_columns, table_columns
from survmig.tableio import read_table

#: Extension point for ``--indicators``. The target is called as
#: ``fn(design, names, *, by, ci, level, na, data, design_spec) -> pandas.DataFrame`` where ``names``
#: is a list of indicator names or ``None`` for all, ``data`` the DATA path given on the command line
#: and ``design_spec`` the design file (or the one-line options as a dict). It returns a tidy table
#: with at least the columns of :data:`survmig.estimation.COLUMNS` (plus the ``by`` columns), written
#: like the command's own estimates. Unknown names must raise :class:`~survmig.errors.SurvmigError`.
#: When the user gives them, the hook also receives ``rates`` (exchange-rate CSV path),
#: ``parameters`` (dict of catalogue parameters) and ``report_dir`` (publication report folder).
INDICATORS_HOOK = "survmig.indicators:estimate_indicators"


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def parse_ratios(values: tuple[str, ...]) -> list[tuple[str, str]]:
    """``NUM/DEN`` pairs, comma separated or repeated."""
    out = []
    for text in values:
        for item in _split(text):
            parts = item.split("/")
            if len(parts) != 2 or not all(p.strip() for p in parts):
                raise SurvmigError(
                    f"a ratio is NUM/DEN, got {item!r}",
                    where="--ratio",
                    hint="e.g. --ratio remit_amount/hhsize",
                )
            out.append((parts[0].strip(), parts[1].strip()))
    return out


def parse_quantiles(values: tuple[str, ...]) -> dict[str, list[float]]:
    """``VAR:P1,P2,…`` (a token with ``:`` starts the next variable), comma separated or repeated."""
    out: dict[str, list[float]] = {}
    for text in values:
        current = None
        for item in _split(text):
            if ":" in item:
                current, item = (s.strip() for s in item.split(":", 1))
                out.setdefault(current, [])
                if not item:
                    continue
            if current is None:
                raise SurvmigError(
                    f"a quantile is VAR:P1,P2,…, got {item!r}",
                    where="--quantile",
                    hint="e.g. --quantile income:0.25,0.5,0.75",
                )
            try:
                p = float(item)
            except ValueError:
                raise SurvmigError(
                    f"quantile probability {item!r} for {current!r} is not a number",
                    where="--quantile",
                ) from None
            out[current].append(p)
    for var, probs in out.items():
        if not probs:
            raise SurvmigError(
                f"no probabilities given for quantiles of {var!r}", where="--quantile"
            )
    return out


def run_indicators(design: SurveyDesign, spec: str, **options: Any) -> pd.DataFrame:
    """Call the indicator catalogue through :data:`INDICATORS_HOOK` (``all`` = every indicator)."""
    module_name, attr = INDICATORS_HOOK.split(":")
    try:
        module = importlib.import_module(module_name)
        fn = getattr(module, attr)
    except (ImportError, AttributeError):
        raise SurvmigError(
            "migration indicators are not available in this installation",
            where="--indicators",
            hint="estimate the variables directly with --mean/--prop/--total/--ratio/--quantile",
        ) from None
    names = None if spec.strip().lower() == "all" else _split(spec)
    return fn(design, names, **options)


DATA_FORMATS = (".csv", ".parquet", ".sav", ".dta")


def _read(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    if path.is_dir():  # a survmig dataset directory (survmig data import): its household table
        from survmig.data import Dataset

        dataset = Dataset.read(path)
        return dataset.table(dataset.root)
    return read_columns(path, columns, DATA_FORMATS)


def read_design_data(path: Path, households: pd.DataFrame) -> pd.DataFrame:
    """The design columns of a weighted household file that the dataset's household table lacks.

    ``survmig weight`` writes the whole household table plus weights; only the household key and the
    new columns are kept, so the same file can be given back without clashing columns.
    """
    from survmig.data import KEY

    table = read_table(path, DATA_FORMATS)
    if KEY not in table.columns:
        raise SurvmigError(
            f"the design data has no household key column {KEY!r}",
            file=path,
            hint="weight the household table written by `survmig data import` (it has KEY)",
        )
    new = [c for c in table.columns if c not in households.columns]
    if not new:
        raise SurvmigError(
            "the design data adds no column to the household table",
            file=path,
            hint="give the output of `survmig weight` (with the weight column)",
        )
    return table[[KEY, *new]]


def parse_parameters(values: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs (numbers become numbers) for the indicator catalogue's parameters."""
    out: dict[str, Any] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SurvmigError(
                f"a parameter is KEY=VALUE, got {item!r}",
                where="--param",
                hint="e.g. --param recent_years=10 --param convert_to=EUR",
            )
        text = value.strip()
        try:
            number = float(text)
            out[key.strip()] = int(number) if number.is_integer() and "." not in text else number
        except ValueError:
            out[key.strip()] = text
    return out


@click.command("estimate")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--design",
    "design_file",
    type=click.Path(path_type=Path),
    help="design.yaml describing the sample.",
)
@click.option("--strata", help="Stratum column (one-stage design given on the command line).")
@click.option("--psu", help="PSU (cluster) column; omit for element sampling.")
@click.option("--weight", help="Sampling weight column.")
@click.option("--fpc", help="Finite population correction column (population size or fraction).")
@click.option("--nest", is_flag=True, help="PSU ids restart within strata.")
@click.option("--mean", "means", help="Variables to average, comma separated.")
@click.option("--total", "totals", help="Variables to total.")
@click.option("--prop", "props", help="Categorical variables: the share of every category.")
@click.option("--ratio", "ratios", multiple=True, help="NUM/DEN ratios, comma separated.")
@click.option("--quantile", "quantiles", multiple=True, help="VAR:P1,P2,… (Woodruff intervals).")
@click.option("--count", is_flag=True, help="Also estimate the population size of each domain.")
@click.option(
    "--indicators", help="Migration indicators NAME,… or all (from the indicator catalogue)."
)
@click.option(
    "--rates",
    type=click.Path(path_type=Path),
    help="Exchange rates for --indicators: CSV with columns currency, rate (local units per unit).",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    help="Indicator parameter KEY=VALUE (repeatable), e.g. recent_years=10, convert_to=EUR.",
)
@click.option(
    "--design-data",
    "design_data_file",
    type=click.Path(path_type=Path),
    help="With a dataset folder: the weighted household file from `survmig weight` "
    "(its new columns, e.g. weights, are joined to the households by KEY).",
)
@click.option(
    "--report",
    "report_dir",
    type=click.Path(path_type=Path),
    help="With --indicators: also write the publication report (Excel, CSV, charts, HTML) here.",
)
@click.option("--by", help="Domain variables, comma separated (estimates for every combination).")
@click.option(
    "--ci",
    type=click.Choice(CI_METHODS),
    default="t",
    show_default=True,
    help="Interval for proportions.",
)
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option(
    "--na",
    type=click.Choice(["fail", "drop"]),
    default="fail",
    show_default=True,
    help="Missing values (and -8/-9 codes) in analysis variables: fail, or drop them from the domain.",
)
@click.option(
    "--lonely-psu",
    type=click.Choice(LONELY_PSU_RULES),
    help="Rule for strata with one PSU (overrides the design).",
)
@click.option(
    "--lonely-psu-domain",
    is_flag=True,
    help="Apply the rule to strata with one PSU inside a domain.",
)
@click.option(
    "--keep-empty",
    is_flag=True,
    help="Report empty domains as rows without estimates instead of failing.",
)
@click.option("--no-deff", is_flag=True, help="Skip design effects.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output .csv, .xlsx, .json or .md (default: a table on screen).",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="auto",
    show_default=True,
    help="Where the rows are reduced: memory (pandas), duckdb (out of core: Parquet/CSV file, glob "
    "or hive folder), spark; auto picks duckdb for a glob, a Parquet folder or a file over 512 MB.",
)
@click.option(
    "--spark-master",
    help="With --engine spark: the cluster URL (spark://host:7077, yarn, local[4]); default local.",
)
def estimate_command(
    data: Path,
    design_file: Path | None,
    strata: str | None,
    psu: str | None,
    weight: str | None,
    fpc: str | None,
    nest: bool,
    means: str | None,
    totals: str | None,
    props: str | None,
    ratios: tuple[str, ...],
    quantiles: tuple[str, ...],
    count: bool,
    indicators: str | None,
    rates: Path | None,
    params: tuple[str, ...],
    design_data_file: Path | None,
    report_dir: Path | None,
    by: str | None,
    ci: str,
    level: float,
    na: str,
    lonely_psu: str | None,
    lonely_psu_domain: bool,
    keep_empty: bool,
    no_deff: bool,
    output: Path | None,
    engine: str,
    spark_master: str | None,
) -> None:
    """Design-based estimates with standard errors, confidence intervals, CV and design effects.

    DATA is CSV, Parquet, SPSS (.sav) or Stata (.dta). The design comes from --design design.yaml
    or, for a one-stage design, from --strata/--psu/--weight/--fpc (like Stata's svyset). The
    table has one row per statistic, variable, category and domain.

    \b
    Examples:
      survmig estimate survey.parquet --design design.yaml --mean migrant,remit_amount \\
          --prop sex --by region,urban --na drop -o estimates.xlsx
      survmig estimate survey.csv --strata region --psu ea --weight wt --nest \\
          --ratio remit_amount/hhsize --quantile remit_amount:0.5,0.9 --ci logit
      survmig estimate dataset/ --design design.yaml --indicators all --by region \\
          --rates rates.csv --param convert_to=EUR --report report/
      survmig estimate 'census/*.parquet' --engine duckdb --design design.yaml \\
          --mean migrant,age --by region
    """
    if output is not None:
        check_output_path(output)
    one_liner = any(v is not None for v in (strata, psu, weight, fpc)) or nest
    if design_file is not None and one_liner:
        raise SurvmigError(
            "give the design either as --design or as --strata/--psu/--weight/--fpc, not both",
            where="design",
        )
    if design_file is None and not one_liner:
        raise SurvmigError(
            "no design given",
            where="design",
            hint="use --design design.yaml or --strata/--psu/--weight",
        )
    if (rates or params or report_dir) and not indicators:
        raise SurvmigError(
            "--rates, --param and --report go with --indicators",
            where="--indicators",
            hint="add --indicators NAME,… or --indicators all",
        )
    extras: dict[str, Any] = {}
    if rates is not None:
        extras["rates"] = rates
    if params:
        extras["parameters"] = parse_parameters(params)
    if report_dir is not None:
        if report_dir.exists() and not report_dir.is_dir():
            raise SurvmigError("the report folder is a file", file=report_dir)
        extras["report_dir"] = report_dir
    if one_liner and weight is None:
        raise SurvmigError("the one-line design needs --weight", where="--weight")
    spec: Path | dict[str, Any] = design_file or one_line_spec(strata, psu, weight, fpc, nest)
    request = dict(
        mean=_split(means),
        total=_split(totals),
        prop=_split(props),
        ratio=parse_ratios(ratios),
        quantile=parse_quantiles(quantiles),
        count=count,
        by=_split(by),
        ci=ci,
        level=level,
        na=na,
        deff=not no_deff,
        empty_domains="keep" if keep_empty else "fail",
    )
    chosen = choose_engine(data, engine)
    if chosen != "memory":
        if indicators or design_data_file is not None:
            raise SurvmigError(
                "--indicators and --design-data run in memory",
                where="--engine",
                hint="use --engine memory (or estimate the variables with --mean/--prop…)",
            )
        table = run_out_of_core(
            data, spec, chosen, spark_master, lonely_psu, lonely_psu_domain, request
        )
        _write(table, output, data, f"{chosen} engine over {data}", level)
        return
    frame = _read(data, None if indicators else needed_columns(data, spec, request))
    if design_data_file is not None:
        if not data.is_dir():
            raise SurvmigError(
                "--design-data goes with a dataset folder written by `survmig data import`",
                where="--design-data",
                hint="for a single table, join the columns yourself or give the weighted file as DATA",
            )
        from survmig.data import Dataset
        from survmig.indicators.compute import with_design_data

        design_data = read_design_data(design_data_file, frame)
        joined = with_design_data(Dataset.read(data), design_data)
        frame = joined.table(joined.root)
        extras["design_data"] = design_data
    if design_file is not None:
        design = load_design(design_file, frame, data_file=data)
    else:
        try:
            design = design_from_options(
                frame, strata=strata, psu=psu, weight=weight, fpc=fpc, nest=nest
            )
        except SurvmigError as err:  # problems are in the data file: say which one
            if err.file is not None:
                raise
            raise SurvmigError(err.message, file=data, where=err.where, hint=err.hint) from None
        names = None if data.is_dir() else table_columns(data)  # the file's, not only those read
        ignored = ignored_replicate_columns(
            frame if names is None else pd.DataFrame(columns=names), weight
        )
        if ignored:
            click.echo(f"warning: {data}: {ignored}", err=True)
    options: dict[str, Any] = {}
    if lonely_psu:
        options["lonely_psu"] = lonely_psu
    if lonely_psu_domain:
        options["lonely_psu_domain"] = True
    if options and design.is_replicate:
        raise SurvmigError(
            "--lonely-psu applies to linearization designs; replicate weights carry their own treatment",
            where="--lonely-psu",
            hint="for replicates created from a design, set lonely_psu in design.yaml",
        )
    if options:
        design = design.with_options(**options)
    requested = any([means, totals, props, ratios, quantiles, count])
    if not requested and not indicators:
        raise SurvmigError(
            "nothing to estimate",
            where="estimate",
            hint="ask for --mean, --total, --prop, --ratio, --quantile or --indicators",
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SurvmigWarning)
        tables = []
        if requested:
            tables.append(run_estimate(design, **request))
        if indicators:
            tables.append(
                run_indicators(
                    design,
                    indicators,
                    by=_split(by),
                    ci=ci,
                    level=level,
                    na=na,
                    data=data,
                    design_spec=design_file
                    or {"strata": strata, "ids": psu, "weights": weight, "fpc": fpc, "nest": nest},
                    **extras,
                )
            )
    echo_warnings(caught)
    table = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    _write(table, output, data, design.describe(), level)


def _write(table: pd.DataFrame, output: Path | None, data: Path, design: str, level: float) -> None:
    if output is None:
        print_table(table)
        return
    write_table(table, output, meta={"data": str(data), "design": design, "level": level})
    click.echo(f"wrote {len(table)} estimates to {output}")


estimate = estimate_command  # the attribute survmig.cli maps ``survmig estimate`` to
