"""Read a zip member without letting a zip bomb fill the memory.

An ODK Central export is a zip of CSV files. A member that inflates far beyond what CSV compresses
to (a 400 KB member claiming 400 MB of zeros) is refused before it is read whole, naming the member.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from survmig.errors import SurvmigError

#: No member may inflate beyond this many bytes, whatever its compression.
MAX_INFLATED = 2 * 1024**3
#: Beyond this inflated size a member must also respect :data:`MAX_RATIO`.
FREE_INFLATED = 16 * 1024**2
#: CSV exports compress about 5-30 times; zip bombs compress hundreds to millions of times.
MAX_RATIO = 200
_CHUNK = 1024**2


def read_member(zf: zipfile.ZipFile, name: str, archive: str | Path) -> bytes:
    """The bytes of member ``name``; refused (one line naming it) when it inflates too far."""
    info = zf.getinfo(name)
    limit = min(MAX_INFLATED, max(FREE_INFLATED, info.compress_size * MAX_RATIO))

    def refuse(size: int) -> SurvmigError:
        ratio = size / max(info.compress_size, 1)
        return SurvmigError(
            f"the member inflates to more than {limit / 1024**2:,.0f} MB ({size / 1024**2:,.0f} MB "
            f"from {info.compress_size / 1024:,.0f} KB, {ratio:,.0f}:1); refused as a possible "
            "zip bomb",
            file=f"{archive}:{name}",
            hint="download the export again from the server; CSV compresses less than "
            f"{MAX_RATIO}:1",
        )

    if info.file_size > limit:
        raise refuse(info.file_size)
    parts: list[bytes] = []
    size = 0
    try:
        with zf.open(info) as member:  # count what really comes out, chunk by chunk
            while chunk := member.read(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise refuse(size)
                parts.append(chunk)
    except (zipfile.BadZipFile, OSError, EOFError) as err:  # zipfile stops at the declared size
        raise SurvmigError(
            f"damaged zip member: {err}",
            file=f"{archive}:{name}",
            hint="download the export again from the server",
        ) from None
    return b"".join(parts)
