"""How close the classifier's training loop runs to its own LSTM kernel, in float32 and bfloat16.

    python benchmarks/training_speed.py [--seeds 13,14,15] [--precisions float32,bfloat16]
    python benchmarks/training_speed.py --profile [--set training.precision=bfloat16]

The default classifier (its recurrent part, as ``benchmarks/emotion_default.py``) is
trained on the emotion split once per seed and precision. Beside it, in the same run, a
bare ``nn.LSTM`` of the model's size does one forward and backward pass over exactly the
batches one training epoch sees (the same bucketed lengths, random inputs): the kernel
alone, with no embedding, dropout, pooling, loss, optimizer or validation. "loop ×
bare" is the loop's training tokens/s (validation included) over the bare kernel's in
the same precision. Test scores are printed for each run; the choice of precision is
made on the validation column. Prediction is timed end to end on the test texts ×5
(preprocessing included), and "same as float32" counts the texts a float32-trained
model labels the same when it predicts in bfloat16.

``--profile`` trains one epoch under ``torch.profiler`` and prints the operations that
took the most time. ``--prediction-parts`` trains one epoch and times each part of
prediction alone on the test texts ×5: preprocessing, encoding, and the network in each
precision.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
import yaml
from sklearn.metrics import accuracy_score, f1_score
from torch import nn
from torch.profiler import profile

from seqlab.config import apply_overrides
from seqlab.data import read_labeled
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.network import predict_logits
from seqlab.text.batching import bucket_batches

from _common import EMOTION, machine_line, markdown_table, require


def bare_lstm_tokens_per_second(lengths: list[int], config: RunConfig, precision: str,
                                seed: int) -> float:
    """Forward + backward of a bare LSTM over one epoch of the loop's batch shapes."""
    m = config.model
    torch.manual_seed(seed)
    lstm = nn.LSTM(m.embedding_dim, m.hidden_size, batch_first=True)
    batches = bucket_batches(lengths, config.training.batch_size, shuffle=True,
                             seed=seed * 1000 + 1)
    shapes = [(len(idx), max(lengths[i] for i in idx)) for idx in batches]
    inputs = [torch.randn(b, t, m.embedding_dim, requires_grad=True) for b, t in shapes]
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        for x in inputs[:5]:  # warm-up
            lstm(x)[0].float().sum().backward()
        began = time.perf_counter()
        for x in inputs:
            lstm(x)[0].float().sum().backward()
        seconds = time.perf_counter() - began
    return sum(lengths) / seconds


def scores(y_true: list[str], y_pred: list[str]) -> dict[str, float]:
    return {"test accuracy": accuracy_score(y_true, y_pred),
            "test macro_f1": f1_score(y_true, y_pred, average="macro")}


def train_one(config: RunConfig, train, val) -> tuple[TextClassifier, float]:
    clf = TextClassifier.from_config(config)
    began = time.perf_counter()
    clf.fit(train.texts, train.labels, val.texts, val.labels)
    return clf, time.perf_counter() - began


def predict_rate(clf: TextClassifier, texts: list[str]) -> tuple[list[str], float]:
    began = time.perf_counter()
    labels = list(clf.predict(texts))
    return labels, len(texts) / (time.perf_counter() - began)


def run_profile(config: RunConfig, train, val, rows: int) -> None:
    config = apply_overrides(config, {"training.max_epochs": 1})
    with profile() as prof:
        clf, seconds = train_one(config, train, val)
    print(f"machine: {machine_line()}")
    print(f"one epoch under the profiler: {seconds:.1f} s; "
          f"{clf.fit_info_['train_tokens_per_second']:,.0f} training tokens/s\n")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows))


