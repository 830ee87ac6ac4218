"""How many recurrent members, and of which cells? Validation only (BENCHMARKS.md §25).

    python benchmarks/member_choices.py [--datasets emotion,trec,sms] [--seeds 1]
        [--members 6] [--cells lstm,gru] [--variant NAME:key=value,key=value …]
        [--out /tmp/member_choices]

For every dataset and seed, the suite's split (``classification_suite.py``'s files, split
as ``seqlab train`` splits them) trains ``--members`` recurrent models of each variant (the
default config but for the variant's parameters and the seed: seed, seed+1, …) and the
TF-IDF part. A variant is a cell of ``--cells`` or a ``--variant``: a name and the
estimator parameters it changes, e.g. ``--variant drop4:embedding_dropout=0.4``. Then, for
k = 1 … members, it scores on the validation split:

- the mean of the first k members of one variant, and of a mix (the first k/2 of two);
- the blend of that mean with the TF-IDF part, cross-fitted: the temperatures and the
  weight are chosen on one half of the validation split and scored on the other, then the
  other way round (the run itself chooses them on the whole split, so scoring the blend on
  the split that chose it would flatter it).

The test split is never read.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from seqlab.cli.common import key_values
from seqlab.config import apply_overrides
from seqlab.evaluation.metrics import log_loss
from seqlab.tasks.classify.baselines.linear import LinearTextClassifier
from seqlab.tasks.classify.classifier import TextClassifier
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.ensemble import blend, choose_weight, fit_temperature
from seqlab.tasks.classify.workflow import load_splits

from _common import machine_line, markdown_table
from classification_suite import dataset_files


def scores(targets: np.ndarray, proba: np.ndarray) -> dict[str, float]:
    predicted = proba.argmax(1)
    return {"accuracy": accuracy_score(targets, predicted),
            "macro_f1": f1_score(targets, predicted, average="macro"),
            "log_loss": log_loss(proba, targets)}


def crossfit_blend(recurrent: np.ndarray, linear: np.ndarray, targets: np.ndarray
                   ) -> dict[str, float]:
    """The blend's validation scores, each half scored with what the other half chose."""
    order = np.random.default_rng(0).permutation(len(targets))
    halves = order[: len(order) // 2], order[len(order) // 2:]
    blended = np.zeros_like(recurrent)
    for chosen_on, scored_on in (halves, halves[::-1]):
        probas = [recurrent[chosen_on], linear[chosen_on]]
        temperatures = [fit_temperature(p, targets[chosen_on]) for p in probas]
        weight, _ = choose_weight(probas, temperatures, targets[chosen_on])
        blended[scored_on] = blend([recurrent[scored_on], linear[scored_on]], temperatures,
                                   [weight, 1.0 - weight])
    return scores(targets, blended)


def parse_variant(text: str) -> tuple[str, dict[str, Any]]:
    """``name:key=value,key=value`` → (name, parameters); values read as YAML scalars."""
    name, _, assignments = text.partition(":")
    return name, key_values([a for a in assignments.split(",") if a], "--variant")


def run(dataset: str, seed: int, count: int, members: dict[str, dict[str, Any]],
        out: Path) -> list[dict]:
    config = apply_overrides(RunConfig(), {**{f"data.{k}": v for k, v in
                                              dataset_files(dataset, out).items()},
                                           "seed": seed})
    splits = load_splits(config)
    train, val = splits.train, splits.val
    probas: dict[str, list[np.ndarray]] = {}
    targets = None
    for name, params in members.items():
        probas[name] = []
        for index in range(count):
            began = time.perf_counter()
            member = TextClassifier.from_config(config).set_params(
                **params, random_state=seed + index)
            member.fit(train.texts, train.labels, val.texts, val.labels)
            probas[name].append(member.predict_proba(val.texts))
            targets = member.label_indices(val.labels, "validation")
            print(f"{dataset} seed {seed} {name} member {index + 1}: "
                  f"{scores(targets, probas[name][-1])} (best epoch {member.best_epoch_}, "
                  f"{time.perf_counter() - began:.0f} s)", flush=True)
    linear = LinearTextClassifier.from_config(config).set_params(kind="tfidf")
    linear.fit(train.texts, train.labels, val.texts, val.labels)
    linear_proba = linear.predict_proba(val.texts)
    rows = [{"dataset": dataset, "seed": seed, "members": "TF-IDF alone",
             **{f"val {k}": v for k, v in scores(targets, linear_proba).items()},
             "blend accuracy": "", "blend macro_f1": ""}]
    variants = {name: lambda k, n=name: probas[n][:k] for name in members}
    if len(members) == 2:
        first, second = members
        variants["+".join(members)] = lambda k: probas[first][:(k + 1) // 2] + \
            probas[second][:k // 2]
    for name, pick in variants.items():
        for k in range(1, count + 1):
            mean = np.mean(pick(k), axis=0)
            rows.append({"dataset": dataset, "seed": seed, "members": f"{k} × {name}",
                         **{f"val {key}": v for key, v in scores(targets, mean).items()},
                         **{f"blend {key}": v for key, v in
                            crossfit_blend(mean, linear_proba, targets).items()
                            if key != "log_loss"}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="emotion,trec,sms")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--members", type=int, default=6)
    parser.add_argument("--cells", default="lstm,gru", help="comma-separated; empty for none")
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME:key=value,key=value (estimator parameters); repeatable")
    parser.add_argument("--out", default="/tmp/member_choices", help="scratch folder")
    args = parser.parse_args()
    members = {cell: {"cell": cell} for cell in filter(None, args.cells.split(","))}
    members |= dict(parse_variant(text) for text in args.variant)
    rows = [row for dataset in args.datasets.split(",")
            for seed in (int(s) for s in args.seeds.split(","))
            for row in run(dataset, seed, args.members, members, Path(args.out))]
    variants = "".join(f" --variant {text}" for text in args.variant)
    print(f"\n{machine_line()}\n`python benchmarks/member_choices.py --datasets "
          f"{args.datasets} --seeds {args.seeds} --members {args.members} --cells "
          f"'{args.cells}'{variants}`\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
