"""Named entities and parts of speech on CoNLL-2003 (../shared/data/tagging/conll2003).

Each model trains on train.txt; validation entity F1 (NER) or token accuracy (POS) on
valid.txt picks the epoch within a time budget, and test.txt is scored once. Word
embeddings are learned (the default), or start from Word2Vec/FastText trained on the
training sentences (``-w2v``, ``-ft``), with the 50,000 IMDB reviews of
``../shared/data/imdb`` as unlabelled text beside them (``-imdb``): the only sizeable
English text in the shared data. No test sentence is read before the test is scored.
The table gives test entity F1 (or accuracy), validation score, training time (the
recurrent training alone, and the whole fit with the word vectors), tagging speed and
parameters; the NER rows add the per-type F1 of the first model. ``-x3`` (``-x5``) is the
mean of three (five) taggers, ``model.members``; the budget is each one's.

    python benchmarks/conll2003.py [--models bilstm-crf,bilstm,bilstm-crf-nochars,pos,...]
        [--minutes 12] [--set training.precision=bfloat16 ...] [--scratch runs/conll]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import yaml

from seqlab.config import apply_overrides
from seqlab.engine.estimator import kept_weights
from seqlab.tasks.tag.config import TagConfig
from seqlab.tasks.tag.conll import read_tagged
from seqlab.tasks.tag.tagger import Tagger

from _common import SHARED, machine_line, markdown_table, require

IMDB_TEXT = "@imdb"  # stands for the IMDB reviews, one per line, written to the scratch folder
W2V = {"model.embedding.type": "word2vec"}
FASTTEXT = {"model.embedding.type": "fasttext"}
WITH_IMDB = {"data.vectors_text": [IMDB_TEXT], "model.embedding.min_count": 3}

# name → (tag column, settings on top of the defaults of ``seqlab tag train``)
MODELS: dict[str, tuple[str, dict[str, Any]]] = {
    "bilstm-crf": ("ner", {}),
    "bilstm": ("ner", {"model.crf": False}),
    "bilstm-crf-nochars": ("ner", {"model.chars": False}),
    "bigru-crf": ("ner", {"model.cell": "gru"}),
    "bilstm-crf-charcnn": ("ner", {"model.char_encoder": "cnn"}),
    "bilstm-crf-w2v": ("ner", W2V),
    "bilstm-crf-ft": ("ner", FASTTEXT),
    "bilstm-crf-w2v-imdb": ("ner", W2V | WITH_IMDB),
    "bilstm-crf-ft-imdb": ("ner", FASTTEXT | WITH_IMDB),
    "bilstm-crf-charcnn-w2v-imdb": ("ner", {"model.char_encoder": "cnn"} | W2V | WITH_IMDB),
    "bilstm-crf-w2v-imdb-x3": ("ner", W2V | WITH_IMDB | {"model.members": 3}),
    "bilstm-crf-w2v-imdb-x5": ("ner", W2V | WITH_IMDB | {"model.members": 5}),
    "pos": ("pos", {}),
    "pos-w2v-imdb": ("pos", W2V | WITH_IMDB),
    "pos-w2v-imdb-x3": ("pos", W2V | WITH_IMDB | {"model.members": 3}),
}


def imdb_text(scratch: Path) -> str:
    """The IMDB reviews as a text file, one review per line, line breaks (``<br />``)
    made spaces."""
    path = scratch / "imdb_reviews.txt"
    if not path.exists():
        reviews = pd.read_csv(require(SHARED / "imdb" / "imdb_50k.csv.gz"))["review"]
        scratch.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(re.sub(r"<br\s*/?>|\s+", " ", str(r)).strip()
                                  for r in reviews) + "\n", encoding="utf-8")
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="bilstm-crf,bilstm,bilstm-crf-nochars,pos")
    parser.add_argument("--minutes", type=float, default=12.0, help="training budget each")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key for every model, e.g. seed=14 (repeatable)")
    parser.add_argument("--scratch", default="runs/conll", help="where the IMDB text goes")
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
        if IMDB_TEXT in settings.get("data.vectors_text", []):
            settings = settings | {"data.vectors_text": [imdb_text(Path(args.scratch))]}
        data = {split: read_tagged(path, column=column).sentences
                for split, path in files.items()}
        config = apply_overrides(TagConfig(), {"training.max_minutes": args.minutes,
                                               "training.max_epochs": 50, **settings,
                                               **overrides})
        fit_began = time.perf_counter()
        tagger = Tagger(config).fit(data["train"], data["valid"])
        fit_seconds = time.perf_counter() - fit_began
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
            "set-up": (f"{m.members} × " if m.members > 1 else "")
                      + f"{m.cell} {m.num_layers}×{m.hidden_size}×2"
                      f"{' + chars ' + m.char_encoder if m.chars else ''}"
                      f"{' + CRF' if m.crf else ''}"
                      + _vectors(config),
            "test score": test[metric], "metric": "entity F1" if metric == "f1" else "accuracy",
            "val score": val[metric], "epochs (kept)": f"{info['epochs']} ({kept_weights(info)})",
            "train min": info["train_seconds"] / 60, "fit min": fit_seconds / 60,
            "vocabulary": info["vocab_size"], "test tokens/s": tokens / seconds,
            "parameters": info["parameters"]})
        print(f"{name}: test {metric} {test[metric]:.4f} after {info['epochs']} epochs",
              flush=True)
        if "members" in info:
            print(f"{name}: validation {metric} of the members alone "
                  f"{', '.join(f'{v:.4f}' for v in info['members']['validation'])}; "
                  f"of their mean {info['members']['mean_validation']:.4f}; averaged epochs "
                  f"kept: {info['members']['averaged']}", flush=True)
    print("\n" + markdown_table(rows))
    if per_type is not None:
        name, scores = per_type
        print(f"\nper type, {name}, test:\n")
        print(markdown_table([{"type": kind, "precision": s["precision"],
                               "recall": s["recall"], "F1": s["f1"], "support": s["support"]}
                              for kind, s in scores.items()]))
    print(f"\ntorch threads: {torch.get_num_threads()}")


def _vectors(config: TagConfig) -> str:
    emb = config.model.embedding
    if emb.type == "learned":
        return ""
    return f", {emb.type}" + (" + IMDB text" if config.data.vectors_text else "")


if __name__ == "__main__":
    main()
