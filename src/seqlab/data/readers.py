"""File readers: CSV, TSV, JSONL, Parquet and ``text;label`` lines, chosen by extension.

Each reader turns a file into a :class:`pandas.DataFrame` of strings; every failure is a
:class:`~seqlab.errors.DataError` that names the file and, where there is one, the line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from seqlab.data.text_file import decode, read_bytes
from seqlab.errors import DataError
from seqlab.registry import Registry

TEXT_COLUMN_NAMES = ("text", "sentence", "review", "content", "tweet", "document", "comment")
LABEL_COLUMN_NAMES = ("label", "emotion", "sentiment", "class", "category", "target", "labels")

Reader = Callable[["ReadRequest"], pd.DataFrame]
READERS: Registry[Reader] = Registry("data format")

EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "lines",
    ".lines": "lines",
}


@dataclass
class ReadRequest:
    """What a reader needs: the path, the encoding and the ``lines`` separator."""

    path: Path
    encoding: str = "utf-8"
    separator: str = ";"

    def raw_bytes(self) -> bytes:
        return read_bytes(self.path)

    def text(self) -> str:
        """The whole file decoded; a decoding failure names the line and the fix."""
        return decode(self.raw_bytes(), self.path, self.encoding)


@dataclass
class LabeledData:
    """Texts with their labels, and where each came from (for messages)."""

    texts: list[str]
    labels: list[str]
    source: str
    rows: list[int] = field(default_factory=list)
    row_unit: str = "row"

    def __post_init__(self) -> None:
        if not self.rows:
            self.rows = list(range(1, len(self.texts) + 1))

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int]) -> LabeledData:
        return LabeledData(
            [self.texts[i] for i in indices],
            [self.labels[i] for i in indices],
            self.source,
            [self.rows[i] for i in indices],
            self.row_unit,
        )

    def where(self, i: int) -> str:
        return f"{self.row_unit} {self.rows[i]}"


def format_suffix(path: Path) -> str:
    """The extension that names the format: ``.csv`` for ``data.csv.gz`` too."""
    return path.suffixes[-2] if path.suffix == ".gz" and len(path.suffixes) > 1 else path.suffix


def detect_format(path: Path) -> str:
    suffix = format_suffix(path)
    fmt = EXTENSIONS.get(suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            f"pass --format with one of: {', '.join(READERS.names())}"
        )
    return fmt


def _read_delimited(request: ReadRequest, sep: str) -> pd.DataFrame:
    text = request.text()
    header = next(csv.reader(io.StringIO(text), delimiter=sep), [])
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(f"{request.path}: the header names the column "
                        f"{', '.join(map(repr, repeated))} more than once; give every column "
                        "its own name")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                            na_values=[""], engine="c")
    except pd.errors.EmptyDataError:
        raise DataError(f"{request.path}: the file is empty; it needs a header row and data") \
            from None
    except pd.errors.ParserError as err:
        raise DataError(
            f"{request.path}: cannot parse it as {'TSV' if sep == chr(9) else 'CSV'}: {err}. "
            "Check the quoting and the number of fields on that line."
        ) from None
    columns = [str(c) for c in frame.columns]
    again = frame.astype(str).eq(columns).all(axis=1) if columns else None
    if again is not None and again.any():
        row = int(again.to_numpy().argmax()) + 1
        raise DataError(f"{request.path}, data row {row}: the header row appears again (were "
                        "two files joined?); remove the repeated header lines")
    return frame


@READERS.register("csv")
def read_csv(request: ReadRequest) -> pd.DataFrame:
    """Comma-separated values with a header row."""
    return _read_delimited(request, ",")


@READERS.register("tsv")
def read_tsv(request: ReadRequest) -> pd.DataFrame:
    """Tab-separated values with a header row."""
    return _read_delimited(request, "\t")


def json_record(path: Path, line: str, number: int) -> dict[str, object] | None:
    """Line ``number`` of a JSONL file as a record (None when blank); a line that is not a
    JSON object is a DataError naming it."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}, line {number}: not valid JSON ({err.msg})") from None
    if not isinstance(record, dict):
        raise DataError(f"{path}, line {number}: expected a JSON object per line")
    return record


