"""Evaluating a form's expressions on data: the bridge between :mod:`xpath` and the tables."""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np

from survmig.data.form import ROW_POS, FormMetadata
from survmig.data.xpath import Context, XPathUnsupported, XValue, evaluate, node_from_series, parse


def form_context(
    form: FormMetadata,
    frame: Any,
    n: int,
    current: XValue | None = None,
    level: str | None = None,
    *,
    today: datetime.date | None = None,
) -> Context:
    """A context whose names are the columns of ``frame`` (a DataFrame or anything with
    ``columns`` and ``[]``). Questions of the form that are not in ``frame`` are unanswered when they
    belong to ``level`` or its ancestors, and unsupported otherwise (another repeat's answers).
    ``today`` is the date ``today()`` stands for (unsupported when None)."""
    cache: dict[str, XValue] = {}
    allowed = None if level is None else {level, *form.ancestors(level)}

    def resolve(name: str) -> XValue:
        if name in cache:
            return cache[name]
        var = form.variables.get(name)
        if var is not None and allowed is not None and var.level not in allowed:
            raise XPathUnsupported(
                f"${{{name}}} is in repeat '{var.level}', which does not contain this question"
            )
        if name in frame.columns:
            value = node_from_series(
                frame[name], is_date=bool(var and var.type in ("date", "today"))
            )
        elif var is not None:
            value = XValue("node", num=np.full(n, np.nan), str_=np.full(n, "", dtype=object))
        elif name in form.levels:
            raise XPathUnsupported(f"${{{name}}} refers to a whole repeat")
        else:
            raise XPathUnsupported(f"${{{name}}} is not a question of the form")
        cache[name] = value
        return value

    pos = (
        frame[ROW_POS].to_numpy(dtype=float, na_value=np.nan) if ROW_POS in frame.columns else None
    )
    return Context(n, resolve, current, pos, today)


def truth(
    form: FormMetadata,
    expr: str,
    frame: Any,
    n: int,
    current: XValue | None = None,
    level: str | None = None,
    *,
    today: datetime.date | None = None,
) -> np.ndarray:
    """Row-wise truth of ``expr`` (raises XPathError / XPathUnsupported)."""
    ctx = form_context(form, frame, n, current, level, today=today)
    return evaluate(parse(expr), ctx).as_bool()
