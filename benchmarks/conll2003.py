"""Named entities and parts of speech on CoNLL-2003 (../shared/data/tagging/conll2003).

Each model trains on train.txt; validation entity F1 (NER) or token accuracy (POS) on
valid.txt picks the epoch within a time budget, and test.txt is scored once. Word
embeddings are learned from the training data only (no pretrained vectors). The table
gives test entity F1 (or accuracy), validation score, training time, tagging speed and
parameters; the NER rows add the per-type F1 of the first model.

    python benchmarks/conll2003.py [--models bilstm-crf,bilstm,bilstm-crf-nochars,pos]
        [--minutes 12] [--set training.precision=bfloat16 ...]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import torch
import yaml

from seqlab.config import apply_overrides
from seqlab.tasks.tag.config import TagConfig
from seqlab.tasks.tag.conll import read_tagged
from seqlab.tasks.tag.tagger import Tagger

from _common import SHARED, machine_line, markdown_table, require

# name → (tag column, settings on top of the defaults of ``seqlab tag train``)
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "bilstm-crf": ("ner", {}),
    "bilstm": ("ner", {"model.crf": False}),
    "bilstm-crf-nochars": ("ner", {"model.chars": False}),
    "bigru-crf": ("ner", {"model.cell": "gru"}),
    "pos": ("pos", {}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="bilstm-crf,bilstm,bilstm-crf-nochars,pos")
    parser.add_argument("--minutes", type=float, default=12.0, help="training budget each")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key for every model, e.g. seed=14 (repeatable)")
    args = parser.parse_args()
    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    folder = SHARED / "tagging" / "conll2003"
    files = {split: require(folder / f"{split}.txt") for split in ("train", "valid", "test")}
    print(machine_line())
    print(f"data: {folder}; budget {args.minutes} min per model; "
          f"overrides: {overrides or 'none'}\n")
    rows, per_type = [], None
    for name in args.models.split(","):
        column, settings = MODELS[name]
        data = {split: read_tagged(path, column=column).sentences
                for split, path in files.items()}
        config = apply_overrides(TagConfig(), {"training.max_minutes": args.minutes,
                                               "training.max_epochs": 50, **settings,
                                               **overrides})
        tagger = Tagger(config).fit(data["train"], data["valid"])
        val = tagger.evaluate(data["valid"])
        began = time.perf_counter()
        test = tagger.evaluate(data["test"])
        seconds = time.perf_counter() - began
        tokens = sum(len(s.tokens) for s in data["test"])
        info = tagger.fit_info_
        metric = "f1" if tagger.entities_ else "accuracy"
        if tagger.entities_ and per_type is None:
            per_type = (name, test["per_type"])
        m = config.model
        rows.append({
            "model": name, "task": "NER" if tagger.entities_ else "POS",
            "set-up": f"{m.cell} {m.num_layers}×{m.hidden_size}×2"
                      f"{' + chars' if m.chars else ''}{' + CRF' if m.crf else ''}",
            "test score": test[metric], "metric": "entity F1" if metric == "f1" else "accuracy",
            "val score": val[metric], "epochs (best)": f"{info['epochs']} ({info['best_epoch']})",
            "train min": info["train_seconds"] / 60, "test tokens/s": tokens / seconds,
            "parameters": info["parameters"]})
        print(f"{name}: test {metric} {test[metric]:.4f} after {info['epochs']} epochs",
              flush=True)
    print("\n" + markdown_table(rows))
    if per_type is not None:
        name, scores = per_type
        print(f"\nper type, {name}, test:\n")
        print(markdown_table([{"type": kind, "precision": s["precision"],
                               "recall": s["recall"], "F1": s["f1"], "support": s["support"]}
                              for kind, s in scores.items()]))
    print(f"\ntorch threads: {torch.get_num_threads()}")


if __name__ == "__main__":
    main()