@READERS.register("jsonl")
def read_jsonl(request: ReadRequest) -> pd.DataFrame:
    """One JSON object per line."""
    records = [json_record(request.path, line, number)
               for number, line in enumerate(request.text().splitlines(), start=1)]
    return pd.DataFrame.from_records([r for r in records if r is not None]).astype(object)


@READERS.register("parquet")
def read_parquet(request: ReadRequest) -> pd.DataFrame:
    """An Apache Parquet file."""
    try:
        return pd.read_parquet(io.BytesIO(request.raw_bytes()))
    except Exception as err:  # pyarrow raises several unrelated types for bad files
        raise DataError(f"{request.path}: cannot read it as Parquet ({err})") from None


@READERS.register("lines")
def read_lines(request: ReadRequest) -> pd.DataFrame:
    """``text;label`` per line, no header; the label follows the last separator."""
    texts, labels, numbers = [], [], []
    for number, line in enumerate(request.text().splitlines(), start=1):
        pair = text_and_label(request.path, line, number, request.separator)
        if pair is not None:
            texts.append(pair[0])
            labels.append(pair[1])
            numbers.append(number)
    return pd.DataFrame({"text": texts, "label": labels, "__line__": numbers}, dtype=object)


def text_and_label(path: Path, line: str, number: int,
                   separator: str) -> tuple[str, str] | None:
    """Line ``number`` of a ``text;label`` file (None when blank); the label follows the
    last separator."""
    if not line.strip():
        return None
    if not separator:
        raise DataError(f"{path}: the separator is empty; give the character between text "
                        "and label, e.g. --separator ';'")
    text, sep, label = line.rpartition(separator)
    if not sep:
        raise DataError(f"{path}, line {number}: no {separator!r} separating text and label. "
                        "Each line must read `text;label` (or pass --separator).")
    return text, label.strip()


