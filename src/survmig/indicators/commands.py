"""``survmig indicators``: what the catalogue can compute, so users can pick names for --indicators."""

from __future__ import annotations

import click

from survmig.indicators.catalogue import load_catalogue


@click.command("indicators")
@click.argument("names", required=False)
@click.option("--parameters", "show_parameters", is_flag=True, help="List the parameters too.")
def indicators(names: str | None, show_parameters: bool) -> None:
    """List the migration indicators (id, statistic, level, title), or describe NAMES (comma separated).

    \b
    Examples:
      survmig indicators                      # every indicator, one line each
      survmig indicators sdg_10_7_1           # definition, universe, concepts, reference period
      survmig indicators --parameters         # catalogue parameters and their defaults (--param)
    """
    from rich.console import Console
    from rich.table import Table

    catalogue = load_catalogue()
    console = Console()
    if names:
        for ind in catalogue.select(names):
            console.print(f"[bold]{ind.id}[/bold] — {ind.title}")
            console.print(f"  definition: {ind.definition}")
            console.print(f"  standard: {ind.standard}")
            console.print(f"  statistic: {ind.statistic}; unit: {ind.unit}")
            console.print(f"  reference period: {ind.reference_period}")
            for d in ind.definitions:
                console.print(f"  level: {d.level}; universe: {d.universe_text}")
                if d.note:
                    console.print(f"  note: {d.note}")
        return
    table = Table(title=f"{len(catalogue.indicators)} indicators (use the ids with --indicators)")
    table.add_column("id", no_wrap=True)  # ids are copied into commands: never folded
    for col in ("statistic", "level", "title"):
        table.add_column(col, overflow="fold")
    for ind in catalogue.indicators.values():
        level = ind.definitions[0].level if ind.definitions else ""
        table.add_row(ind.id, ind.statistic, level, ind.title)
    console.print(table)
    if show_parameters:
        params = Table(title="parameters (set with --param KEY=VALUE)")
        for col in ("parameter", "default", "meaning"):
            params.add_column(col, overflow="fold")
        for key, value in catalogue.parameters.items():
            params.add_row(key, str(value), catalogue.parameter_help.get(key, ""))
        console.print(params)
