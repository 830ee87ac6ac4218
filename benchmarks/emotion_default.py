"""Train seqlab's default classifier on the emotion split; score the test split once.

    python benchmarks/emotion_default.py [--set model.hidden_size=64 ...]

Prints one Markdown table: the recurrent model next to two baselines trained and timed in
the same run (majority class; TF-IDF + logistic regression), with accuracy, macro-F1,
weighted-F1, training time, training tokens/s and prediction sentences/s (end to end:
preprocessing included), plus speed ratios against the TF-IDF baseline.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score

from seqlab.config import apply_overrides
from seqlab.data import read_labeled
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.tasks.classify.config import RunConfig

from _common import EMOTION, machine_line, markdown_table, require


def timed(fn):
    began = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - began


def scores(y_true, y_pred) -> dict[str, float]:
    return {
        "accuracy": accuracy_score(y_true, y_pred),
        "macro_f1": f1_score(y_true, y_pred, average="macro"),
        "weighted_f1": f1_score(y_true, y_pred, average="weighted"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key, e.g. model.cell=gru (repeatable)")
    parser.add_argument("--save", metavar="FILE", help="also save the trained model bundle here")
    args = parser.parse_args()
    overrides = {k: yaml.safe_load(v) for k, v in (item.split("=", 1) for item in args.set)}
    config = apply_overrides(RunConfig(), overrides)

    train, val, test = (read_labeled(require(EMOTION / f"{s}.txt"))
                        for s in ("train", "val", "test"))
    rows = []

    majority = max(set(train.labels), key=train.labels.count)
    rows.append({"model": "majority class", **scores(test.labels, [majority] * len(test)),
                 "train s": 0.0, "train tokens/s": "-", "predict sent/s": "-",
                 "train time ×tfidf": "-", "predict speed ×tfidf": "-", "params": 0})

    tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    logreg = LogisticRegression(max_iter=2000, C=10.0)
    _, tfidf_train_s = timed(lambda: logreg.fit(tfidf.fit_transform(train.texts), train.labels))
    texts = test.texts * 5
    _, tfidf_pred_s = timed(lambda: logreg.predict(tfidf.transform(texts)))
    tfidf_rate = len(texts) / tfidf_pred_s
    rows.append({"model": "TF-IDF (1-2 grams) + logistic regression",
                 **scores(test.labels, logreg.predict(tfidf.transform(test.texts))),
                 "train s": tfidf_train_s, "train tokens/s": "-", "predict sent/s": tfidf_rate,
                 "train time ×tfidf": "1.0", "predict speed ×tfidf": "1.0",
                 "params": int(logreg.coef_.size)})

    clf = TextClassifier.from_config(config)
    _, train_s = timed(lambda: clf.fit(train.texts, train.labels, val.texts, val.labels))
    test_pred = clf.predict(test.texts)
    _, pred_s = timed(lambda: clf.predict(texts))
    rate = len(texts) / pred_s
    m = config.model
    name = (f"{'Bi' if m.bidirectional else ''}{m.cell.upper()} {m.num_layers}×{m.hidden_size}, "
            f"emb {m.embedding_dim}, {m.pooling} pool (best epoch {clf.best_epoch_}/"
            f"{clf.fit_info_['epochs']})")
    rows.append({"model": name, **scores(test.labels, test_pred), "train s": train_s,
                 "train tokens/s": clf.fit_info_["train_tokens_per_second"],
                 "predict sent/s": rate,
                 "train time ×tfidf": f"{train_s / tfidf_train_s:.1f}",
                 "predict speed ×tfidf": f"{rate / tfidf_rate:.2f}",
                 "params": clf.n_parameters_})

    print(f"machine: {machine_line()}")
    print(f"overrides: {overrides or 'none (defaults)'}")
    print(f"prediction timed on {len(texts):,} sentences (test ×5), preprocessing included\n")
    print(markdown_table(rows))
    if args.save:
        clf.save(args.save, metrics={"test": scores(test.labels, test_pred)})
        print(f"\nmodel saved to {args.save}")
    per_class = clf.evaluate(test.texts, test.labels)["per_class"]
    print("\nper-class F1 of the recurrent model: " + ", ".join(
        f"{k} {v['f1']:.3f}" for k, v in per_class.items()))
    by_epoch = np.round([h["val_macro_f1"] for h in clf.history_], 4).tolist()
    print(f"val macro-F1 by epoch: {by_epoch}")


if __name__ == "__main__":
    main()
