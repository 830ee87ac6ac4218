"""What the commands do, as library functions: train a run, evaluate a file, predict.

These write run folders and return results; they never print. Progress and messages go
to the ``notify`` callable and the ``callbacks`` the caller passes (the CLI draws them).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.artifacts import atomic_write_text
from seqlab.config import apply_overrides, flatten_dotted
from seqlab.data.checks import DataSummary, clean_labeled
from seqlab.data.readers import (
    LabeledData,
    read_labeled,
)
from seqlab.data.split import stratified_split
from seqlab.data.writers import write_table
from seqlab.engine.batch_predict import BatchJob, RowPredictor, predict_stream
from seqlab.engine.estimator import kept_weights
from seqlab.engine.run_folder import prepare_run_dir, write_fit_record
from seqlab.errors import ConfigError, DataError
from seqlab.evaluation.metrics import classification_metrics
from seqlab.evaluation.plots import plot_confusion_matrix
from seqlab.evaluation.report import classification_sections, write_report
from seqlab.tasks.classify.baselines.common import TEXT_CHAR_LIMIT, as_texts
from seqlab.tasks.classify.baselines.comparison import (
    BaselineComparison,
    compare_with_baseline,
    evaluate_with_parts,
)
from seqlab.tasks.classify.config import RunConfig
from seqlab.tasks.classify.estimators import (
    Classifier,
    best_validation,
    classifier_for,
    load_classifier,
)
from seqlab.tasks.classify.explain_report import confident_mistakes, explanation_sections
from seqlab.training.distributed import world
from seqlab.training.tracking import CallbackList, make_trackers, require_trackers
from seqlab.training.trainer import TrainCallbacks

Notify = Callable[[str], None]
MODEL_FILE = "model.safetensors"


def _quiet(_: str) -> None:
    return None


@dataclass
class Splits:
    """Train, validation and test data with what cleaning found."""

    train: LabeledData
    val: LabeledData
    test: LabeledData
    notes: list[str] = field(default_factory=list)

    def class_counts(self) -> dict[str, dict[str, int]]:
        return {name: dict(sorted(Counter(part.labels).items()))
                for name, part in (("train", self.train), ("val", self.val), ("test", self.test))}


@dataclass
class TrainOutcome:
    """The result of :func:`train_run`."""

    run_dir: Path
    model_path: Path
    test_metrics: dict[str, Any]
    classifier: Classifier
    baseline: BaselineComparison | None = None


def _read(path: str, config: RunConfig) -> LabeledData:
    d = config.data
    return read_labeled(path, d.format, d.text_column, d.label_column, d.label_names,
                        d.encoding, d.separator)


def _cleaned(data: LabeledData, what: str, notes: list[str]) -> tuple[LabeledData, DataSummary]:
    data, summary = clean_labeled(data)
    notes.extend(f"{what} ({data.source}): {line}" for line in summary.lines())
    return data, summary


def load_splits(config: RunConfig) -> Splits:
    """Read, clean and split the data a config names.

    Exact duplicates are dropped from each file; conflicting labels are reported.
    Without ``val``/``test`` files, a stratified split with the config's seed makes them.
    """
    if not config.data.train:
        raise ConfigError("no training data: give a DATA file or `data.train` in the config")
    notes: list[str] = []
    train, _ = _cleaned(_read(config.data.train, config), "train", notes)
    val = _cleaned(_read(config.data.val, config), "val", notes)[0] if config.data.val else None
    test = _cleaned(_read(config.data.test, config), "test", notes)[0] if config.data.test \
        else None
    if val is None or test is None:
        val_fraction = 0.0 if val is not None else config.data.val_fraction
        test_fraction = 0.0 if test is not None else config.data.test_fraction
        train_idx, val_idx, test_idx = stratified_split(train.labels, val_fraction,
                                                        test_fraction, config.seed)
        made = [name for name, part in (("val", val), ("test", test)) if part is None]
        notes.append(f"split {', '.join(made)} from the training file, stratified, seed "
                     f"{config.seed}")
        val = val if val is not None else train.subset(val_idx)
        test = test if test is not None else train.subset(test_idx)
        train = train.subset(train_idx)
    if len(val) == 0 or len(test) == 0:
        raise DataError(
            f"{config.data.train}: too few rows to split off validation and test data "
            f"({len(train)} rows); add data or pass --val and --test files"
        )
    train_texts = set(train.texts)
    leaked = sum(text in train_texts for text in test.texts)
    if leaked:
        notes.append(f"{leaked} test texts also occur in the training data")
    return Splits(train, val, test, notes)


_FACT_WORDS = {"empty_after_preprocessing": " empty after preprocessing",
               "truncated": " cut at {tokens} tokens",
               "over_char_limit": " cut at the hard limit of {chars:,} characters"}


def text_facts(clf: Any, texts: Sequence[str]) -> dict[str, int]:
    """How many texts are empty after preprocessing, cut at the model's token limit, and
    cut at the hard character limit."""
    tokens = clf.pipeline_.process_many(as_texts(texts))
    max_length = getattr(clf, "max_length_", None)  # the linear baselines read every token
    return {"empty_after_preprocessing": sum(not t for t in tokens),
            "truncated": sum(len(t) > max_length for t in tokens) if max_length else 0,
            "over_char_limit": sum(len(t) > TEXT_CHAR_LIMIT for t in texts)}


def split_facts(clf: Any, splits: dict[str, Sequence[str]]
                ) -> tuple[dict[str, dict[str, int]], list[str]]:
    """:func:`text_facts` of each named split's texts, and one line per fact that counts
    any text."""
    facts = {name: text_facts(clf, texts) for name, texts in splits.items()}
    lines = [f"{name}: {count} of {len(splits[name])} texts"
             + _FACT_WORDS[key].format(tokens=getattr(clf, "max_length_", None),
                                       chars=TEXT_CHAR_LIMIT)
             for name, counts in facts.items() for key, count in counts.items() if count]
    return facts, lines


def fit_classifier(config: RunConfig, splits: Splits, checkpoint_dir: Path, resume: bool,
                   callbacks: TrainCallbacks | None = None) -> Classifier:
    """The estimator ``config`` names, fitted on the training split with validation
    choosing; with ``refit``, then trained again on training + validation with what
    validation chose (its checkpoints in ``checkpoint_dir/refit``)."""
    clf = classifier_for(config)
    if config.refit and not hasattr(clf, "refitted"):
        raise ConfigError(f"refit: model.kind {config.model.kind} cannot be trained again "
                          "on training + validation; set refit: false")
    clf.fit(splits.train.texts, splits.train.labels, splits.val.texts, splits.val.labels,
            checkpoint_dir=checkpoint_dir, resume=resume, callbacks=callbacks)
    if not config.refit:
        return clf
    return clf.refitted([*splits.train.texts, *splits.val.texts],
                        [*splits.train.labels, *splits.val.labels],
                        checkpoint_dir=checkpoint_dir / "refit", resume=resume,
                        callbacks=callbacks)


def train_run(config: RunConfig, callbacks: TrainCallbacks | None = None, resume: bool = False,
              overwrite: bool = False, notify: Notify = _quiet) -> TrainOutcome | None:
    """Train, evaluate on test once, and write the complete run folder.

    Under torchrun every process calls this: the processes other than rank 0 train
    alongside it and return None, having written nothing."""
    t = config.tracking
    require_trackers(t.tensorboard, t.mlflow)
    splits = load_splits(config)
    if not world().is_main:
        fit_classifier(config, splits, config.run_dir / "checkpoints", resume)
        return None
    run_dir = prepare_run_dir(config, resume, overwrite)
    trackers = make_trackers(t.tensorboard, t.mlflow, t.mlflow_uri, run_dir, config.name,
                             flatten_dotted(config.model_dump(mode="json")))
    log_lines: list[str] = []

    def say(line: str) -> None:
        log_lines.append(line)
        notify(line)

    for note in splits.notes:
        say(note)
    piped = [label for label in splits.train.labels if "|" in label]
    if piped:
        say(f"{len(piped):,} training labels hold '|' (like {piped[0]!r}): if those are "
            "label sets, this is multi-label data: seqlab multilabel train")
    for name, counts in splits.class_counts().items():
        say(f"{name}: {sum(counts.values())} rows; " +
            ", ".join(f"{label} {n}" for label, n in counts.items()))

    clf = fit_classifier(config, splits, run_dir / "checkpoints", resume,
                         CallbackList([callbacks, *trackers]))
    info = clf.fit_info_
    resolved = info.get("resolved") or {}
    for key, choice in resolved.items():
        say(f"{key}: {choice['value']} (auto) — {choice['why']}")
    if resolved:  # the saved config holds the numbers, so that it reproduces the run
        atomic_write_text(run_dir / "config.yaml", apply_overrides(
            config, {key: choice["value"] for key, choice in resolved.items()}).to_yaml())
    if info["train_texts_empty_dropped"]:
        say(f"{info['train_texts_empty_dropped']} training texts were empty after "
            "preprocessing and were left out of training")
    if "embedding" in info and "words_found" in info["embedding"]:
        say(f"embedding: {describe_coverage(info['embedding'])}")
    processes = f" on {info['processes']} processes" if info.get("processes", 1) > 1 else ""
    say(f"trained {info['epochs']} {clf.round_name}s in {info['train_seconds']:.1f}s"
        f"{processes} (stopped by {info['stopped']}); kept: "
        f"{kept_weights(info, clf.round_name)}")
    if info.get("refit"):
        say(f"refit: trained again on the {info['refit']['texts']:,} training + validation "
            f"texts with what validation chose ({info['refit']['seconds']:.1f}s); the "
            "validation scores are the validated model's")

    facts_by_split, lines = split_facts(clf, {name: getattr(splits, name).texts
                                              for name in ("train", "val", "test")})
    for line in lines:
        say(line)
    test_metrics, part_metrics = evaluate_with_parts(clf, splits.test.texts, splits.test.labels)
    say(f"test accuracy {test_metrics['accuracy']:.4f}, macro-F1 {test_metrics['macro_f1']:.4f}")
    comparison = compare_with_baseline(
        config, clf, (splits.train.texts, splits.train.labels),
        (splits.val.texts, splits.val.labels), (splits.test.texts, splits.test.labels),
        test_metrics, part_metrics)
    for line in comparison.lines() if comparison else []:
        say(line)

    best_val = best_validation(clf)
    metrics = {"test": test_metrics, "best_validation": best_val, "fit": info,
               "text_facts": facts_by_split, "test_text_facts": facts_by_split["test"],
               "data_notes": splits.notes, "class_counts": splits.class_counts(),
               "baseline": comparison.to_dict() if comparison else None}
    curves = write_fit_record(run_dir, metrics, clf, config.training.monitor
                              if clf.round_name == "epoch" else None)
    model_path = clf.save(run_dir / MODEL_FILE, metrics={"test": _scalars(test_metrics)})
    plot_confusion_matrix(test_metrics["confusion_matrix"], test_metrics["labels"],
                          run_dir / "confusion_matrix.png", "Test confusion matrix")
    images = {"Confusion matrix (test)": "confusion_matrix.png", **curves}
    why = explanation_sections(clf, splits.val.texts, splits.test.texts, splits.test.labels,
                               config.seed)
    sections = _with_baseline(classification_sections(test_metrics, splits.class_counts()),
                              comparison)
    sections["tables"] |= why["tables"]
    write_report(run_dir, f"seqlab run: {config.name}", {
        "summary": [
            f"model: {clf.describe()}",
            f"data: {config.data.train}",
            f"preprocessing: {clf.pipeline_.describe()}",
            f"validation {config.training.monitor} chose "
            f"{kept_weights(info, clf.round_name)} of {info['epochs']}; "
            "test scored once with that model",
            *log_lines,
        ],
        **sections,
        "highlights": why["highlights"],
        "images": images,
        "facts": {"vocabulary": info["vocab_size"], "parameters": clf.n_parameters_,
                  "training seconds": round(info["train_seconds"], 1),
                  "training tokens/s": round(info["train_tokens_per_second"]),
                  "seed": config.seed, "model file": MODEL_FILE,
                  "reproduce": f"seqlab train --config {run_dir / 'config.yaml'} --force"},
    })
    with open(run_dir / "train.log", "a", encoding="utf-8") as log:
        log.write("\n".join(log_lines) + "\n")
    return TrainOutcome(run_dir, model_path, test_metrics, clf, comparison)


def _with_baseline(sections: dict[str, Any], comparison: BaselineComparison | None
                   ) -> dict[str, Any]:
    """The report's sections with the baseline table first."""
    if comparison is not None:
        sections["tables"] = {"Against the baseline (validation chooses, test scored once)":
                              comparison.table(), **sections["tables"]}
    return sections


