"""Terminal side of ``survmig demo``: a progress display while it runs, a summary at the end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

from survmig.demo.districts import accuracy
from survmig.demo.run import DemoResult, run_demo


def run_cli(
    directory: Path,
    *,
    households: int,
    population: int | None,
    seed: int,
    validate: bool,
    platform: str = "odk-central",
) -> DemoResult:
    """Run the demo showing each step (spinner, then a tick and its duration) and print the summary."""
    err = Console(stderr=True)
    out = Console()

    @contextmanager
    def step(description: str) -> Iterator[None]:
        start = time.perf_counter()
        with err.status(description):
            yield
        err.print(
            f"[green]✓[/green] {description} [dim]({time.perf_counter() - start:.1f} s)[/dim]"
        )

    result = run_demo(
        directory,
        households=households,
        population=population,
        seed=seed,
        validate=validate,
        step=step,
        platform=platform,
    )
    _summary(out, result)
    return result


def _summary(console: Console, r: DemoResult) -> None:
    console.print(
        f"\nSynthetic country: {r.n_households_population:,} households; sample: {r.n_eas} EAs, "
        f"{r.n_selected:,} households selected, {r.n_respondents:,} responded; "
        f"data check: {r.check_problems} problem(s)."
    )
    console.print(
        f"{r.indicators} indicators estimated; {len(r.not_computable)} not computable "
        f"({', '.join(sorted(r.not_computable)) or 'none'})."
    )
    table = Table(title="Coverage of the 95 % intervals (the truth is known)")
    for col in ("estimates", "intervals", "covering the truth", "coverage"):
        table.add_column(col, justify="left" if col == "estimates" else "right")
    for row in r.coverage.itertuples():
        table.add_row(row.group, str(row.intervals), str(row.covering), f"{row.coverage:.1%}")
    console.print(table)
    acc = accuracy(r.small_area)
    console.print(
        f"Districts ({acc['sampled']} of {acc['districts']} sampled): RMSE of the foreign-born share "
        f"{acc['rmse_direct']:.4f} direct, {acc['rmse_model']:.4f} Fay-Herriot; model intervals "
        f"cover {acc['coverage']:.0%} of the true shares (small_area/)."
    )
    console.print(f"Done in {r.seconds:.0f} s. Results in [bold]{r.directory}[/bold]:")
    for name in ("report", "workbook", "export", "readme"):
        console.print(f"  {name:<14} {r.files[name]}")
