"""The default ``seqlab train`` against its TF-IDF baseline on every classification set.

    python benchmarks/classification_suite.py [--datasets emotion,trec,sms,imdb]
        [--seeds 1,2,3] [--set model.kind=recurrent ...] [--out runs/suite]

Each dataset is trained exactly as a new user would: the default config with only the
data files given (validation split off the training file where the set has none), once
per seed. The baseline is the one every run fits beside the model (TF-IDF word+char
n-grams + logistic regression, ``C`` chosen on validation). Prints one Markdown table:
test accuracy and macro-F1 as mean ± sd over the seeds for the model and the baseline,
their difference, training seconds and prediction sentences/s (end to end, preprocessing
included), and the speed ratio against the baseline.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import pandas as pd
import yaml

from seqlab.config import apply_overrides
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.workflow import load_splits, train_run

from _common import SHARED, machine_line, markdown_table, require


def _imdb_files(folder: Path) -> dict[str, str]:
    """IMDB's own train/test split as two CSV files (validation comes from train)."""
    frame = pd.read_csv(require(SHARED / "imdb" / "imdb_50k.csv.gz"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split in ("train", "test"):
        path = folder / f"imdb_{split}.csv"
        if not path.exists():
            frame.loc[frame["split"] == split, ["review", "sentiment"]].to_csv(path, index=False)
        paths[split] = str(path)
    return paths


def dataset_files(name: str, scratch: Path) -> dict[str, str]:
    """``data.train`` / ``data.val`` / ``data.test`` for one suite dataset."""
    emotion = SHARED / "emotion"
    table = {
        "emotion": lambda: {s: str(require(emotion / f"{s}.txt"))
                            for s in ("train", "val", "test")},
        "trec": lambda: {s: str(require(SHARED / "classification" / "trec" / f"{s}.csv"))
                         for s in ("train", "test")},
        "sms": lambda: {"train": str(require(SHARED / "classification" / "sms_spam" /
                                             "sms_spam.csv"))},
        "imdb": lambda: _imdb_files(scratch / "imdb"),
    }
    return table[name]()


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def run_dataset(name: str, seeds: list[int], overrides: dict, out: Path) -> dict[str, object]:
    files = dataset_files(name, out)
    runs = []
    for seed in seeds:
        config = apply_overrides(RunConfig(), {**{f"data.{k}": v for k, v in files.items()},
                                               **overrides, "seed": seed, "name":
                                               f"{name}-seed{seed}", "output_dir": str(out)})
        outcome = train_run(config, overwrite=True)
        test = load_splits(config).test
        began = time.perf_counter()
        outcome.classifier.predict_proba(test.texts)
        predict_seconds = time.perf_counter() - began
        baseline = outcome.baseline.rows[-1] if outcome.baseline else None
        runs.append({"acc": outcome.test_metrics["accuracy"],
                     "f1": outcome.test_metrics["macro_f1"],
                     "base_acc": baseline["test_accuracy"] if baseline else float("nan"),
                     "base_f1": baseline["test_macro_f1"] if baseline else float("nan"),
                     "seconds": outcome.classifier.fit_info_["train_seconds"],
                     "linear_seconds": outcome.classifier.fit_info_.get("ensemble", {})
                     .get("linear_seconds", float("nan")),
                     "sent_s": len(test) / predict_seconds,
                     "weight": outcome.classifier.fit_info_.get("ensemble", {})
                     .get("weights", {}).get("recurrent", float("nan"))})
        print(f"{name} seed {seed}: {runs[-1]}", flush=True)
    column = {key: [r[key] for r in runs] for key in runs[0]}
    return {
        "dataset": name, "model": overrides.get("model.kind", RunConfig().model.kind),
        "test accuracy": mean_sd(column["acc"]), "test macro-F1": mean_sd(column["f1"]),
        "TF-IDF accuracy": mean_sd(column["base_acc"]),
        "TF-IDF macro-F1": mean_sd(column["base_f1"]),
        "macro-F1 − TF-IDF":
            f"{statistics.mean(column['f1']) - statistics.mean(column['base_f1']):+.4f}",
        "recurrent weight": mean_sd(column["weight"]),
        "train s": statistics.mean(column["seconds"]),
        "train × TF-IDF": statistics.mean(column["seconds"])
        / statistics.mean(column["linear_seconds"]),
        "predict sent/s": statistics.mean(column["sent_s"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="emotion,trec,sms,imdb")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--out", default="runs/suite", help="where the run folders go")
    args = parser.parse_args()
    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = [run_dataset(name, seeds, overrides, Path(args.out))
            for name in args.datasets.split(",")]
    print(f"\n{machine_line()}\n`python benchmarks/classification_suite.py "
          f"--datasets {args.datasets} --seeds {args.seeds}"
          + "".join(f" --set {s}" for s in args.set) + "`\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