def describe_coverage(coverage: dict[str, Any]) -> str:
    """The coverage line of a run's report (see :class:`seqlab.vectors.embedding.Coverage`)."""
    return (f"{coverage['source']}: vectors for {coverage['words_found']:,} of "
            f"{coverage['vocab_words']:,} vocabulary words ({coverage['word_share']:.1%}), "
            f"{coverage['token_share']:.1%} of the training tokens")


def _scalars(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if isinstance(v, float)}


def evaluate_file(model_path: str | Path, data_path: str | Path, out_dir: str | Path,
                  fmt: str | None = None, text_column: str | None = None,
                  label_column: str | None = None, label_names: Sequence[str] | None = None,
                  encoding: str = "utf-8", separator: str = ";") -> dict[str, Any]:
    """Evaluate a saved model on a labeled file; write metrics, plot, report, predictions."""
    clf = load_classifier(model_path)
    data = read_labeled(data_path, fmt, text_column, label_column, label_names, encoding,
                        separator)
    unknown = sorted(set(data.labels) - set(clf.labels_))
    if unknown:
        first = next(i for i, label in enumerate(data.labels) if label in unknown)
        raise DataError(
            f"{data_path}: labels the model never saw: {', '.join(unknown[:5])} (first at "
            f"{data.where(first)}). The model knows: {', '.join(clf.labels_)}. Map them with "
            "--label-names or evaluate on data with the model's labels."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    proba = clf.predict_proba(data.texts)
    targets = [clf.labels_.index(label) for label in data.labels]
    metrics = classification_metrics(targets, proba.argmax(axis=1), clf.labels_)
    metrics["text_facts"] = text_facts(clf, data.texts)
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=2))
    _write_predictions(out / "predictions.csv", data.texts, clf, proba, data.labels)
    plot_confusion_matrix(metrics["confusion_matrix"], metrics["labels"],
                          out / "confusion_matrix.png", f"Confusion matrix: {Path(data_path).name}")
    write_report(out, f"seqlab evaluation: {Path(data_path).name}", {
        "summary": [f"model: {model_path}", f"data: {data_path} ({len(data)} rows)"],
        **classification_sections(metrics),
        "highlights": {"Most confident mistakes (green pushed towards the predicted label, "
                       "red away)": confident_mistakes(clf, data.texts, data.labels)},
        "images": {"Confusion matrix": "confusion_matrix.png"},
        "facts": {"model labels": ", ".join(clf.labels_),
                  **{k.replace("_", " "): v for k, v in metrics["text_facts"].items()}},
    })
    return metrics


