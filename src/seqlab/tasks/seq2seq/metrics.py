"""Scores of outputs against references: BLEU and chrF (sacrebleu, on detokenised text,
with their signatures), exact match, and token and character error rates (edit distance
over the reference's length).

An output may have several references (a word with two pronunciations, a sentence with
two translations): it is exact when it equals any of them, its error rates count the
edits to the closest one, and BLEU and chrF read them all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

References = str | Sequence[str]


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


def closest_error_rate(outputs: Sequence[str], references: Sequence[list[str]],
                       units: Callable[[str], Sequence[Any]]) -> float:
    """The error rate against each output's closest reference (fewest edits; of two as
    close, the longer), read as ``units`` (tokens or characters)."""
    edits = length = 0
    for output, refs in zip(outputs, references, strict=True):
        read = units(output)
        distance, longest = min((edit_distance(read, unit), -len(unit))
                                for unit in map(units, refs))
        edits, length = edits + distance, length - longest
    return edits / max(length, 1)


def reference_lists(references: Sequence[References]) -> list[list[str]]:
    """Each output's references as a list (a lone string is one reference)."""
    return [[r] if isinstance(r, str) else list(r) for r in references]


def seq2seq_scores(outputs: Sequence[str], references: Sequence[References]
                   ) -> dict[str, Any]:
    """BLEU, chrF (0–100), exact match (0–1), token and character error rates of
    ``outputs``, each against its reference or references."""
    import sacrebleu

    outputs, refs = list(outputs), reference_lists(references)
    if len(outputs) != len(refs):
        raise ValueError(f"{len(outputs)} outputs for {len(refs)} reference sets")
    most = max((len(r) for r in refs), default=1)
    streams = [[r[k] if k < len(r) else None for r in refs] for k in range(most)]
    bleu = sacrebleu.metrics.BLEU()
    chrf = sacrebleu.metrics.CHRF()
    return {
        "bleu": float(bleu.corpus_score(outputs, streams).score),
        "chrf": float(chrf.corpus_score(outputs, streams).score),
        "exact_match": sum(o in r for o, r in zip(outputs, refs, strict=True))
        / max(len(refs), 1),
        "token_error_rate": closest_error_rate(outputs, refs, str.split),
        "char_error_rate": closest_error_rate(outputs, refs, lambda text: text),
        "pairs": sum(len(r) for r in refs),
        "sources": len(refs),
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
    }
