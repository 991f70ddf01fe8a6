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
from survmig.estimation.margins import breakdowns_of, estimate_margins, with_national
from survmig.estimation.notes import variance_basis, written_design_beside
from survmig.estimation.output import check_output_path, print_table, write_table
from survmig.estimation.publish import for_output, refuse_thresholds_with_compare
from survmig.estimation.scale import needed_columns, one_line_spec, run_out_of_core
from survmig.estimation.sources import ENGINES, choose_engine, read_columns, table_columns
from survmig.fileio import check_output_dir
from survmig.report.options import collect, report_options
from survmig.tableio import read_table

#: Extension point for ``--indicators``. The target is called as
#: ``fn(design, names, *, by, ci, level, na, data, design_spec) -> pandas.DataFrame`` where ``names``
#: is a list of indicator names or ``None`` for all, ``data`` the DATA path given on the command line
#: and ``design_spec`` the design file (or the one-line options as a dict). It returns a tidy table
#: with at least the columns of :data:`survmig.estimation.COLUMNS` (plus the ``by`` columns), written
#: like the command's own estimates. Unknown names must raise :class:`~survmig.errors.SurvmigError`.
#: When the user gives them, the hook also receives ``rates`` (exchange-rate CSV path),
#: ``parameters`` (dict of catalogue parameters) and ``report_dir`` (publication report folder).
#: With repeated ``--by`` it receives ``margins`` (a list of breakdowns, ``[]`` = national) instead
#: of ``by``.
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
    return read_columns(path, columns, DATA_FORMATS)  # only the columns the request needs


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
    dup = table[KEY].duplicated(keep=False) & table[KEY].notna()
    if dup.any():
        rows = (dup.to_numpy().nonzero()[0] + 1).tolist()
        raise SurvmigError(
            f"household {table[KEY][dup].iloc[0]!s} is on rows {rows[0]} and {rows[1]}: "
            "which copy's weight applies is unknown",
            file=path,
            where=KEY,
            hint="give each household once (drop the duplicate rows)",
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


def check_design_options(
    design_file: Path | None,
    strata: str | None,
    psu: str | None,
    weight: str | None,
    fpc: str | None,
    nest: bool,
) -> bool:
    """The design is --design or the one-line options, not both, not neither; returns whether it
    is the one-liner (checked before any data is read)."""
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
    if one_liner and weight is None:
        raise SurvmigError("the one-line design needs --weight", where="--weight")
    return one_liner


def cli_design(
    frame: pd.DataFrame,
    data: Path,
    design_file: Path | None,
    strata: str | None,
    psu: str | None,
    weight: str | None,
    fpc: str | None,
    nest: bool,
) -> SurveyDesign:
    """The design of a command line (``--design`` or ``--strata/--psu/--weight/--fpc/--nest``);
    errors in the data's values name the data file."""
    if design_file is not None:
        return load_design(design_file, frame, data_file=data)
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
    return design


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
@click.option(
    "--by",
    multiple=True,
    help="Domain variables: comma separated for their crossing (region,sex); repeat for separate "
    "breakdowns (--by region --by sex), which come with the national row.",
)
@click.option(
    "--compare",
    "compare_var",
    help="Compare the groups of this variable: estimates for each group, and each group's "
    "difference and ratio to the reference group with SE, CI and t test (within each --by domain).",
)
@click.option(
    "--reference",
    help="With --compare: the reference group (default: the first value).",
)
@click.option(
    "--contrast",
    type=click.Choice(["difference", "ratio", "both"]),
    default="both",
    show_default=True,
    help="With --compare: differences, ratios or both.",
)
@click.option(
    "--national/--no-national",
    default=None,
    help="Add (or leave out) the whole-population rows; default: with repeated --by only.",
)
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
    "--df",
    "df_rule",
    type=click.Choice(["design", "domain"]),
    default="design",
    show_default=True,
    help="Degrees of freedom of the intervals: the whole design's, or each domain's own "
    "(its PSUs minus its strata, as R svyby's subset designs).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Output .csv, .xlsx, .json or .md (default: a table on screen).",
)
@click.option(
    "--spreadsheet-safe",
    is_flag=True,
    help="CSV for spreadsheets: text starting with = + - @ gets a leading ' (OWASP), so it cannot "
    "run as a formula in Excel/LibreOffice (Excel output is always safe: text stays text).",
)
@click.option(
    "--all-columns",
    is_flag=True,
    help="On screen: every column (deff, weighted n, df…), not only estimate, SE, CI, CV, n.",
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
@report_options
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
    by: tuple[str, ...],
    compare_var: str | None,
    reference: str | None,
    contrast: str,
    national: bool | None,
    ci: str,
    level: float,
    na: str,
    lonely_psu: str | None,
    lonely_psu_domain: bool,
    keep_empty: bool,
    no_deff: bool,
    df_rule: str,
    output: Path | None,
    spreadsheet_safe: bool,
    all_columns: bool,
    engine: str,
    spark_master: str | None,
    **report_kw: Any,
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
      survmig estimate weighted.csv --design weighted.design.yaml --mean migrant \\
          --by region --by sex          # national, by region and by sex
      survmig estimate weighted.csv --design weighted.design.yaml --mean income \\
          --compare migrant --by region # migrants vs others, difference with SE and test
      survmig estimate dataset/ --design design.yaml --indicators all --by region \\
          --rates rates.csv --param convert_to=EUR --report report/ --lang fr \\
          --agency "Institut national de la statistique" --min-n 50
      survmig estimate 'census/*.parquet' --engine duckdb --design design.yaml \\
          --mean migrant,age --by region   # out of core: the rows never reach Python
    """
    publish = collect(report_kw)
    inputs = tuple(p for p in (data, design_file, design_data_file, rates) if p is not None)
    if output is not None:
        check_output_path(output, inputs)
    if report_dir is not None:
        check_output_dir(report_dir, inputs)
    check_design_options(design_file, strata, psu, weight, fpc, nest)
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
        extras["report_dir"] = report_dir
        extras["report_options"] = publish
    request = dict(
        mean=_split(means), total=_split(totals), prop=_split(props), ratio=parse_ratios(ratios),
        quantile=parse_quantiles(quantiles), count=count, ci=ci, level=level, na=na,
        deff=not no_deff, empty_domains="keep" if keep_empty else "fail",
    )  # fmt: skip
    spec = design_file or one_line_spec(strata, psu, weight, fpc, nest)
    groups = [c for b in breakdowns_of(list(by)) for c in b] + (
        [compare_var] if compare_var else []
    )
    chosen = choose_engine(data, engine)
    if chosen != "memory":
        table = run_out_of_core(
            data, spec, chosen, spark_master, lonely_psu, lonely_psu_domain, request,
            by=list(by), others=(indicators, design_data_file, compare_var), national=national,
        )  # fmt: skip
        if output is None:
            print_table(table, all_columns=all_columns, level=level)
        else:
            meta = {"data": str(data), "design": f"{chosen} engine", "level": level}
            table = for_output(table, publish)
            write_table(table, output, meta=meta, spreadsheet_safe=spreadsheet_safe)
            click.echo(f"wrote {len(table)} estimates to {output}")
        return
    frame = _read(
        data, None if indicators else needed_columns(data, spec, {**request, "by": groups})
    )
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
    design = cli_design(frame, data, design_file, strata, psu, weight, fpc, nest)
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
    breakdowns = breakdowns_of(list(by))
    if compare_var is None and reference is not None:
        raise SurvmigError("--reference goes with --compare", where="--reference")
    if compare_var is not None:
        refuse_thresholds_with_compare()
        indicator_call = None
        if indicators:

            def indicator_call(**kw: Any) -> pd.DataFrame:
                return run_indicators(
                    design, indicators, ci=ci, level=level, na=na, data=data,
                    design_spec=design_file or {"strata": strata, "ids": psu, "weights": weight,
                                                "fpc": fpc, "nest": nest},
                    **extras, **kw,
                )  # fmt: skip

        return _compare_command(
            design, compare_var, breakdowns, reference, contrast, indicator_call,
            dict(mean=_split(means), total=_split(totals), prop=_split(props),
                 ratio=parse_ratios(ratios), count=count, level=level, na=na, ci=ci,
                 deff=not no_deff, empty_domains="keep" if keep_empty else "fail",
                 quantile=parse_quantiles(quantiles), df=df_rule),
            output, {"data": str(data), "design": design.describe(), "level": level},
        )  # fmt: skip
    todo = with_national(breakdowns, national)
    margins = len(todo) > 1
    single = breakdowns[0] if breakdowns and not margins else []
    by_option: dict[str, Any] = {"by": todo} if margins else {"by": single}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SurvmigWarning)
        tables = []
        if requested:
            tables.append(
                (estimate_margins if margins else run_estimate)(
                    design,
                    **({"national": False} if margins else {}),
                    mean=_split(means),
                    total=_split(totals),
                    prop=_split(props),
                    ratio=parse_ratios(ratios),
                    quantile=parse_quantiles(quantiles),
                    count=count,
                    **by_option,
                    ci=ci,
                    level=level,
                    na=na,
                    deff=not no_deff,
                    empty_domains="keep" if keep_empty else "fail",
                    df=df_rule,
                )
            )
        if indicators:
            tables.append(
                run_indicators(
                    design,
                    indicators,
                    **({"margins": todo} if margins else {"by": single}),
                    ci=ci,
                    level=level,
                    na=na,
                    data=data,
                    design_spec=design_file
                    or {"strata": strata, "ids": psu, "weights": weight, "fpc": fpc, "nest": nest},
                    **extras,
                )
            )
    for w in caught:
        if issubclass(w.category, SurvmigWarning):
            click.echo(f"warning: {w.message}", err=True)
    table = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    if report_dir is not None:
        click.echo(
            f"wrote the report to {report_dir / 'report.html'} (and workbook, CSV, JSON, charts)"
        )
    beside = None if design.calibration else written_design_beside(design_data_file, data)
    if beside is not None and design_file is not None and beside.resolve() == design_file.resolve():
        beside = None
    basis = variance_basis(design, calibrated_file=beside)
    if output is None:
        from survmig.estimation.terminal import value_labels

        labels = value_labels(data, [b for text in by for b in _split(text)] + _split(props))
        print_table(table, design=design, labels=labels, all_columns=all_columns, level=level)
    else:
        meta = {"data": str(data), "design": design.describe(), "level": level, **basis}
        table = for_output(table, publish)
        write_table(table, output, meta=meta, spreadsheet_safe=spreadsheet_safe)
        click.echo(f"wrote {len(table)} estimates to {output}")
    if basis["weights_note"]:
        click.echo(f"note: {basis['weights_note']}")


def _compare_command(
    design: SurveyDesign,
    var: str,
    breakdowns: list[list[str]],
    reference: str | None,
    contrast: str,
    indicators: Any,
    options: dict[str, Any],
    output: Path | None,
    meta: dict[str, Any],
) -> None:
    """``--compare VAR``: group estimates and comparisons in one table (``indicators``: the call
    that gives the indicators' groups and contrasts, with ``--indicators``)."""
    from survmig.estimation.contrasts import compare, stack_comparison

    if len(breakdowns) > 1:
        raise SurvmigError(
            "--compare compares within one set of domains: give one --by (a,b for a crossing)",
            where="--compare",
        )
    kinds = ["difference", "ratio"] if contrast == "both" else [contrast]
    requested = any(options[k] for k in ("mean", "total", "prop", "ratio", "count", "quantile"))
    tables = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SurvmigWarning)
        if requested or indicators is None:
            groups, comparisons = compare(
                design, var, by=breakdowns[0] if breakdowns else [], reference=reference,
                contrast=kinds, **options,
            )  # fmt: skip
            tables.append(stack_comparison(groups, comparisons, var))
        if indicators is not None:
            tables.append(
                indicators(
                    by=breakdowns[0] if breakdowns else [], compare=var, reference=reference,
                    contrast=kinds,
                )
            )  # fmt: skip
    for w in caught:
        if issubclass(w.category, SurvmigWarning):
            click.echo(f"warning: {w.message}", err=True)
    table = pd.concat(tables, ignore_index=True) if len(tables) > 1 else tables[0]
    n_cmp = int(table["contrast"].notna().sum())
    basis = variance_basis(design)
    if output is None:
        print_table(table)
    else:
        write_table(table, output, meta={**meta, **basis})
        click.echo(f"wrote {len(table) - n_cmp} estimates and {n_cmp} comparisons to {output}")
    if basis["weights_note"]:
        click.echo(f"note: {basis['weights_note']}")


estimate = estimate_command  # the attribute survmig.cli maps ``survmig estimate`` to
