"""Are the explanations faithful? Deletion curves on the emotion test split.

    python benchmarks/explain_faithfulness.py [--model FILE] [--save FILE] [--limit N]

The default classifier (``seqlab train``'s defaults: the ensemble) is trained on
``emotion/train.txt`` with ``val.txt`` choosing, or loaded from ``--model``. Every test
text is explained for its predicted label by integrated gradients and by occlusion; then
the k tokens with the highest attribution are deleted (k = 1, 2, 3, 5), and, for
comparison, k random tokens and the k tokens with the lowest attribution. The table gives
the mean fall of the predicted label's probability for each, the AOPC (the mean fall
over those k), the median completeness error of integrated gradients relative to
|f(x) − f(baseline)|, and the time per explanation.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from seqlab.data import read_labeled
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.estimators import classifier_for, load_classifier
from seqlab.tasks.classify.explain import explain_many, kept_proba, read

from _common import EMOTION, machine_line, markdown_table, require

KS = (1, 2, 3, 5)


def deletion_falls(clf, texts, explanations, order: str, rng) -> dict[int, float]:
    """The mean fall of the explained label's probability after deleting k tokens chosen
    by ``order`` (top, random, lowest), for each k in KS."""
    falls: dict[int, list[float]] = {k: [] for k in KS}
    for text, e in zip(texts, explanations, strict=True):
        n = len(e.tokens)
        if n == 0:
            continue
        scores = np.array([t.attribution for t in e.tokens])
        target = list(e.extra["probabilities"]).index(e.target)
        ranked = {"top": np.argsort(-scores, kind="stable"),
                  "lowest": np.argsort(scores, kind="stable"),
                  "random": rng.permutation(n)}[order]
        variants = [[i for i in range(n) if i not in set(ranked[:min(k, n)].tolist())]
                    for k in KS]
        proba = kept_proba(clf, read(clf, text))(variants)[:, target]
        for k, p in zip(KS, proba, strict=True):
            falls[k].append(e.extra["probabilities"][e.target] - float(p))
    return {k: float(np.mean(v)) for k, v in falls.items()}


def ratio(top: float, random: float) -> float | str:
    """How many times the random deletion's fall the top one's is (a random fall at or
    below zero leaves no ratio)."""
    return top / random if random > 0 else "random fall ≤ 0"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a saved classifier to explain (else train the default)")
    parser.add_argument("--save", help="save the trained model here")
    parser.add_argument("--limit", type=int, default=None, help="explain the first N test texts")
    parser.add_argument("--steps", type=int, default=50, help="integrated gradients' steps")
    args = parser.parse_args()

    test = read_labeled(require(EMOTION / "test.txt"))
    if args.model:
        clf = load_classifier(args.model)
    else:
        train, val = (read_labeled(require(EMOTION / f"{s}.txt")) for s in ("train", "val"))
        config = RunConfig()
        clf = classifier_for(config)
        began = time.perf_counter()
        clf.fit(train.texts, train.labels, val.texts, val.labels)
        print(f"trained {clf.describe()} in {time.perf_counter() - began:.0f}s")
        if args.save:
            clf.save(args.save)
    texts = test.texts[:args.limit]

    rows = []
    for method in ("ig", "occlusion"):
        began = time.perf_counter()
        explanations = explain_many(clf, texts, None, method, steps=args.steps)
        per_text = (time.perf_counter() - began) / len(texts)
        rng = np.random.default_rng(0)
        curves = {order: deletion_falls(clf, texts, explanations, order, rng)
                  for order in ("top", "random", "lowest")}
        completeness = "-"
        if method == "ig":
            errors = [abs(e.delta) / abs(e.value - e.reference) for e in explanations
                      if e.tokens and abs(e.value - e.reference) > 1e-6]
            completeness = f"{100 * float(np.median(errors)):.2f} %"
        for order, falls in curves.items():
            rows.append({"method": method, "deleted": f"{order} k",
                         **{f"fall k={k}": falls[k] for k in KS},
                         "AOPC": float(np.mean(list(falls.values()))),
                         "top-1 ÷ random-1": ratio(curves["top"][1], curves["random"][1])
                         if order == "top" else "-",
                         "median completeness error": completeness if order == "top" else "-",
                         "ms per text": 1000 * per_text if order == "top" else "-"})
    print(f"machine: {machine_line()}; model: {clf.describe()}; {len(texts)} test texts, "
          f"IG steps {args.steps}")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
