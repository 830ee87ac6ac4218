"""The linear classifiers side by side on the classification suite, as the ensemble fits them.

    python benchmarks/linear_choices.py [--datasets emotion,trec,sms,imdb] [--seed 1]
        [--classifiers nblogreg,logreg]

For each dataset, the split is the suite's (``classification_suite.py``: the set's own
validation file, or validation split off the training file with the seed), and each
classifier is the ``tfidf`` model with the default features and grid, so only the
classifier differs. Validation picks ``C`` within each row; the validation macro-F1 is
what a choice between the rows may read. The test columns are printed for the record,
never to choose. ``train s`` is the whole fit (features and every grid value) and
``× first`` its ratio to the first classifier's in the same run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from seqlab.config import apply_overrides
from seqlab.tasks.classify.baselines.linear import LinearTextClassifier
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.workflow import load_splits

from _common import machine_line, markdown_table
from classification_suite import dataset_files


def score_classifiers(name: str, classifiers: list[str], seed: int, scratch: Path
                      ) -> list[dict[str, object]]:
    files = dataset_files(name, scratch)
    config = apply_overrides(RunConfig(), {**{f"data.{k}": v for k, v in files.items()},
                                           "seed": seed, "model.kind": "tfidf"})
    splits = load_splits(config)
    assert splits.val is not None and splits.test is not None
    rows: list[dict[str, object]] = []
    for classifier in classifiers:
        clf = LinearTextClassifier.from_config(
            apply_overrides(config, {"model.linear.classifier": classifier}))
        began = time.perf_counter()
        clf.fit(splits.train.texts, splits.train.labels, splits.val.texts, splits.val.labels)
        seconds = time.perf_counter() - began
        best = clf.history_[clf.best_epoch_ - 1]
        test = clf.evaluate(splits.test.texts, splits.test.labels)
        rows.append({"dataset": name, "classifier": classifier, "C": best["value"],
                     "val accuracy": best["val_accuracy"], "val macro-F1": best["val_macro_f1"],
                     "test accuracy": test["accuracy"], "test macro-F1": test["macro_f1"],
                     "train s": seconds,
                     "× first": seconds / float(rows[0]["train s"]) if rows else 1.0})
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="emotion,trec,sms,imdb")
    parser.add_argument("--classifiers", default="nblogreg,logreg")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="runs/linear_choices", help="scratch folder")
    args = parser.parse_args()
    rows = [row for name in args.datasets.split(",")
            for row in score_classifiers(name, args.classifiers.split(","), args.seed,
                                         Path(args.out))]
    print(f"\n{machine_line()}\n`python benchmarks/linear_choices.py --datasets "
          f"{args.datasets} --classifiers {args.classifiers} --seed {args.seed}`\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
