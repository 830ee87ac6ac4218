"""Scores of outputs against references: BLEU and chrF (sacrebleu, on detokenised text,
with their signatures), exact match, and token and character error rates (edit distance
over the reference's length)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def edit_distance(a: Sequence[Any], b: Sequence[Any]) -> int:
    """Levenshtein distance: insertions, deletions and substitutions turning ``a`` into ``b``."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def error_rate(outputs: Sequence[Sequence[Any]], references: Sequence[Sequence[Any]]) -> float:
    """Total edit distance over total reference length."""
    edits = sum(edit_distance(o, r) for o, r in zip(outputs, references, strict=True))
    return edits / max(sum(len(r) for r in references), 1)


def seq2seq_scores(outputs: Sequence[str], references: Sequence[str]) -> dict[str, Any]:
    """BLEU, chrF (0–100), exact match (0–1), token and character error rates."""
    import sacrebleu

    bleu = sacrebleu.metrics.BLEU()
    chrf = sacrebleu.metrics.CHRF()
    outputs, references = list(outputs), list(references)
    return {
        "bleu": float(bleu.corpus_score(outputs, [references]).score),
        "chrf": float(chrf.corpus_score(outputs, [references]).score),
        "exact_match": sum(o == r for o, r in zip(outputs, references, strict=True))
        / max(len(references), 1),
        "token_error_rate": error_rate([o.split() for o in outputs],
                                       [r.split() for r in references]),
        "char_error_rate": error_rate(outputs, references),
        "pairs": len(references),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }
