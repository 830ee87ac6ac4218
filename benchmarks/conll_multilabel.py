"""Multi-label classification on the CoNLL-2003 sentences (../shared/data/tagging/conll2003).

Each sentence is labelled with the set of entity types it contains (PER, LOC, ORG, MISC;
the empty set allowed), from the NER tags: train.txt trains, valid.txt chooses (the
epoch or C, then one threshold per label) and test.txt is scored once. The default
``seqlab multilabel train`` is run beside its baseline, TF-IDF n-grams with one logistic
regression per label and the same threshold tuning, on the same split.

    python benchmarks/conll_multilabel.py [--seeds 1,2,3] [--out /tmp/conll_multilabel]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from statistics import mean, stdev

from seqlab.config import apply_overrides
from seqlab.tasks.multilabel.config import MultiLabelConfig
from seqlab.tasks.multilabel.labelsets import write_entity_sets
from seqlab.tasks.multilabel.workflow import train_multilabel

from _common import SHARED, machine_line, markdown_table, require

HEADLINE = ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss")


def spread(values: list[float]) -> str:
    return f"{mean(values):.4f} ± {stdev(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--out", default="/tmp/conll_multilabel")
    parser.add_argument("--set", nargs="*", default=[], help="KEY=VALUE config overrides")
    args = parser.parse_args()
    folder = SHARED / "tagging" / "conll2003"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    files = {}
    for split in ("train", "valid", "test"):
        files[split] = out / f"{split}.jsonl"
        n = write_entity_sets(require(folder / f"{split}.txt"), files[split])
        print(f"{split}: {n:,} sentences", flush=True)
    print(machine_line() + "\n")
    overrides = dict(item.split("=", 1) for item in args.set)
    runs = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        config = apply_overrides(MultiLabelConfig(), {
            "data.train": str(files["train"]), "data.val": str(files["valid"]),
            "data.test": str(files["test"]), "seed": seed, "name": f"seed{seed}",
            "output_dir": str(out / "runs"), **overrides})
        began = time.perf_counter()
        outcome = train_multilabel(config, overwrite=True)
        runs.append((outcome, time.perf_counter() - began))
        print(f"seed {seed}: validation micro-F1 {outcome.val['micro_f1']:.4f}, test "
              f"{outcome.test['micro_f1']:.4f}", flush=True)
    rows = []
    for who in ("model", "baseline") if runs[0][0].baseline else ("model",):
        scores = [o.test if who == "model" else o.baseline["test"] for o, _ in runs]
        val = [o.val if who == "model" else o.baseline["val"] for o, _ in runs]
        rows.append({
            "model": who if who == "baseline" else "seqlab multilabel (default)",
            **{f"test {k}": spread([s[k] for s in scores]) for k in HEADLINE},
            "val micro_f1": spread([v["micro_f1"] for v in val]),
            "train s": mean(o.fit_info["train_seconds"] if who == "model"
                            else o.baseline["train_seconds"] for o, _ in runs)})
    print("\n" + markdown_table(rows))
    first = runs[0][0]
    if first.baseline is None:
        return
    print("\nper label, test, seed " + args.seeds.split(",")[0] + ":\n")
    print(markdown_table([{"label": label, "F1": m["f1"], "baseline F1":
                           first.baseline["test"]["per_label"][label]["f1"],
                           "support": m["support"],
                           "threshold": first.thresholds[label]}
                          for label, m in first.test["per_label"].items()]))


if __name__ == "__main__":
    main()