def run_prediction_parts(config: RunConfig, train, val, texts: list[str]) -> None:
    clf, _ = train_one(apply_overrides(config, {"training.max_epochs": 1}), train, val)
    began = time.perf_counter()
    tokens = clf.pipeline_.process_many(texts)
    parts = {"preprocessing": time.perf_counter() - began}
    began = time.perf_counter()
    sequences = [clf.vocab_.encode(t, clf.max_length_) for t in tokens]
    parts["encoding"] = time.perf_counter() - began
    for precision in ("float32", "bfloat16"):
        predict_logits(clf.module_, sequences, precision=precision)  # warm-up
        began = time.perf_counter()
        predict_logits(clf.module_, sequences, precision=precision)
        parts[f"network, {precision}"] = time.perf_counter() - began
    for precision in ("float32", "bfloat16"):
        clf.set_params(precision=precision)
        _, rate = predict_rate(clf, texts)
        parts[f"end to end, {precision}"] = len(texts) / rate
    print(f"machine: {machine_line()}")
    print(f"each part of prediction alone, on {len(texts):,} sentences (test ×5)\n")
    print(markdown_table([{"part": name, "seconds": seconds,
                           "sentences/s": len(texts) / seconds}
                          for name, seconds in parts.items()]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="13", help="comma-separated training seeds")
    parser.add_argument("--precisions", default="float32,bfloat16")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (repeatable)")
    parser.add_argument("--profile", action="store_true",
                        help="profile one training epoch instead")
    parser.add_argument("--rows", type=int, default=15, help="profile rows to print")
    parser.add_argument("--prediction-parts", action="store_true",
                        help="time each part of prediction instead")
    args = parser.parse_args()
    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    base = apply_overrides(RunConfig(), overrides)
    train, val, test = (read_labeled(require(EMOTION / f"{s}.txt"))
                        for s in ("train", "val", "test"))
    texts = test.texts * 5
    if args.profile:
        run_profile(base, train, val, args.rows)
        return
    if args.prediction_parts:
        run_prediction_parts(base, train, val, texts)
        return

    seeds = [int(s) for s in args.seeds.split(",")]
    precisions = args.precisions.split(",")
    rows, float32_models = [], {}
    lengths: list[int] | None = None
    by_precision: dict[str, list[float]] = {p: [] for p in precisions}
    for seed in seeds:
        for precision in precisions:
            config = apply_overrides(base, {"seed": seed, "training.precision": precision})
            clf, _ = train_one(config, train, val)
            info = clf.fit_info_
            if lengths is None:  # the same for every run: the data fixes the vocabulary
                lengths = [len(clf.vocab_.encode(tokens, clf.max_length_))
                           for tokens in clf.pipeline_.process_many(train.texts) if tokens]
            bare = bare_lstm_tokens_per_second(lengths, config, precision, seed)
            loop = info["train_tokens_per_second"]
            predicted, rate = predict_rate(clf, texts)
            test_scores = scores(test.labels, predicted[: len(test)])
            by_precision[precision].append(test_scores["test macro_f1"])
            row = {"precision": precision, "seed": seed,
                   "best val macro_f1": max(h["val_macro_f1"] for h in clf.history_),
                   **test_scores,
                   "epochs (best)": f"{info['epochs']} ({info['best_epoch']})",
                   "train s": info["train_seconds"], "loop tokens/s": loop,
                   "bare LSTM tokens/s": bare, "loop × bare": f"{loop / bare:.2f}",
                   "predict sent/s": rate, "same as float32": "-"}
            if precision == "float32":
                float32_models[seed] = (clf, predicted)
            rows.append(row)
    for seed, (clf, predicted) in float32_models.items():
        clf.set_params(precision="bfloat16")
        in_bf16, rate = predict_rate(clf, texts)
        same = float(np.mean(np.asarray(in_bf16) == np.asarray(predicted)))
        rows.append({"precision": "float32-trained, predicts in bfloat16", "seed": seed,
                     "best val macro_f1": "-", **scores(test.labels, in_bf16[: len(test)]),
                     "epochs (best)": "-", "train s": "-", "loop tokens/s": "-",
                     "bare LSTM tokens/s": "-", "loop × bare": "-", "predict sent/s": rate,
                     "same as float32": f"{same:.4f}"})

    print(f"machine: {machine_line()}")
    print(f"overrides: {overrides or 'none (defaults)'}; prediction timed on "
          f"{len(texts):,} sentences (test ×5), preprocessing included\n")
    print(markdown_table(rows))
    print()
    for precision, values in by_precision.items():
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"{precision}: test macro-F1 mean {statistics.mean(values):.4f}, "
              f"sd {spread:.4f} over {len(values)} seed(s)")


if __name__ == "__main__":
    main()
