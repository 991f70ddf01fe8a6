"""``survmig model``: a design-based GLM from a data file, a thin layer over :func:`svyglm`."""

from __future__ import annotations

import warnings
from pathlib import Path

import click
import pandas as pd

from survmig.errors import SurvmigError, SurvmigWarning
from survmig.models.irls import FAMILIES


@click.command("model")
@click.argument("data", type=click.Path(path_type=Path))
@click.argument("formula")
@click.option(
    "--family",
    "family_name",
    type=click.Choice(FAMILIES),
    default="gaussian",
    show_default=True,
    help="gaussian (linear), binomial/quasibinomial (logistic: 0/1 or share outcome), "
    "poisson/quasipoisson (log-linear counts).",
)
@click.option("--design", "design_file", type=click.Path(path_type=Path), help="design.yaml.")
@click.option("--strata", help="Stratum column (one-stage design given on the command line).")
@click.option("--psu", help="PSU (cluster) column; omit for element sampling.")
@click.option("--weight", help="Sampling weight column.")
@click.option("--fpc", help="Finite population correction column.")
@click.option("--nest", is_flag=True, help="PSU ids restart within strata.")
@click.option(
    "--test",
    "tests",
    multiple=True,
    help="Wald test that a term's coefficients are all zero (R regTermTest), e.g. 'C(region)'; "
    "repeatable; comma-separated terms are tested jointly.",
)
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option(
    "--na",
    type=click.Choice(["fail", "drop"]),
    default="fail",
    show_default=True,
    help="Rows with a missing model variable: fail, or leave them out of the model (R na.omit).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Coefficient table (.csv, .xlsx, .json, .md); default: on screen.",
)
def model(
    data: Path,
    formula: str,
    family_name: str,
    design_file: Path | None,
    strata: str | None,
    psu: str | None,
    weight: str | None,
    fpc: str | None,
    nest: bool,
    tests: tuple[str, ...],
    level: float,
    na: str,
    output: Path | None,
) -> None:
    """Fit a design-based generalized linear model (as R svyglm): coefficients, SEs from the design
    (linearization over PSUs within strata, with fpc, lonely-PSU rule and calibration residuals, or
    replicate weights), t tests on the design's residual df, CIs, odds ratios (logistic) or rate
    ratios (Poisson), and Wald tests of terms.

    FORMULA is patsy syntax: outcome ~ terms, categorical terms in C(...), e.g.
    "remits ~ hhsize + C(region)". The outcome of a binomial model is 0/1.

    \b
    Example:
      survmig model weighted.csv "remits ~ hhsize + C(region)" --family binomial \\
          --design weighted.design.yaml --test "C(region)" -o model.csv
    """
    from survmig.estimation.commands import _read, check_design_options, cli_design
    from survmig.estimation.notes import variance_basis
    from survmig.estimation.output import check_output_path, print_table, write_table
    from survmig.models.glm import svyglm

    if output is not None:
        check_output_path(output)
    check_design_options(design_file, strata, psu, weight, fpc, nest)
    frame = _read(data)
    design = cli_design(frame, data, design_file, strata, psu, weight, fpc, nest)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SurvmigWarning)
        try:
            res = svyglm(design, formula, family_name=family_name, level=level, na=na)
        except SurvmigError as err:
            if err.file is None:
                raise SurvmigError(err.message, file=data, where=err.where, hint=err.hint) from None
            raise
        wald = [res.wald_test([t.strip() for t in spec.split(",")]) for spec in tests]
    for w in caught:
        if issubclass(w.category, SurvmigWarning):
            click.echo(f"warning: {w.message}", err=True)
    basis = variance_basis(design)
    test_rows = pd.DataFrame(
        [
            {
                "term": "Wald test: " + " + ".join(t["terms"]),
                "F": t["F"],
                "df": t["df"],
                "ddf": t["ddf"],
                "p_value": t["p_value"],
            }
            for t in wald
        ]
    )
    if output is None:
        print_table(res.table)
        if len(test_rows):
            print_table(test_rows)
    else:
        table = (
            pd.concat([res.table, test_rows], ignore_index=True) if len(test_rows) else res.table
        )
        meta = {
            "data": str(data),
            "formula": formula,
            "family": family_name,
            "design": design.describe(),
            "n": res.n,
            "df_residual": res.df_residual,
            "level": level,
            **basis,
            "variance": res.variance,
        }
        write_table(table, output, meta=meta)
        click.echo(f"wrote {len(res.table)} coefficients to {output}")
    click.echo(
        f"{res.family} model on {res.n} rows, {res.variance}; residual df {res.df_residual:g}"
    )
    if basis["weights_note"]:
        click.echo(f"note: {basis['weights_note']}")
