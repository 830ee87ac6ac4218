"""The report's explanation section of a classification run.

- **The most confident mistakes on the test split**, each with its words highlighted for
  the label the model wrongly chose: what misled it.
- **The words that push each class most**, over the validation split: every validation
  text (a seeded sample of at most :data:`VALIDATION_TEXTS`) is explained for its
  predicted label, and each class lists the tokens with the largest mean attribution
  among the texts predicted as that class, with how often each was seen.

The test split is only read here for its mistakes, after the model was chosen; nothing
is tuned on it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from seqlab.evaluation.report import Highlight
from seqlab.explain.explanation import html_marked, markdown_marked
from seqlab.tasks.classify.explain import explain_many, methods_for

MISTAKES = 8
VALIDATION_TEXTS = 300
WORDS_PER_CLASS = 8
MIN_COUNT = 3  # a word must be seen this often among a class's texts to be listed
REPORT_STEPS = 20  # integrated gradients' steps here (the CLI's default is 50)


def _budget(clf: Any) -> int:
    """Validation texts to explain: fewer where the method runs the model per token."""
    return VALIDATION_TEXTS if methods_for(clf)[0] != "occlusion" else VALIDATION_TEXTS // 3


def confident_mistakes(clf: Any, texts: Sequence[str], labels: Sequence[str],
                       k: int = MISTAKES) -> list[Highlight]:
    """The ``k`` test texts predicted wrongly with the highest probability, highlighted."""
    if not texts:
        return []
    proba = clf.predict_proba(texts)
    predicted = proba.argmax(1)
    wrong = [i for i, (p, y) in enumerate(zip(predicted, labels, strict=True))
             if clf.labels_[p] != str(y)]
    wrong.sort(key=lambda i: -proba[i, predicted[i]])
    chosen = wrong[:k]
    explanations = explain_many(clf, [texts[i] for i in chosen], None, steps=REPORT_STEPS)
    return [Highlight(f"true {labels[i]}, predicted {e.target} "
                      f"(p = {proba[i, predicted[i]]:.3f})", html_marked(e), markdown_marked(e))
            for i, e in zip(chosen, explanations, strict=True)]


def class_words(clf: Any, texts: Sequence[str], seed: int,
                per_class: int = WORDS_PER_CLASS) -> tuple[list[str], list[list[Any]]]:
    """The table of the tokens that push each class most, over a sample of ``texts``."""
    budget = _budget(clf)
    rng = np.random.default_rng(seed)
    sample = [texts[i] for i in sorted(rng.permutation(len(texts))[:budget])]
    totals: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    predicted: dict[str, int] = defaultdict(int)
    for e in explain_many(clf, sample, None, steps=REPORT_STEPS):
        predicted[e.target] += 1
        for t in e.tokens:
            totals[e.target][t.token].append(t.attribution)
    rows = []
    for label in clf.labels_:
        seen = {w: float(np.mean(v)) for w, v in totals[label].items() if len(v) >= MIN_COUNT}
        ranked = sorted(seen.items(), key=lambda item: -item[1])[:per_class]
        words = ", ".join(f"{w} {m:+.3f} ({len(totals[label][w])})" for w, m in ranked
                          if m > 0)
        rows.append([label, predicted[label], words or "—"])
    return ["class", "texts predicted", "words that push it most: mean attribution (count)"], \
        rows


def explanation_sections(clf: Any, val_texts: Sequence[str], test_texts: Sequence[str],
                         test_labels: Sequence[str], seed: int) -> dict[str, Any]:
    """The report sections: a table of class words and the highlighted mistakes."""
    method = methods_for(clf)[0]
    header, rows = class_words(clf, val_texts, seed)
    caption = (f"Words that push each class most (validation, {method}, predicted label; "
               f"at least {MIN_COUNT} times)")
    return {"tables": {caption: (header, rows)},
            "highlights": {f"Most confident mistakes on the test split ({method}: green "
                           "pushed towards the predicted label, red away)":
                           confident_mistakes(clf, test_texts, test_labels)}}
