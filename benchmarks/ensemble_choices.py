"""The validation experiments behind the ensemble's defaults (BENCHMARKS.md §10).

    python benchmarks/ensemble_choices.py members [--variants default,bi,w2v,balanced]
        [--seeds 1,2,3]
    python benchmarks/ensemble_choices.py offsets MODEL [MODEL ...]

``members``: the recurrent model on emotion, one run per variant and seed, each scored on
the validation split, then the mean of the seeds' probabilities: does averaging seeds (or
a bidirectional cell, a Word2Vec start, balanced class weights) help?

``offsets``: would per-class additive log-probability offsets, chosen to maximise
macro-F1, help? Cross-fitted on the two halves of the emotion validation split (chosen
on one half, scored on the other) for each saved MODEL.

Neither reads the test split.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from seqlab.data import read_labeled
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.tasks.classify.estimators import load_classifier

from _common import EMOTION, machine_line, require

VARIANTS = {
    "default": {},
    "bi": {"bidirectional": True},
    "w2v": {"embedding": {"type": "word2vec"}},
    "balanced": {"class_weights": "balanced"},
}
OFFSETS = np.linspace(-1.0, 1.0, 11)


def scores(targets: np.ndarray, proba: np.ndarray) -> str:
    predicted = proba.argmax(1)
    return (f"accuracy {accuracy_score(targets, predicted):.4f}, macro-F1 "
            f"{f1_score(targets, predicted, average='macro'):.4f}")


def members(variants: list[str], seeds: list[int]) -> None:
    train, val = (read_labeled(require(EMOTION / f"{s}.txt")) for s in ("train", "val"))
    for name in variants:
        probas = []
        for seed in seeds:
            began = time.perf_counter()
            clf = TextClassifier(**VARIANTS[name], random_state=seed)
            clf.fit(train.texts, train.labels, val.texts, val.labels)
            probas.append(clf.predict_proba(val.texts))
            targets = clf.label_indices(val.labels, "validation")
            print(f"{name} seed {seed}: {scores(targets, probas[-1])} (best epoch "
                  f"{clf.best_epoch_}, {time.perf_counter() - began:.0f} s)", flush=True)
        for k in range(2, len(probas) + 1):
            print(f"{name} mean of the first {k} seeds: "
                  f"{scores(targets, np.mean(probas[:k], axis=0))}", flush=True)


def fit_offsets(log_p: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Coordinate ascent (two sweeps) over :data:`OFFSETS` per class, for macro-F1."""
    offsets = np.zeros(log_p.shape[1])
    for _ in range(2):
        for c in range(len(offsets)):
            best_f1, best = -1.0, 0.0
            for value in OFFSETS:
                trial = offsets.copy()
                trial[c] = value
                f1 = f1_score(targets, (log_p + trial).argmax(1), average="macro")
                if f1 > best_f1 + 1e-9:
                    best_f1, best = f1, value
            offsets[c] = best
    return offsets


def offsets(models: list[str]) -> None:
    val = read_labeled(require(EMOTION / "val.txt"))
    for model in models:
        clf = load_classifier(model)
        log_p = np.log(np.clip(clf.predict_proba(val.texts), 1e-12, None))
        targets = clf.label_indices(val.labels, "validation")
        order = np.random.default_rng(0).permutation(len(targets))
        halves = order[: len(order) // 2], order[len(order) // 2:]
        for chosen_on, scored_on in (halves, halves[::-1]):
            found = fit_offsets(log_p[chosen_on], targets[chosen_on])
            before = f1_score(targets[scored_on], log_p[scored_on].argmax(1), average="macro")
            after = f1_score(targets[scored_on], (log_p[scored_on] + found).argmax(1),
                             average="macro")
            print(f"{model}: held-out half macro-F1 {before:.4f} → {after:.4f} "
                  f"({after - before:+.4f}); offsets {np.round(found, 2).tolist()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("members")
    run.add_argument("--variants", default="default,bi,w2v")
    run.add_argument("--seeds", default="1,2,3")
    check = commands.add_parser("offsets")
    check.add_argument("models", nargs="+", help="saved emotion models (run folders)")
    args = parser.parse_args()
    print(machine_line())
    if args.command == "members":
        members(args.variants.split(","), [int(s) for s in args.seeds.split(",")])
    else:
        offsets(args.models)


if __name__ == "__main__":
    main()
