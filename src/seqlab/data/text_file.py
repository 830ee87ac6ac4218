"""Reading a whole file (plain or gzip) with errors that name the file and the line."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from seqlab.errors import DataError


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, decompressed for ``.gz``; a damaged or truncated gzip file is a
    DataError naming it."""
    path = Path(path)
    data = path.read_bytes()
    if path.suffix != ".gz":
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as err:
        raise DataError(f"{path}: not a complete gzip file ({err}); download or compress it "
                        "again") from None


def decode(data: bytes, path: str | Path, encoding: str = "utf-8") -> str:
    """``data`` as text; a bad byte names its line and the ``--encoding`` fix."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(
            f"{path}, line {line}: the file is not valid {encoding} (byte "
            f"{data[err.start]:#04x}). Pass its encoding, e.g. --encoding latin-1 (or "
            "`encoding:` under `data:` in the config)."
        ) from None
    except LookupError:
        raise DataError(f"{path}: unknown encoding {encoding!r}; give a Python codec name "
                        "such as utf-8 or latin-1") from None


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """The whole file as text (``.gz`` too); a bad byte is an error naming its line."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a text file")
    return decode(read_bytes(path), path, encoding)
