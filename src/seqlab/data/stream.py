"""Reading a table in chunks of rows, so a file of any size is read in flat memory: CSV,
TSV, JSONL (``.gz`` too), Parquet and ``text;label`` lines. Every chunk is a DataFrame;
a malformed row is a DataError naming its line."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd

from seqlab.data.readers import detect_format, json_record, text_and_label
from seqlab.errors import DataError
from seqlab.registry import Registry

Chunks = Iterator[pd.DataFrame]
Streamer = Callable[[Path, str, str, int], Chunks]
STREAMERS: Registry[Streamer] = Registry("data format")


def _delimited(path: Path, encoding: str, sep: str, rows: int) -> Chunks:
    kind = "TSV" if sep == "\t" else "CSV"
    try:
        reader = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                             chunksize=rows, encoding=encoding, compression="infer")
        yield from reader
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty; it needs a header row and data") from None
    except pd.errors.ParserError as err:
        raise DataError(f"{path}: cannot parse it as {kind}: {err}. Check the quoting and the "
                        "number of fields on that line.") from None
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not {encoding} text ({err.reason}); pass --encoding") from None


@STREAMERS.register("csv")
def stream_csv(path: Path, encoding: str, separator: str, rows: int) -> Chunks:
    return _delimited(path, encoding, ",", rows)


@STREAMERS.register("tsv")
def stream_tsv(path: Path, encoding: str, separator: str, rows: int) -> Chunks:
    return _delimited(path, encoding, "\t", rows)


def _line_chunks(path: Path, encoding: str, rows: int,
                 parse: Callable[[str, int], dict[str, object] | None]) -> Chunks:
    records: list[dict[str, object]] = []
    try:
        with (gzip.open(path, "rt", encoding=encoding, newline="") if path.suffix == ".gz"
              else path.open(encoding=encoding, newline="")) as handle:
            for number, line in enumerate(handle, start=1):
                record = parse(line.rstrip("\r\n"), number)
                if record is None:
                    continue
                records.append(record)
                if len(records) == rows:
                    yield pd.DataFrame.from_records(records).astype(object)
                    records = []
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not {encoding} text ({err.reason}); pass --encoding") from None
    if records:
        yield pd.DataFrame.from_records(records).astype(object)


@STREAMERS.register("jsonl")
def stream_jsonl(path: Path, encoding: str, separator: str, rows: int) -> Chunks:
    return _line_chunks(path, encoding, rows,
                        lambda line, number: json_record(path, line, number))


@STREAMERS.register("lines")
def stream_lines(path: Path, encoding: str, separator: str, rows: int) -> Chunks:
    def parse(line: str, number: int) -> dict[str, object] | None:
        pair = text_and_label(path, line, number, separator)
        return None if pair is None else {"text": pair[0], "label": pair[1]}

    return _line_chunks(path, encoding, rows, parse)


@STREAMERS.register("parquet")
def stream_parquet(path: Path, encoding: str, separator: str, rows: int) -> Chunks:
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises several unrelated types for bad files
        raise DataError(f"{path}: cannot read it as Parquet ({err})") from None
    for batch in source.iter_batches(batch_size=rows):
        yield batch.to_pandas()


def iter_table(path: str | Path, fmt: str | None = None, encoding: str = "utf-8",
               separator: str = ";", rows: int = 10_000) -> Chunks:
    """The table at ``path`` in chunks of ``rows`` rows, the reader chosen by ``fmt`` or
    the extension."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file" if not path.exists() else
                        f"{path}: is a folder; give a data file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    return STREAMERS.get(fmt or detect_format(path))(path, encoding, separator, rows)
