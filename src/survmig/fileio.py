"""Write outputs so that nothing is half-written: write to a temporary sibling, then rename."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from survmig.errors import SurvmigError


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _publish_mode(path: Path, directory: bool) -> None:
    """Give a finished output the permissions a plain ``open()``/``mkdir()`` would have.

    ``mkstemp``/``mkdtemp`` create private (0600/0700) files; outputs are meant to be shared.
    """
    base = 0o777 if directory else 0o666
    os.chmod(path, base & ~_umask())


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` only if the block succeeds.

    The temporary file keeps ``target``'s suffix so writers that dispatch on the extension work.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        _publish_mode(tmp, directory=False)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


#: A file survmig leaves in every folder it writes, so that it may replace that folder next time.
OUTPUT_MARKER = ".survmig-output"


def check_output_dir(target: str | Path) -> None:
    """Refuse an output folder that would destroy something survmig did not write.

    A folder output replaces the whole folder; that is safe for an earlier survmig output (it holds
    :data:`OUTPUT_MARKER`) or an empty folder, never for a folder of the user's own files.
    """
    target = Path(target)
    above = next((p for p in target.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise SurvmigError(
            f"cannot create a folder inside the file {above}",
            file=target,
            hint="give a folder name",
        )
    if target.exists() and not target.is_dir():
        raise SurvmigError(
            "the output is a file, not a folder", file=target, hint="give a folder name"
        )
    if target.is_dir() and any(target.iterdir()) and not (target / OUTPUT_MARKER).exists():
        raise SurvmigError(
            "the output folder exists and holds files survmig did not write; "
            "writing there would replace them",
            file=target,
            hint="give a new or empty folder (or one survmig wrote before)",
        )


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``target``; it replaces ``target`` only on success.

    An earlier survmig output in ``target`` is replaced whole, so a failed run never leaves a mix of
    old and new files; a folder with other files is refused before any work (:func:`check_output_dir`).
    """
    target = Path(target)
    check_output_dir(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        (tmp / OUTPUT_MARKER).write_text(
            "This folder was written by survmig; the next run writing here replaces it whole.\n",
            encoding="utf-8",
        )
        _publish_mode(tmp, directory=True)
        if target.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            backup.rmdir()
            os.replace(target, backup)
            os.replace(tmp, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
