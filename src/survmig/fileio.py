"""Write outputs so that nothing is half-written, nothing of the user's is lost, no input is replaced.

Every output goes through :func:`atomic_path` (a file) or :func:`atomic_dir` (a folder): write to a
temporary sibling, then rename. Both check the target *before* any work when the command calls
:func:`check_output_file` / :func:`check_output_dir` up front, and again on entry: an output that is
a folder, lies below a file, sits in an unwritable folder, is (or contains, or lies inside) one of
the command's inputs, or would replace a folder holding files survmig did not write is a one-line
:class:`~survmig.errors.SurvmigError` naming the path. OS errors while writing become the same.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from survmig.errors import SurvmigError

#: A file survmig leaves in every folder it writes, listing the files it wrote there, so that the
#: next run may replace exactly those (and refuse when the user added one).
OUTPUT_MARKER = ".survmig-output"
_MARKER_HEAD = "This folder was written by survmig; the next run writing here replaces it whole.\n"
_MANIFEST = "files:\n"

# The inputs of the running command (the CLI turns this on with :func:`guard_inputs`), and the
# temporary folders being written (files read back from them are our own, not inputs).
_INPUTS: contextvars.ContextVar[list[Path] | None] = contextvars.ContextVar(
    "survmig_inputs", default=None
)
_WRITING: list[Path] = []


def _real(path: str | Path) -> Path:
    return Path(os.path.realpath(os.path.abspath(Path(path).expanduser())))


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


def _os_error(err: OSError, target: Path) -> SurvmigError:
    reason = err.strerror or type(err).__name__
    return SurvmigError(
        f"cannot write the output: {reason.lower()}",
        file=target,
        hint="give a path in a folder you can write to",
    )


# --------------------------------------------------------------------------- inputs


@contextlib.contextmanager
def guard_inputs() -> Iterator[None]:
    """Remember every input read inside the block, so no output may replace or enter one.

    The CLI runs each command inside this; from Python (a notebook) it is off unless asked for.
    """
    token = _INPUTS.set([])
    try:
        yield
    finally:
        _INPUTS.reset(token)


def note_input(path: str | Path) -> None:
    """Record ``path`` as an input of the running command (no-op outside :func:`guard_inputs`)."""
    inputs = _INPUTS.get()
    if inputs is None:
        return
    real = _real(path)
    if any(real == w or w in real.parents for w in _WRITING):
        return  # read back from the output being written: our own file
    if real not in inputs:
        inputs.append(real)


def check_not_input(target: str | Path, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse an output that is, contains or lies inside an input (given, or read so far)."""
    real = _real(target)
    known = [_real(p) for p in inputs] + list(_INPUTS.get() or [])
    for source in known:
        if real == source:
            problem = f"the output is the input {source}; writing it would replace the input"
        elif real in source.parents:
            problem = f"the output folder contains the input {source}; writing it would replace it"
        elif source in real.parents and source.is_dir():
            problem = f"the output lies inside the input folder {source}"
        else:
            continue
        raise SurvmigError(problem, file=target, hint="give an output path outside the inputs")


# --------------------------------------------------------------------------- checks


def _writable_parent(target: Path, what: str) -> None:
    above = next((p for p in target.parents if p.exists()), None)
    if above is None:
        return
    if not above.is_dir():
        raise SurvmigError(
            f"cannot create {what} inside the file {above}",
            file=target,
            hint="give a path in a folder",
        )
    if not os.access(above, os.W_OK | os.X_OK):
        raise SurvmigError(
            f"cannot write the output: the folder {above} is not writable",
            file=target,
            hint="give a path in a folder you can write to",
        )


def check_output_file(target: str | Path, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse, before any work, a file output that cannot be written or would replace an input."""
    target = Path(target)
    if target.is_dir():
        raise SurvmigError(
            "the output is a folder, not a file", file=target, hint="give a file name"
        )
    _writable_parent(target, "a file")
    check_not_input(target, inputs)


def _foreign_files(target: Path) -> list[str]:
    """Files in an existing output folder that survmig did not write (all of them if unmarked)."""
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if not p.is_dir())
    marker = target / OUTPUT_MARKER
    if not marker.exists():
        return files
    text = marker.read_text(encoding="utf-8", errors="replace")
    if _MANIFEST not in text:  # a marker from before survmig listed its files: trust it whole
        return []
    ours = {line[2:] for line in text.split(_MANIFEST, 1)[1].splitlines() if line[:2] == "- "}
    ours.add(OUTPUT_MARKER)
    return [f for f in files if f not in ours]


def check_output_dir(target: str | Path, inputs: Iterable[str | Path] = ()) -> None:
    """Refuse an output folder that would destroy something survmig did not write.

    A folder output replaces the whole folder; that is safe for an empty folder or an earlier
    survmig output (:data:`OUTPUT_MARKER` lists what it wrote) that holds nothing else — never for a
    folder where the user keeps (or has since added) files of their own.
    """
    target = Path(target)
    _writable_parent(target, "a folder")
    if target.exists() and not target.is_dir():
        raise SurvmigError(
            "the output is a file, not a folder", file=target, hint="give a folder name"
        )
    check_not_input(target, inputs)
    if target.is_dir():
        foreign = _foreign_files(target)
        if foreign:
            shown = ", ".join(foreign[:3]) + (
                f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
            )
            raise SurvmigError(
                f"the output folder exists and holds files survmig did not write ({shown}); "
                "writing there would replace them",
                file=target,
                hint="give a new or empty folder, or move those files out",
            )
        if not os.access(target, os.W_OK | os.X_OK):
            raise SurvmigError("cannot write the output: the folder is not writable", file=target)


# --------------------------------------------------------------------------- writers


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; move it onto ``target`` only if the block succeeds.

    The temporary file keeps ``target``'s suffix so writers that dispatch on the extension work.
    """
    target = Path(target)
    check_output_file(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent
        )
        os.close(fd)
    except OSError as err:
        raise _os_error(err, target) from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        _publish_mode(tmp, directory=False)
        try:
            os.replace(tmp, target)
        except OSError as err:
            raise _os_error(err, target) from None
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_marker(folder: Path) -> None:
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir())
    (folder / OUTPUT_MARKER).write_text(
        _MARKER_HEAD + _MANIFEST + "".join(f"- {f}\n" for f in files), encoding="utf-8"
    )


@contextlib.contextmanager
def atomic_dir(target: str | Path) -> Iterator[Path]:
    """Yield a temporary directory beside ``target``; it replaces ``target`` only on success.

    An earlier survmig output in ``target`` is replaced whole, so a failed run never leaves a mix of
    old and new files; a folder with other files is refused before any work (:func:`check_output_dir`).
    """
    target = Path(target)
    check_output_dir(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as err:
        raise _os_error(err, target) from None
    _WRITING.append(_real(tmp))
    try:
        yield tmp
        _write_marker(tmp)
        _publish_mode(tmp, directory=True)
        check_output_dir(target)  # nothing of the user's arrived while we worked
        try:
            if target.exists():
                backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
                backup.rmdir()
                os.replace(target, backup)
                os.replace(tmp, target)
                shutil.rmtree(backup, ignore_errors=True)
            else:
                os.replace(tmp, target)
        except OSError as err:
            raise _os_error(err, target) from None
    finally:
        _WRITING.remove(_real(tmp))
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
