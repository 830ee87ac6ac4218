"""Which model, which embedding? RNN vs LSTM vs GRU and the baselines on the emotion data.

    python benchmarks/emotion_study.py [--minutes 3] [--only lstm] [--out runs/emotion_study]

Every model is trained through ``seqlab.tasks.classify.workflow.train_run`` (the code behind
``seqlab train``) on ``../shared/data/emotion`` (train 16k / val 2k / test 2k): validation
picks the epoch (or the grid value), the test split is scored once. Each model gets a full
run folder under ``--out``; a finished one is reused when the script runs again, so the
study can be run in parts (``--only``). fastText (the ``fasttext-wheel`` package) is an
outside reference with fixed settings, trained here too.

Prints one Markdown table: test accuracy, macro-F1 and weighted-F1, training time (wall,
word-vector training included), prediction sentences/s (one call over the test split,
preprocessing included), trained parameters, and the training time as a ratio to
TF-IDF + logistic regression.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from seqlab.config import apply_overrides
from seqlab.data import read_labeled
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.estimators import load_classifier
from seqlab.tasks.classify.workflow import train_run

from _common import EMOTION, machine_line, markdown_table, require

# The tutorial set-up: Word2Vec 300-d, window 3, min count 3, averaged per sentence,
# 2 recurrent layers of 128, dropout 0.3; the vectors are features (frozen).
TUTORIAL_VECTORS = {"model.embedding_dim": 300, "model.embedding.window": 3,
                    "model.embedding.min_count": 3, "model.embedding.type": "word2vec",
                    "model.embedding.epochs": 10, "model.embedding.update": "frozen"}
AVERAGED = TUTORIAL_VECTORS | {"model.kind": "averaged", "model.num_layers": 2,
                               "model.hidden_size": 128, "model.dropout": 0.3,
                               "model.embedding_dropout": 0.0}
SEQUENCE = {"model.embedding_dim": 300}  # the same width as the vectors, for every start
WORD2VEC = {"model.embedding.type": "word2vec", "model.embedding.window": 3,
            "model.embedding.min_count": 3, "model.embedding.epochs": 10}
FASTTEXT = WORD2VEC | {"model.embedding.type": "fasttext"}


def study() -> dict[str, dict[str, Any]]:
    """Study row name → the config keys it sets over seqlab's defaults."""
    rows: dict[str, dict[str, Any]] = {}
    for cell in ("rnn", "lstm", "gru"):
        rows[f"{cell}-averaged-w2v"] = AVERAGED | {"model.cell": cell}
    rows["mlp-averaged-w2v"] = AVERAGED | {"model.kind": "averaged-mlp"}
    # no word order, but the vectors trained with the classifier (a deep averaging network)
    rows["mlp-averaged-w2v-finetune"] = AVERAGED | {"model.kind": "averaged-mlp",
                                                    "model.embedding.update": "fine-tune"}
    for cell in ("rnn", "lstm", "gru"):
        rows[f"{cell}-learned"] = SEQUENCE | {"model.cell": cell}
        rows[f"{cell}-w2v-init"] = SEQUENCE | WORD2VEC | {"model.cell": cell}
        rows[f"{cell}-fasttext-init"] = SEQUENCE | FASTTEXT | {"model.cell": cell}
    for cell in ("lstm", "gru"):
        rows[f"bi{cell}-w2v-init"] = SEQUENCE | WORD2VEC | {"model.cell": cell,
                                                            "model.bidirectional": True}
    rows["lstm-2layer-w2v-init"] = SEQUENCE | WORD2VEC | {"model.cell": "lstm",
                                                          "model.num_layers": 2}
    rows["tfidf-logreg"] = {"model.kind": "tfidf"}
    rows["tfidf-svm"] = {"model.kind": "tfidf", "model.linear.classifier": "svm"}
    rows["bow-nb"] = {"model.kind": "bow", "model.linear.classifier": "nb"}
    rows["minilm-frozen-logreg"] = {"model.kind": "minilm"}
    rows["minilm-finetune"] = {"model.kind": "minilm-finetune", "training.max_epochs": 6,
                               "training.patience": 2, "training.batch_size": 32,
                               "training.max_minutes": 40}  # about 4 minutes an epoch
    return rows


