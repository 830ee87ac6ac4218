"""Reading a whole text file (plain or gzip) with errors that name the line at fault."""

from __future__ import annotations

import gzip
from pathlib import Path

from seqlab.errors import DataError


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """The whole file as text (``.gz`` too); a bad byte is an error naming its line."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a text file")
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line} is not valid {encoding} (byte {err.start}); "
                        "pass the file's encoding, e.g. --encoding latin-1") from None
    except LookupError:
        raise DataError(f"{path}: unknown encoding {encoding!r}") from None
