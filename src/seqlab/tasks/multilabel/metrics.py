"""Multi-label scores and the per-label thresholds tuned on validation.

Truth and predictions are indicator matrices ``[n texts, k labels]`` (``True`` where the
text has the label). The empty set is a valid answer: a text with no label.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# the thresholds validation chooses among, per label (float32, as they are saved and used)
THRESHOLDS = np.round(np.arange(0.05, 0.951, 0.05), 2).astype(np.float32)


def indicator(sets: Sequence[Sequence[str]], labels: Sequence[str]) -> np.ndarray:
    """The ``[n, k]`` boolean matrix of ``sets`` over ``labels`` (unknown labels ignored)."""
    column = {label: j for j, label in enumerate(labels)}
    out = np.zeros((len(sets), len(labels)), dtype=bool)
    for i, labels_of_text in enumerate(sets):
        for label in labels_of_text:
            if label in column:
                out[i, column[label]] = True
    return out


def _prf(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> tuple[Any, Any, Any]:
    """Precision, recall and F1 from counts (0 where a ratio is 0 / 0)."""
    tp, fp, fn = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)
    return precision, recall, f1


def multilabel_metrics(truth: np.ndarray, predicted: np.ndarray,
                       labels: Sequence[str]) -> dict[str, Any]:
    """Micro and macro P/R/F1, per-label P/R/F1 and support, subset accuracy (the whole
    set right) and Hamming loss (the share of wrong text × label cells)."""
    truth, predicted = np.asarray(truth, dtype=bool), np.asarray(predicted, dtype=bool)
    tp = (truth & predicted).sum(axis=0)
    fp = (~truth & predicted).sum(axis=0)
    fn = (truth & ~predicted).sum(axis=0)
    precision, recall, f1 = _prf(tp, fp, fn)
    micro_p, micro_r, micro_f = _prf(tp.sum(), fp.sum(), fn.sum())
    n = len(truth)
    return {
        "micro_f1": float(micro_f), "micro_precision": float(micro_p),
        "micro_recall": float(micro_r),
        "macro_f1": float(f1.mean()), "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "subset_accuracy": float((truth == predicted).all(axis=1).mean()) if n else 0.0,
        "hamming_loss": float((truth != predicted).mean()) if truth.size else 0.0,
        "n": n, "empty_truth": int((~truth.any(axis=1)).sum()),
        "empty_predicted": int((~predicted.any(axis=1)).sum()),
        "per_label": {label: {"precision": float(precision[j]), "recall": float(recall[j]),
                              "f1": float(f1[j]), "support": int(truth[:, j].sum())}
                      for j, label in enumerate(labels)},
        "labels": list(labels),
    }


def tune_thresholds(proba: np.ndarray, truth: np.ndarray,
                    candidates: np.ndarray = THRESHOLDS) -> np.ndarray:
    """Per label, the candidate threshold with the best F1 on ``(proba, truth)``; ties go
    to the one nearest 0.5, and a label no text has keeps 0.5."""
    truth = np.asarray(truth, dtype=bool)
    chosen = np.full(truth.shape[1], 0.5, dtype=np.float32)
    order = np.argsort(np.abs(candidates - 0.5), kind="stable")  # nearest 0.5 first
    for j in range(truth.shape[1]):
        positive = truth[:, j]
        if not positive.any():
            continue
        decided = proba[:, j][:, None] >= candidates[order][None, :]  # [n, thresholds]
        tp = (decided & positive[:, None]).sum(axis=0)
        fp = (decided & ~positive[:, None]).sum(axis=0)
        fn = (~decided & positive[:, None]).sum(axis=0)
        chosen[j] = candidates[order][int(np.argmax(_prf(tp, fp, fn)[2]))]
    return chosen
