"""One exception type for problems a user can fix.

Every stage raises :class:`SurvmigError` for bad input. The CLI turns it into a one-line message on
stderr and exit status 2 (1 for :class:`NothingComputed`), without a traceback. The message must say *where* (file, line, row, column,
module, question) and *what to do*.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class SurvmigError(Exception):
    """A user-facing error: bad input, a statistical hazard, an impossible request."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.where = where
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        """``file:line: where: message (hint)`` — the parts that are known."""
        location = ""
        if self.file:
            location = self.file + (f":{self.line}" if self.line is not None else "")
        parts = [p for p in (location, self.where) if p]
        text = ": ".join([*parts, self.message])
        if self.hint:
            text += f" — {self.hint}"
        return text


def show(value: Any) -> str:
    """A value for a user message: plain numbers (``-2``, ``99.5``, not ``np.float64(-2.0)``),
    quoted text."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, str) else str(value)


class NothingComputed(SurvmigError):
    """The input was valid but nothing asked for can be computed from it (e.g. every requested
    indicator needs a concept the data lacks). The CLI prints the reasons and exits with status 1,
    like a check that found problems, and writes nothing."""

    exit_code = 1


class SurvmigWarning(UserWarning):
    """A statistical caveat the user chose to accept (e.g. lonely PSUs removed)."""
