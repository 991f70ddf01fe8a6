"""Small pieces of the per-row calibration SQL (:mod:`.sqlrows`): R's calibration distances as SQL
expressions, and trimming passes composed as a piecewise-linear map of the weight before trimming.
"""

from __future__ import annotations

import numpy as np

ONE, ZERO = "CAST(1 AS DOUBLE)", "CAST(0 AS DOUBLE)"  # 1.0 would be a DECIMAL


def bounded(lo: str | None, up: str | None, x: str) -> str:
    if lo is not None:
        x = f"greatest({x}, {lo})"
    if up is not None:
        x = f"least({x}, {up})"
    return x


def calfun(method: str, u: str, lo: str | None, up: str | None) -> tuple[str, str]:
    """R's ``calfun`` ``Fm1`` and ``dF`` as SQL (``lo``/``up``: None when infinite)."""
    inside = " AND ".join(
        [f"{u} < {up} - 1"] * (up is not None) + [f"{u} > {lo} - 1"] * (lo is not None)
    )
    inside = inside or "TRUE"
    if method == "linear":
        return (
            f"({bounded(lo, up, f'{u} + 1')} - 1)",
            f"CASE WHEN {inside} THEN {ONE} ELSE {ZERO} END",
        )
    if method == "raking":
        return (
            f"({bounded(lo, up, f'exp({u})')} - 1)",
            f"CASE WHEN {inside} THEN exp({u}) ELSE {ZERO} END",
        )
    assert lo is not None and up is not None
    a = f"(({up}) - ({lo})) / ((({up}) - 1) * (1 - ({lo})))"
    e = f"exp({a} * {u})"
    top = f"(({lo}) * (({up}) - 1) + ({up}) * (1 - ({lo})) * {e})"
    den = f"((({up}) - 1) + (1 - ({lo})) * {e})"
    fm1 = f"({top} / {den} - 1)"
    df = f"(({up}) * (1 - ({lo})) * {e} * {a} / {den} - {top} * ((1 - ({lo})) * {e} * {a}) / ({den} * {den}))"
    return fm1, df


def split_pieces(
    pieces: list[tuple[float, float, float]], lo: float, up: float
) -> list[tuple[float, float, float, str]]:
    """The pieces cut where the current weight crosses a bound, each classed lo / in / up."""
    out = []
    t_prev = -np.inf
    for t, a, c in pieces:
        cuts = []
        if a > 0:
            cuts = sorted(
                x for x in ((bd - c) / a for bd in (lo, up) if np.isfinite(bd)) if t_prev < x < t
            )
        edges = [t_prev, *cuts, t]
        for e0, e1 in zip(edges[:-1], edges[1:], strict=True):
            if np.isfinite(e0) and np.isfinite(e1):
                r = (e0 + e1) / 2
            elif np.isfinite(e1):
                r = e1 - abs(e1) - 1
            elif np.isfinite(e0):
                r = e0 + abs(e0) + 1
            else:
                r = 0.0
            g = a * r + c
            out.append((e1, a, c, "lo" if g < lo else "up" if g > up else "in"))
        t_prev = t
    return out


def merge_pieces(pieces: list[tuple[float, float, float]]) -> list[tuple[float, float, float]]:
    out: list[tuple[float, float, float]] = []
    for t, a, c in pieces:
        if out and out[-1][1:] == (a, c):
            out[-1] = (t, a, c)
        else:
            out.append((t, a, c))
    return out