def run_row(name: str, overrides: dict[str, Any], out: Path, minutes: float,
            test_texts: list[str]) -> dict[str, Any]:
    run_dir = out / name
    if not (run_dir / "metrics.json").exists():
        config = apply_overrides(RunConfig(), {"training.max_minutes": minutes} | overrides | {
            "name": name, "output_dir": str(out),
            "data.train": str(EMOTION / "train.txt"), "data.val": str(EMOTION / "val.txt"),
            "data.test": str(EMOTION / "test.txt")})
        print(f"training {name} …", flush=True)
        train_run(config, overwrite=True)
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    clf = load_classifier(run_dir)
    clf.predict_proba(test_texts[:64])  # warm-up
    began = time.perf_counter()
    clf.predict_proba(test_texts)
    predict_seconds = time.perf_counter() - began
    test, fit = metrics["test"], metrics["fit"]
    return {"model": name, "accuracy": test["accuracy"], "macro-F1": test["macro_f1"],
            "weighted-F1": test["weighted_f1"], "train s": fit["wall_seconds"],
            "predict sent/s": len(test_texts) / predict_seconds,
            "params": fit["parameters"], "best epoch": f"{fit['best_epoch']}/{fit['epochs']}"}


def fasttext_row(train: Any, test: Any) -> dict[str, Any]:
    """fastText supervised (fixed settings, no tuning): the outside reference."""
    import tempfile

    import fasttext
    from sklearn.metrics import accuracy_score, f1_score

    from seqlab.text.preprocess import Pipeline

    pipeline = Pipeline("default")

    def lines(texts: list[str]) -> list[str]:
        return [" ".join(tokens) for tokens in pipeline.process_many(texts)]

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        for text, label in zip(lines(train.texts), train.labels, strict=True):
            handle.write(f"__label__{label} {text}\n")
    began = time.perf_counter()
    model = fasttext.train_supervised(handle.name, epoch=25, lr=0.5, wordNgrams=2, dim=100,
                                      seed=13, thread=2, verbose=0)
    train_seconds = time.perf_counter() - began
    Path(handle.name).unlink()
    began = time.perf_counter()
    predicted, _ = model.predict(lines(test.texts))
    predict_seconds = time.perf_counter() - began
    labels = [p[0].removeprefix("__label__") for p in predicted]
    return {"model": "fasttext (outside reference)",
            "accuracy": accuracy_score(test.labels, labels),
            "macro-F1": f1_score(test.labels, labels, average="macro"),
            "weighted-F1": f1_score(test.labels, labels, average="weighted"),
            "train s": train_seconds, "predict sent/s": len(test.texts) / predict_seconds,
            "params": int(model.get_input_matrix().size + model.get_output_matrix().size),
            "best epoch": "25 (fixed)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0,
                        help="training time budget per model")
    parser.add_argument("--only", default="", help="comma-separated substrings of row names")
    parser.add_argument("--out", default="runs/emotion_study", help="folder of the runs")
    args = parser.parse_args()
    train, test = (read_labeled(require(EMOTION / f"{s}.txt")) for s in ("train", "test"))
    wanted = [w for w in args.only.split(",") if w]
    rows = []
    for name, overrides in study().items():
        if wanted and not any(w in name for w in wanted):
            continue
        try:
            rows.append(run_row(name, overrides, Path(args.out), args.minutes, test.texts))
        except ImportError as err:  # the transformers extra is not installed
            print(f"skipping {name}: {err}")
    if not wanted or any(w in "fasttext (outside reference)" for w in wanted):
        try:
            rows.append(fasttext_row(train, test))
        except ImportError:
            print("skipping fastText: pip install fasttext-wheel")
    reference = next((r for r in rows if r["model"] == "tfidf-logreg"), None)
    for row in rows:
        row["train time ×tfidf-logreg"] = (row["train s"] / reference["train s"]
                                           if reference else "-")
    rows.sort(key=lambda r: -r["macro-F1"])
    print(f"\n{machine_line()}\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
