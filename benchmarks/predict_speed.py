"""End-to-end prediction speed of saved models on a labelled file's texts.

    python benchmarks/predict_speed.py DATA MODEL [MODEL ...] [--repeats 3]

Prints one Markdown row per model: sentences/s (best of the repeats; preprocessing,
every part of an ensemble, and the n-gram features included) and test accuracy, with the
speed ratio against the first model.
"""

from __future__ import annotations

import argparse
import time

from seqlab.data import read_labeled
from seqlab.tasks.classify.estimators import load_classifier

from _common import machine_line, markdown_table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = read_labeled(args.data)
    rows = []
    for path in args.models:
        clf = load_classifier(path)
        best = float("inf")
        for _ in range(args.repeats):
            began = time.perf_counter()
            proba = clf.predict_proba(data.texts)
            best = min(best, time.perf_counter() - began)
        accuracy = float((proba.argmax(1) == clf.label_indices(data.labels, "data")).mean())
        rows.append({"model": path, "sentences/s": len(data) / best, "accuracy": accuracy})
    for row in rows:
        row["speed ×first"] = row["sentences/s"] / rows[0]["sentences/s"]
    print(f"{machine_line()}\n`python benchmarks/predict_speed.py {args.data} "
          f"{' '.join(args.models)}`\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
