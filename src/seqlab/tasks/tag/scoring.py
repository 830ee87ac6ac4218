"""Scoring a tagger: entity-level P/R/F1 (the CoNLL rules) and token-level reports.

An entity counts as found only when a predicted entity has exactly its first token, its
last token and its type: a partial span or a wrong type is one false positive and one
false negative. The numbers agree with ``seqeval``'s default mode (tests check it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from seqlab.evaluation.metrics import classification_metrics
from seqlab.tasks.tag.schemes import spans


def _prf(correct: int, predicted: int, actual: int) -> dict[str, float]:
    precision = correct / predicted if predicted else 0.0
    recall = correct / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def entity_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
                  ) -> dict[str, Any]:
    """Micro precision/recall/F1 over all entities, per type, and the macro F1."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold and {len(predicted)} predicted sentences")
    correct: Counter[str] = Counter()
    found: Counter[str] = Counter()
    actual: Counter[str] = Counter()
    for number, (g, p) in enumerate(zip(gold, predicted, strict=True)):
        if len(g) != len(p):
            raise ValueError(f"sentence {number}: {len(g)} gold and {len(p)} predicted tags")
        gold_spans, pred_spans = set(spans(g)), set(spans(p))
        actual.update(kind for kind, _, _ in gold_spans)
        found.update(kind for kind, _, _ in pred_spans)
        correct.update(kind for kind, _, _ in gold_spans & pred_spans)
    per_type = {kind: {**_prf(correct[kind], found[kind], actual[kind]),
                       "support": actual[kind], "predicted": found[kind]}
                for kind in sorted(actual | found)}
    total = _prf(sum(correct.values()), sum(found.values()), sum(actual.values()))
    macro = (sum(t["f1"] for t in per_type.values()) / len(per_type)) if per_type else 0.0
    return {**total, "macro_f1": macro, "entities": sum(actual.values()),
            "per_type": per_type}


def token_scores(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                 tags: Sequence[str]) -> dict[str, Any]:
    """Token accuracy, per-tag precision/recall/F1 and the confusion matrix over ``tags``
    (gold tags the model never saw are added at the end)."""
    unseen = sorted({t for sentence in gold for t in sentence} - set(tags))
    labels = [*tags, *unseen]
    index = {tag: i for i, tag in enumerate(labels)}
    flat_gold = [index[t] for sentence in gold for t in sentence]
    flat_pred = [index[t] for sentence in predicted for t in sentence]
    return classification_metrics(flat_gold, flat_pred, labels)