def read_table(path: str | Path, fmt: str | None = None, encoding: str = "utf-8",
               separator: str = ";") -> pd.DataFrame:
    """Read a data file into a DataFrame, choosing the reader by ``fmt`` or the extension."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; give a data file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    reader = READERS.get(fmt or detect_format(path))
    frame = reader(ReadRequest(path, encoding, separator))
    if len(frame) == 0:
        raise DataError(f"{path}: the file has no data rows")
    return frame


def pick_column(frame: pd.DataFrame, wanted: str | None, candidates: Sequence[str],
                 role: str, path: Path, option: str | None = None) -> str:
    """The column for ``role``: ``wanted`` if given, else the first of ``candidates``
    found (any case); messages name ``option`` (``--<role>-column`` unless given)."""
    option = option or f"--{role}-column"
    columns = [str(c) for c in frame.columns if c != "__line__"]
    if wanted is not None:
        if wanted in columns:
            return wanted
        raise DataError(
            f"{path}: no column {wanted!r}; the columns are: {', '.join(columns)}. "
            f"Pass {option} with one of them."
        )
    lowered = {c.lower(): c for c in columns}
    for name in candidates:
        if name in lowered:
            return lowered[name]
    raise DataError(
        f"{path}: cannot find the {role} column; the columns are: {', '.join(columns)}. "
        f"Pass --{role}-column with one of them."
    )


def frame_rows(frame: pd.DataFrame) -> tuple[list[int], str]:
    """Where each row of a table came from, for messages: file lines (``lines`` files)
    or data rows."""
    if "__line__" in frame.columns:
        return [int(n) for n in frame["__line__"]], "line"
    return list(range(1, len(frame) + 1)), "data row"


def text_cells(frame: pd.DataFrame, column: str) -> list[str]:
    """A text column as strings, missing cells as empty texts."""
    return ["" if t is None or (isinstance(t, float) and t != t) else str(t)
            for t in frame[column].tolist()]


# Labels read as missing, as pandas reads these strings in a numeric column (a lowercase
# "none" stays a class: "no emotion" is a real label in some sets).
MISSING_LABELS = frozenset({"nan", "NaN", "NAN", "-nan", "-NaN", "None", "null", "NULL",
                            "Null", "NA", "N/A", "n/a", "#N/A", "<NA>"})


def _label_to_str(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text if text and text not in MISSING_LABELS else None


def _check_joined_rows(texts: list[str], labels: list[str | None], separator: str,
                       path: Path, rows: list[int], unit: str) -> None:
    """An unbalanced quote makes the parser read on into the next lines, so several rows
    arrive as one text: a line inside a text that ends in ``<separator><known label>``."""
    known = {label for label in labels if label}
    for i, text in enumerate(texts):
        if "\n" not in text:
            continue
        for line in text.split("\n")[:-1]:
            _head, sep, tail = line.rpartition(separator)
            if sep and tail.strip().strip('"') in known:
                raise DataError(
                    f"{path}, {unit} {rows[i]}: its text runs over several lines that look "
                    f"like rows of their own ({line[:60]!r}): a quote (\") opened in that row "
                    "is closed only rows later. Fix the quoting of that row."
                )


def read_labeled(
    path: str | Path,
    fmt: str | None = None,
    text_column: str | None = None,
    label_column: str | None = None,
    label_names: Sequence[str] | None = None,
    encoding: str = "utf-8",
    separator: str = ";",
) -> LabeledData:
    """Read texts and labels from a file.

    Columns are found by name (``text``/``sentence``/``review``… and
    ``label``/``emotion``/``sentiment``…) unless given. With ``label_names`` integer
    labels ``0..k-1`` become those names. Rows without a label are an error that counts
    them and names the first ones.
    """
    path = Path(path)
    frame = read_table(path, fmt, encoding, separator)
    text_col = pick_column(frame, text_column, TEXT_COLUMN_NAMES, "text", path)
    label_col = pick_column(frame, label_column, LABEL_COLUMN_NAMES, "label", path)
    rows, unit = frame_rows(frame)
    texts = text_cells(frame, text_col)
    values = frame[label_col].tolist()
    listed = next((i for i, v in enumerate(values) if isinstance(v, list | tuple)), None)
    if listed is not None:
        raise DataError(f"{path}, {unit} {rows[listed]}: the label is a list "
                        f"({str(values[listed])[:40]}): texts with several labels are "
                        "multi-label data; train on them with seqlab multilabel train")
    labels = [_label_to_str(v) for v in values]
    separator = {"csv": ",", "tsv": "\t"}.get(fmt or detect_format(path))
    if separator:
        _check_joined_rows(texts, labels, separator, path, rows, unit)
    missing = [rows[i] for i, label in enumerate(labels) if label is None]
    if missing:
        first = ", ".join(str(r) for r in missing[:5])
        raise DataError(
            f"{path}: {len(missing)} of {len(labels)} rows have no label in column "
            f"{label_col!r} (first at {unit} {first}; empty, or a missing-value word such as "
            "NaN or None). Fill in or remove those rows."
        )
    if not any(text.strip() for text in texts):
        raise DataError(f"{path}: every text in column {text_col!r} is empty; check the "
                        "text column (--text-column)")
    if label_names:
        labels = _map_label_names(labels, list(label_names), path, rows, unit)
    return LabeledData(texts, [str(label) for label in labels], str(path), rows, unit)


def _map_label_names(labels: list[str | None], names: list[str], path: Path,
                     rows: list[int], unit: str) -> list[str]:
    mapped = []
    for i, label in enumerate(labels):
        try:
            index = int(str(label))
        except ValueError:
            index = -1
        if not 0 <= index < len(names):
            raise DataError(
                f"{path}, {unit} {rows[i]}: label {label!r} is not an index 0..{len(names) - 1} "
                f"into --label-names ({', '.join(names)})."
            )
        mapped.append(names[index])
    return mapped
