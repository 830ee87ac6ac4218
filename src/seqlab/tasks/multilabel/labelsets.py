"""Reading texts with label sets: ``a|b`` in one label column, a JSON list per record in
JSONL, or one 0/1 column per label.

Sets travel as :class:`~seqlab.data.readers.LabeledData` whose labels are the sets
written canonically (sorted, joined by ``|``; the empty set is ``""``), so duplicates,
the stratified split and the messages work as for single labels.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from seqlab.data.readers import (
    LABEL_COLUMN_NAMES,
    MISSING_LABELS,
    TEXT_COLUMN_NAMES,
    LabeledData,
    frame_rows,
    pick_column,
    read_table,
    text_cells,
)
from seqlab.errors import DataError

JOIN = "|"  # between the labels of a canonical set
TRUE_VALUES = frozenset({"1", "1.0", "true", "yes"})
FALSE_VALUES = frozenset({"0", "0.0", "false", "no", ""})


def join_set(labels: Iterable[str]) -> str:
    """The canonical form of a label set: sorted, without repeats, joined by ``|``."""
    return JOIN.join(sorted(set(labels)))


def split_set(joined: str) -> tuple[str, ...]:
    """The labels of a canonical set (the empty string is the empty set)."""
    return tuple(joined.split(JOIN)) if joined else ()


def _cell_labels(value: object, separator: str, where: str) -> list[str]:
    """The labels one cell holds: a list (JSON), or a string split on ``separator``;
    empty, null and missing-value words are the empty set."""
    if value is None or (isinstance(value, float) and value != value):
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(separator)
    labels = []
    for item in items:
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        text = str(item).strip()
        if not text or text in MISSING_LABELS:
            continue
        if JOIN in text:
            raise DataError(f"{where}: the label {text!r} holds {JOIN!r}, which seqlab keeps "
                            "between the labels of a set; rename that label")
        labels.append(text)
    return labels


def _flag(value: object, column: str, where: str) -> bool:
    text = "" if value is None or (isinstance(value, float) and value != value) \
        else str(value).strip().lower()
    if text in TRUE_VALUES:
        return True
    if text in FALSE_VALUES:
        return False
    raise DataError(f"{where}: column {column!r} holds {str(value)[:30]!r}; a label column "
                    "holds 1 (the text has the label) or 0 (it has not)")


def read_label_sets(path: str | Path, fmt: str | None = None, text_column: str | None = None,
                    label_column: str | None = None,
                    label_columns: Sequence[str] | None = None, separator: str = "|",
                    encoding: str = "utf-8") -> tuple[LabeledData, list[str]]:
    """Texts and their label sets from a file, with notes on what was read.

    ``label_columns`` names one 0/1 column per label; otherwise one label column holds
    each text's labels separated by ``separator`` (or a JSON list). A column where some
    cells hold one label and others several is read as sets, and a note says so.
    """
    path = Path(path)
    frame = read_table(path, fmt, encoding)
    text_col = pick_column(frame, text_column, TEXT_COLUMN_NAMES, "text", path)
    rows, unit = frame_rows(frame)
    texts = text_cells(frame, text_col)
    notes: list[str] = []
    if label_columns:
        columns = [pick_column(frame, name, (), "label", path, "--label-columns")
                   for name in label_columns]
        sets = [[c for c in columns if _flag(frame[c].iat[i], c, f"{path}, {unit} {rows[i]}")]
                for i in range(len(frame))]
        notes.append(f"labels from the 0/1 columns {', '.join(columns)}")
    else:
        column = pick_column(frame, label_column, LABEL_COLUMN_NAMES, "label", path)
        sets = [_cell_labels(value, separator, f"{path}, {unit} {rows[i]}")
                for i, value in enumerate(frame[column].tolist())]
        values = frame[column].tolist()
        written_as_sets = sum(isinstance(v, list | tuple) or separator in str(v)
                              for v in values)
        if 0 < written_as_sets < len(values):
            notes.append(f"column {column!r}: {written_as_sets:,} rows hold label sets and "
                         f"{len(values) - written_as_sets:,} a single label (or none); all "
                         "are read as label sets")
    empty = sum(not s for s in sets)
    if empty:
        notes.append(f"{empty:,} of {len(sets):,} texts have no label (the empty set)")
    if not any(text.strip() for text in texts):
        raise DataError(f"{path}: every text in column {text_col!r} is empty; check the "
                        "text column (--text-column)")
    return LabeledData(texts, [join_set(s) for s in sets], str(path), rows, unit), notes


def write_entity_sets(conll: str | Path, out: str | Path) -> int:
    """Write the sentences of an entity-tagged CoNLL file as JSON lines ``{"text",
    "labels"}``, each labelled with the set of entity types it contains (the empty set
    allowed); return how many. This is how the CoNLL-2003 benchmark and the demo make
    multi-label data."""
    from seqlab.artifacts import atomic_write_text
    from seqlab.tasks.tag.conll import read_tagged

    lines = []
    for sentence in read_tagged(conll, column="ner").sentences:
        types = sorted({tag.split("-", 1)[1] for tag in sentence.tags if "-" in tag})
        lines.append(json.dumps({"text": " ".join(sentence.tokens), "labels": types},
                                ensure_ascii=False))
    atomic_write_text(Path(out), "\n".join(lines) + "\n")
    return len(lines)