def _write_predictions(path: Path, texts: Sequence[str], clf: Classifier,
                       proba: np.ndarray, truth: Sequence[str] | None = None) -> None:
    """Text, (true label,) predicted label and ``p_<label>`` per class, in the format the
    file name asks for."""
    columns: dict[str, Any] = {"text": list(texts)}
    if truth is not None:
        columns["label"] = list(truth)
    write_table(pd.DataFrame({**columns, **prediction_columns(clf.labels_, proba)}), path)


def prediction_columns(labels: Sequence[str], proba: np.ndarray) -> dict[str, list[Any]]:
    """``predicted`` and ``p_<label>`` per class (six decimals) for rows of probabilities."""
    if not len(proba):
        return {"predicted": [], **{f"p_{label}": [] for label in labels}}
    return {"predicted": [labels[i] for i in proba.argmax(axis=1)],
            **{f"p_{label}": np.round(proba[:, k].astype(np.float64), 6).tolist()
               for k, label in enumerate(labels)}}


def label_columns(model_path: str) -> RowPredictor:
    """The classifier at ``model_path`` as a row predictor: ``predicted`` and ``p_<label>``
    per class for a list of texts (what batch prediction writes beside each text)."""
    clf = load_classifier(model_path)

    def predict(texts: list[str]) -> dict[str, list[Any]]:
        return prediction_columns(clf.labels_, clf.predict_proba(texts))

    return predict


def predict_file(model_path: str | Path, in_path: str | Path, out_path: str | Path,
                 fmt: str | None = None, text_column: str | None = None,
                 encoding: str = "utf-8", chunk_rows: int = 10_000, jobs: int = 1,
                 resume: bool = False, force: bool = False,
                 progress: Callable[[int], None] | None = None) -> int:
    """Predict every text of a file of any size, in chunks; write the id (where the input
    has one), text, prediction and probabilities in input order, in the format
    ``out_path`` names (CSV, TSV, JSONL, Parquet). See :mod:`seqlab.engine.batch_predict`
    for resuming and jobs."""
    job = BatchJob(model=str(model_path), source=str(in_path), out=str(out_path), fmt=fmt,
                   text_column=text_column, encoding=encoding, chunk_rows=chunk_rows,
                   jobs=jobs)
    return predict_stream(job, label_columns, resume=resume, force=force, progress=progress)


