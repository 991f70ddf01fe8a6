"""The weighting report: Markdown and JSON beside the weighted data, and a rich summary on screen."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from survmig.fileio import atomic_path
from survmig.weighting.pipeline import WeightingResult

_STAT_COLS = ("n", "sum", "min", "median", "max", "kish")


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def _table(rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    cols = list(dict.fromkeys(k for r in rows for k in r))
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    out += ["| " + " | ".join(_fmt(r.get(c, "")) for c in cols) + " |" for r in rows]
    return [*out, ""]


def to_markdown(
    result: WeightingResult, title: str = "Weighting report", picture: str | None = None
) -> str:
    """Per step: weights before/after, controls, classes, convergence, notes (``picture``: the
    file name of the histograms, shown under the summary table)."""
    d = result.as_dict()
    lines = [f"# {title}", ""]
    lines.append(f"Replicate weight columns adjusted with every step: {d['replicates']}.")
    lines.append("Kish weighting effect = n Σw² / (Σw)² over units with non-zero weight.")
    lines.append("")
    lines += [f"**Note**: {note}\n" for note in d["notes"]]
    lines += _table(
        [
            {
                "step": s["name"],
                "type": s["kind"],
                **{f"after {k}": s["after"].get(k) for k in _STAT_COLS},
            }
            for s in d["steps"]
        ]
    )
    if picture:
        lines += [
            "The weights after each step (left) and the step's g-factors, new / old weight"
            " (right); trimming and calibration bounds dashed in red:",
            "",
            f"![Weights and g-factors by step]({picture})",
            "",
        ]
    for i, s in enumerate(d["steps"], 1):
        lines += [f"## {i}. {s['name']} ({s['kind']})", ""]
        lines += _table([{"weights": "before", **s["before"]}, {"weights": "after", **s["after"]}])
        if s["controls"]:
            lines += ["Totals against the controls:", ""]
            lines += _table(s["controls"])
        if s["classes"]:
            lines += ["Classes:", ""]
            lines += _table(s["classes"])
        if s["convergence"]:
            conv = {
                k: (json.dumps(v) if isinstance(v, dict | list) else v)
                for k, v in s["convergence"].items()
            }
            lines += ["Convergence:", ""]
            lines += _table([conv])
        lines += [f"- {note}" for note in s["notes"]]
        if s["notes"]:
            lines.append("")
    return "\n".join(lines)


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item"):
        return _clean(obj.item())
    return obj


def to_json(result: WeightingResult) -> str:
    return json.dumps(_clean(result.as_dict()), indent=2, ensure_ascii=False)


def _stem(output: Path) -> str:
    return output.name[: -len(output.suffix)] if output.suffix else output.name


def picture_path(output: Path) -> Path:
    """``out.csv`` → ``out.weighting.png``: the weight and g-factor histograms."""
    return output.with_name(f"{_stem(output)}.weighting.png")


def report_paths(output: Path) -> tuple[Path, Path]:
    """``out.csv`` → ``out.weighting.md`` and ``out.weighting.json`` in the same folder."""
    stem = _stem(output)
    return output.with_name(f"{stem}.weighting.md"), output.with_name(f"{stem}.weighting.json")


def design_yaml_path(output: Path) -> Path:
    """``out.csv`` → ``out.design.yaml``: the design of the weighted data."""
    return output.with_name(f"{_stem(output)}.design.yaml")


def write_reports(result: WeightingResult, output: Path) -> tuple[Path, Path]:
    """``out.weighting.md`` (with the histograms ``out.weighting.png``) and ``out.weighting.json``."""
    from survmig.weighting.pictures import write_picture

    md, js = report_paths(output)
    png = write_picture(result, picture_path(output))
    with atomic_path(md) as tmp:
        tmp.write_text(to_markdown(result, picture=png.name), encoding="utf-8")
    with atomic_path(js) as tmp:
        tmp.write_text(to_json(result), encoding="utf-8")
    return md, js


def print_summary(result: WeightingResult, console: Any = None) -> None:
    """One row per step on the terminal."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if Console().is_terminal else 120)
    t = Table(title="Weighting")
    for col in (
        "step",
        "type",
        "Σw before",
        "Σw after",
        "min",
        "median",
        "max",
        "Kish",
        "converged",
    ):
        t.add_column(
            col, justify="left" if col in ("step", "type") else "right", no_wrap=col != "step"
        )
    for r in result.reports:
        conv = r.convergence or {}
        converged = conv.get("converged")
        extra = ""
        if "sweeps" in conv:
            extra = f" ({conv['sweeps']} sweeps)"
        elif "iterations" in conv:
            extra = f" ({conv['iterations']} it.)"
        t.add_row(
            r.name,
            r.kind,
            _fmt(r.before.get("sum")),
            _fmt(r.after.get("sum")),
            _fmt(r.after.get("min")),
            _fmt(r.after.get("median")),
            _fmt(r.after.get("max")),
            f"{r.after.get('kish', float('nan')):.3f}",
            ("yes" if converged else "no") + extra if converged is not None else "",
        )
    console.print(t)
