"""Which preprocessing pipeline suits the emotion data? Measured on validation.

    python benchmarks/preprocessing.py [--seeds 1 2]

Trains the default model once per pipeline and seed on the emotion train split and
reports validation accuracy and macro-F1 (the numbers the default was chosen by) with
vocabulary size and preprocessing speed. The test split is not used here.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from seqlab.data import read_labeled
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.text.preprocess import PRESETS, Pipeline

from _common import EMOTION, machine_line, markdown_table, require

DEFAULT = PRESETS["default"]
PIPELINES = {
    "none (split only)": PRESETS["none"],
    "minimal (lowercase)": PRESETS["minimal"],
    "default": DEFAULT,
    "default + stopwords (negations kept)": [*DEFAULT, "remove_stopwords"],
    "default + stopwords (negations removed)": [
        *DEFAULT, {"remove_stopwords": {"keep_negations": False}}],
    "default + Porter stem": [*DEFAULT, "stem"],
    "default + lemmatize": [*DEFAULT, "lemmatize"],
    "aggressive (tutorial: no punctuation, numbers, stopwords; stem)": PRESETS["aggressive"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    train, val = (read_labeled(require(EMOTION / f"{s}.txt")) for s in ("train", "val"))
    rows = []
    for name, spec in PIPELINES.items():
        pipeline = Pipeline(spec)
        began = time.perf_counter()
        tokens = pipeline.process_many(train.texts)
        speed = len(train.texts) / (time.perf_counter() - began)
        accs, f1s = [], []
        for seed in args.seeds:
            clf = TextClassifier(preprocessing=spec, random_state=seed)
            clf.fit(train.texts, train.labels, val.texts, val.labels)
            best = next(h for h in clf.history_ if h["epoch"] == clf.best_epoch_)
            accs.append(best["val_accuracy"])
            f1s.append(best["val_macro_f1"])
        rows.append({"pipeline": name, "val accuracy": float(np.mean(accs)),
                     "val macro-F1": float(np.mean(f1s)),
                     "macro-F1 spread": float(np.max(f1s) - np.min(f1s)),
                     "vocab": len(clf.vocab_),
                     "tokens/text": float(np.mean([len(t) for t in tokens])),
                     "texts/s preprocessed": speed})
        print(f"{name}: {rows[-1]}", flush=True)
    print(f"\nmachine: {machine_line()}; seeds {args.seeds} (mean over seeds)\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
