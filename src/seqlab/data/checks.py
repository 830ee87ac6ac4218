"""Checks on labeled data: duplicates, conflicting labels, class counts."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from seqlab.data.readers import LabeledData
from seqlab.errors import DataError


@dataclass
class DataSummary:
    """What cleaning found, for the run's log and report."""

    rows_read: int
    duplicates_dropped: int
    conflicting_texts: int
    conflict_examples: list[tuple[str, list[str]]] = field(default_factory=list)
    class_counts: dict[str, int] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [
            f"{self.rows_read} rows read, {self.duplicates_dropped} exact duplicates dropped",
        ]
        if self.conflicting_texts:
            examples = "; ".join(
                f"{text[:60]!r} -> {'/'.join(labels)}" for text, labels in self.conflict_examples
            )
            out.append(
                f"{self.conflicting_texts} texts appear with conflicting labels "
                f"(kept as they are), e.g. {examples}"
            )
        return out


def drop_exact_duplicates(data: LabeledData) -> tuple[LabeledData, int]:
    """Keep the first of rows whose text and label are both identical."""
    seen: set[tuple[str, str]] = set()
    keep = []
    for i, pair in enumerate(zip(data.texts, data.labels, strict=True)):
        if pair not in seen:
            seen.add(pair)
            keep.append(i)
    return data.subset(keep), len(data) - len(keep)


def conflicting_labels(data: LabeledData) -> dict[str, list[str]]:
    """Texts that occur with more than one label, with their sorted labels."""
    labels_of: dict[str, set[str]] = defaultdict(set)
    for text, label in zip(data.texts, data.labels, strict=True):
        labels_of[text].add(label)
    return {text: sorted(labels) for text, labels in labels_of.items() if len(labels) > 1}


def require_two_classes(data: LabeledData) -> None:
    classes = set(data.labels)
    if len(classes) < 2:
        only = next(iter(classes)) if classes else "(none)"
        raise DataError(
            f"{data.source}: every row has the label {only!r}; a classifier needs at least "
            "two classes. Check the label column (--label-column) or add examples of the "
            "other classes."
        )


def clean_labeled(data: LabeledData) -> tuple[LabeledData, DataSummary]:
    """Drop exact duplicates, find conflicting labels, require two classes."""
    rows_read = len(data)
    data, dropped = drop_exact_duplicates(data)
    require_two_classes(data)
    conflicts = conflicting_labels(data)
    summary = DataSummary(
        rows_read=rows_read,
        duplicates_dropped=dropped,
        conflicting_texts=len(conflicts),
        conflict_examples=list(conflicts.items())[:3],
        class_counts=dict(sorted(Counter(data.labels).items())),
    )
    return data, summary
