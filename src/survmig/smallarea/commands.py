"""``survmig small-area``: Fay-Herriot estimates of an indicator by area, a thin layer over
:func:`survmig.smallarea.small_area`."""

from __future__ import annotations

from pathlib import Path

import click

from survmig.errors import SurvmigError
from survmig.smallarea.fayherriot import METHODS
from survmig.smallarea.model import MSE_METHODS
from survmig.smallarea.scales import TRANSFORMS, VARIANCES


@click.command("small-area")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--design",
    "design_file",
    required=True,
    type=click.Path(path_type=Path),
    help="design.yaml describing the sample.",
)
@click.option(
    "--design-data",
    "design_data_file",
    type=click.Path(path_type=Path),
    help="The weighted household file from `survmig weight` (joined by KEY); it may "
    "carry the area column.",
)
@click.option("--indicator", required=True, help="Catalogue indicator id, e.g. foreign_born_share.")
@click.option("--category", help="The category to model, for an indicator with categories.")
@click.option("--area", required=True, help="Area column (in the data and in the covariates).")
@click.option(
    "--covariates",
    "covariates_file",
    required=True,
    type=click.Path(path_type=Path),
    help="Area covariates (CSV/Parquet/Excel): one row per area, every area to estimate.",
)
@click.option(
    "--x",
    "x",
    help="Covariate columns, comma separated (default: every numeric column "
    "but the area, --population and the benchmark group).",
)
@click.option(
    "--method",
    type=click.Choice(METHODS, case_sensitive=False),
    default="REML",
    show_default=True,
    help="Fitting method for the model variance.",
)
@click.option(
    "--transform",
    type=click.Choice(TRANSFORMS),
    help="Model scale (default: arcsine for a share, log for a count).",
)
@click.option(
    "--variance",
    type=click.Choice(VARIANCES),
    default="direct",
    show_default=True,
    help="Sampling variances: direct design variances, gvf-smoothed (k/n), or deff/(4n) "
    "with the national design effect (arcsine).",
)
@click.option(
    "--mse",
    type=click.Choice(MSE_METHODS),
    default="analytic",
    show_default=True,
    help="MSE: analytic (Prasad-Rao; Datta-Lahiri for ML) or parametric bootstrap.",
)
@click.option(
    "--bootstrap",
    "replicates",
    type=int,
    default=200,
    show_default=True,
    help="Bootstrap replicates (with --mse bootstrap).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Bootstrap seed.")
@click.option(
    "--benchmark",
    default="national",
    show_default=True,
    help="Benchmark to the direct estimate: national, none, or a covariates column that "
    "is also a domain of the data (e.g. region).",
)
@click.option(
    "--population",
    help="Covariates column with area populations (weights the benchmark of a share).",
)
@click.option("--level", type=float, default=0.95, show_default=True, help="Interval level.")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path),
    help="Output folder (estimates.csv, diagnostics, charts, summary.json).",
)
def small_area_command(
    data: Path,
    design_file: Path,
    design_data_file: Path | None,
    indicator: str,
    category: str | None,
    area: str,
    covariates_file: Path,
    x: str | None,
    method: str,
    transform: str | None,
    variance: str,
    mse: str,
    replicates: int,
    seed: int,
    benchmark: str,
    population: str | None,
    level: float,
    output: Path,
) -> None:
    """Small-area (Fay-Herriot EBLUP) estimates of an indicator for every area of the covariates.

    DATA is a dataset folder from `survmig data import`. Direct estimates and design SEs by area come
    from the estimation engine; areas without a sample get the synthetic estimate.

    \b
    Example:
      survmig small-area survey_dataset/ --design design.yaml --design-data weighted.csv \\
          --indicator foreign_born_share --area district --covariates census.csv \\
          --x census_foreign_share --population persons --variance gvf -o districts/
    """
    from survmig.data import Dataset
    from survmig.fileio import check_output_dir
    from survmig.smallarea import read_covariates, small_area, write_small_area
    from survmig.tableio import read_table

    check_output_dir(output)
    if not data.is_dir():
        raise SurvmigError(
            "DATA must be a dataset folder written by `survmig data import`",
            file=data,
            hint="run `survmig data import EXPORT -o DATASET/` first",
        )
    covariates = read_covariates(covariates_file, area)
    design_data = read_table(design_data_file) if design_data_file else None
    result = small_area(
        Dataset.read(data),
        design_file,
        indicator,
        area,
        covariates,
        x=[v.strip() for v in x.split(",") if v.strip()] if x else None,
        category=category,
        design_data=design_data,
        benchmark=None if benchmark == "none" else benchmark,
        population=population,
        transform=transform,
        covariates_name=str(covariates_file),
        method=method,
        variance=variance,
        mse=mse,
        bootstrap=replicates,
        seed=seed,
        level=level,
    )
    files = write_small_area(result, area, output)
    s = result.summary()
    click.echo(
        f"{s['areas']} areas ({s['sampled_areas']} sampled), σ²_v = {s['sigma2_v']:.4g} "
        f"({s['method']}, {s['transform']} scale); median CV direct {s['median_cv_direct']:.1%}, "
        f"model {s['median_cv_model']:.1%}"
    )
    for note in s["notes"]:
        click.echo(f"note: {note}")
    click.echo(f"wrote {files['estimates']} and the diagnostics, charts and summary in {output}")
