"""Writing a table in the format its file name asks for: CSV, TSV, JSONL or Parquet
(``.gz`` too for the text formats), atomically."""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from seqlab.artifacts import atomic_write_bytes
from seqlab.data.readers import EXTENSIONS, format_suffix
from seqlab.errors import DataError
from seqlab.registry import Registry

Writer = Callable[[pd.DataFrame], bytes]
WRITERS: Registry[Writer] = Registry("output format")


@WRITERS.register("csv")
def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


@WRITERS.register("tsv")
def _tsv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, sep="\t").encode("utf-8")


@WRITERS.register("jsonl")
def _jsonl(frame: pd.DataFrame) -> bytes:
    return frame.to_json(orient="records", lines=True, force_ascii=False).encode("utf-8")


@WRITERS.register("parquet")
def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def output_format(path: str | Path) -> str:
    """The format a file name asks for; an unknown or unwritable extension is a DataError
    (raised before any work is done)."""
    path = Path(path)
    compressed = path.suffix == ".gz"
    suffix = format_suffix(path)
    fmt = EXTENSIONS.get(suffix.lower())
    if fmt not in WRITERS or (compressed and fmt == "parquet"):
        raise DataError(f"{path}: cannot tell what to write from {suffix or '(none)'!r}; end "
                        "the name in .csv, .tsv, .jsonl or .parquet (.gz for the text ones)")
    return fmt


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` to ``path`` in the format its extension names, atomically."""
    path = Path(path)
    data = WRITERS.get(output_format(path))(frame)
    if path.suffix == ".gz":
        data = gzip.compress(data)
    atomic_write_bytes(path, lambda tmp: tmp.write_bytes(data))
