"""What ``seqlab multilabel train|evaluate|predict`` do, as library functions."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqlab.artifacts import atomic_write_text
from seqlab.config import apply_overrides
from seqlab.data.checks import drop_exact_duplicates
from seqlab.data.readers import TEXT_COLUMN_NAMES, LabeledData, pick_column, read_table
from seqlab.data.split import stratified_split
from seqlab.data.writers import output_format, write_table
from seqlab.engine.estimator import kept_weights
from seqlab.engine.run_folder import prepare_run_dir, write_fit_record
from seqlab.engine.task import Notify, quiet
from seqlab.errors import ConfigError, DataError
from seqlab.evaluation.report import write_report
from seqlab.tasks.classify.workflow import split_facts
from seqlab.tasks.multilabel.config import MultiLabelConfig
from seqlab.tasks.multilabel.ensemble import MultiLabelEnsemble
from seqlab.tasks.multilabel.kinds import load_multilabel, multilabel_for
from seqlab.tasks.multilabel.labelsets import read_label_sets, split_set
from seqlab.tasks.multilabel.model import LabelSets, MultiLabelLinear
from seqlab.training.distributed import world
from seqlab.training.trainer import TrainCallbacks

MODEL_FILE = "model.safetensors"
HEADLINE = ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss")


@dataclass
class MultiLabelSplits:
    """Train, validation and test texts with canonical label sets, and what reading found."""

    train: LabeledData
    val: LabeledData
    test: LabeledData
    notes: list[str] = field(default_factory=list)

    def label_counts(self) -> dict[str, dict[str, int]]:
        """Per split: how many texts have each label, and how many have none."""
        out = {}
        for name in ("train", "val", "test"):
            part: LabeledData = getattr(self, name)
            counts = Counter(x for s in part.labels for x in split_set(s))
            out[name] = {**dict(sorted(counts.items())),
                         "(none)": sum(not s for s in part.labels)}
        return out


@dataclass
class MultiLabelOutcome:
    """Where the run went and its scores."""

    run_dir: Path
    model_path: Path
    val: dict[str, Any]
    test: dict[str, Any]
    baseline: dict[str, Any] | None
    fit_info: dict[str, Any]
    thresholds: dict[str, float]


def _read(path: str, config: MultiLabelConfig, notes: list[str], what: str) -> LabeledData:
    d = config.data
    data, read_notes = read_label_sets(path, d.format, d.text_column, d.label_column,
                                       d.label_columns, d.label_separator, d.encoding)
    data, dropped = drop_exact_duplicates(data)
    notes.extend(f"{what} ({path}): {note}" for note in read_notes)
    if dropped:
        notes.append(f"{what} ({path}): {dropped:,} exact duplicates dropped")
    return data


def load_multilabel_splits(config: MultiLabelConfig) -> MultiLabelSplits:
    """Read the files a config names; without validation/test files, split them off the
    training file, stratified by label set, seeded by ``data.split_seed`` (or the seed)."""
    if not config.data.train:
        raise ConfigError("no training data: give a DATA file, e.g. seqlab multilabel train "
                          "train.csv (a label column like PER|LOC, or --label-columns)")
    notes: list[str] = []
    train = _read(config.data.train, config, notes, "train")
    val = _read(config.data.val, config, notes, "val") if config.data.val else None
    test = _read(config.data.test, config, notes, "test") if config.data.test else None
    if val is None or test is None:
        seed = config.seed if config.data.split_seed is None else config.data.split_seed
        train_idx, val_idx, test_idx = stratified_split(
            train.labels, 0.0 if val is not None else config.data.val_fraction,
            0.0 if test is not None else config.data.test_fraction, seed)
        made = [name for name, part in (("val", val), ("test", test)) if part is None]
        notes.append(f"split {', '.join(made)} from the training file, stratified by label "
                     f"set, seed {seed}")
        val = val if val is not None else train.subset(val_idx)
        test = test if test is not None else train.subset(test_idx)
        train = train.subset(train_idx)
    if len(val) == 0 or len(test) == 0:
        raise DataError(f"{config.data.train}: too few rows to split off validation and test "
                        f"data ({len(train)} rows); add data or pass --val and --test files")
    return MultiLabelSplits(train, val, test, notes)


def fit_on(model: LabelSets, splits: MultiLabelSplits, checkpoint_dir: Path | None,
           resume: bool, callbacks: TrainCallbacks | None) -> LabelSets:
    """``model`` fitted on the training split, validation choosing."""
    return model.fit(splits.train.texts, [split_set(s) for s in splits.train.labels],
                     splits.val.texts, [split_set(s) for s in splits.val.labels],
                     checkpoint_dir=checkpoint_dir, resume=resume, callbacks=callbacks)


def scores_on(model: LabelSets, part: LabeledData) -> dict[str, Any]:
    """``model``'s scores on a split (texts with canonical label sets)."""
    return model.evaluate(part.texts, [split_set(s) for s in part.labels])


def train_multilabel(config: MultiLabelConfig, callbacks: TrainCallbacks | None = None,
                     resume: bool = False, overwrite: bool = False,
                     notify: Notify = quiet) -> MultiLabelOutcome | None:
    """Train, tune thresholds on validation, score test once, fit the baseline beside it,
    and write the run folder. Under torchrun the processes other than rank 0 train beside
    it, write nothing and return None."""
    splits = load_multilabel_splits(config)
    run_dir = prepare_run_dir(config, resume, overwrite)
    log: list[str] = []

    def say(line: str) -> None:
        log.append(line)
        notify(line)

    for note in splits.notes:
        say(note)
    for name, counts in splits.label_counts().items():
        say(f"{name}: {len(getattr(splits, name)):,} texts; "
            + ", ".join(f"{label} {n:,}" for label, n in counts.items()))
    model = fit_on(multilabel_for(config), splits, run_dir / "checkpoints", resume, callbacks)
    if not world().is_main:  # another process of a distributed run: rank 0 writes the run
        return None
    info = model.fit_info_
    resolved = info.get("resolved") or {}
    for key, choice in resolved.items():
        say(f"{key}: {choice['value']} (auto) — {choice['why']}")
    if resolved:
        atomic_write_text(run_dir / "config.yaml", apply_overrides(
            config, {key: choice["value"] for key, choice in resolved.items()}).to_yaml())
    say(f"trained {info['epochs']} {model.round_name}s in {info['train_seconds']:.1f}s; "
        f"kept: {kept_weights(info, model.round_name)}; thresholds tuned "
        "on validation: "
        + ", ".join(f"{label} {t:.2f}" for label, t in model.threshold_table().items()))
    facts, lines = split_facts(model, {name: getattr(splits, name).texts
                                       for name in ("train", "val", "test")})
    for line in lines:
        say(line)
    val, test, baseline, recurrent = _scored(model, config, splits)
    say(_line("test", test))
    if baseline is not None:
        say(_line("baseline (TF-IDF + logistic regression per label) test", baseline["test"]))
        say(f"model − baseline, test micro-F1: "
            f"{test['micro_f1'] - baseline['test']['micro_f1']:+.4f}")
    if recurrent is not None:
        say(_line("the recurrent part alone, test", recurrent["test"]))
    metrics = {"val": val, "test": test, "fit_info": info, "baseline": baseline,
               "recurrent_part": recurrent, "text_facts": facts,
               "thresholds": model.threshold_table(), "data": splits.notes,
               "label_counts": splits.label_counts()}
    images = write_fit_record(run_dir, metrics, model, config.training.monitor
                              if model.round_name == "epoch" else None)
    model_path = model.save(run_dir / MODEL_FILE, {
        "val": {k: val[k] for k in HEADLINE}, "test": {k: test[k] for k in HEADLINE}})
    _write_report(run_dir, f"seqlab multi-label run: {config.name}", model, test, [
        f"model: {model.describe()}", f"data: {config.data.train}",
        f"best {model.round_name} {model.best_epoch_} of {info['epochs']} by validation "
        f"{config.training.monitor} (at threshold 0.5); then one threshold per label tuned "
        "on validation; test scored once", *log], images, {
        "training seconds": round(info["train_seconds"], 1), "seed": config.seed,
        "model file": MODEL_FILE,
        "reproduce": f"seqlab multilabel train --config {run_dir / 'config.yaml'} --force"},
        val, baseline, recurrent)
    atomic_write_text(run_dir / "train.log", "\n".join(log) + "\n")
    return MultiLabelOutcome(run_dir, model_path, val, test, baseline, info,
                             model.threshold_table())


def _scored(model: LabelSets, config: MultiLabelConfig, splits: MultiLabelSplits
            ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None,
                       dict[str, Any] | None]:
    """The model's validation and test scores, and what the report shows beside them:
    the TF-IDF baseline (the ensemble's own linear part, else one fitted on the same
    split unless ``baseline`` is off) and, for the ensemble, its recurrent part alone."""
    if isinstance(model, MultiLabelEnsemble):
        scored = model.evaluate_parts({name: (part.texts, [split_set(s) for s in part.labels])
                                       for name, part in (("val", splits.val),
                                                          ("test", splits.test))})
        linear: LabelSets = model.linear_
        baseline_scores, recurrent = scored["linear"], scored["recurrent"]
        val, test = scored["model"]["val"], scored["model"]["test"]
    else:
        val, test, recurrent = scores_on(model, splits.val), scores_on(model, splits.test), None
        if not config.baseline or config.model.kind == "tfidf":
            return val, test, None, None
        linear = fit_on(MultiLabelLinear.from_config(config), splits, None, False, None)
        baseline_scores = {"val": scores_on(linear, splits.val),
                           "test": scores_on(linear, splits.test)}
    baseline = {"model": linear.describe(), **baseline_scores,
                "thresholds": linear.threshold_table(),
                "train_seconds": linear.fit_info_["train_seconds"]}
    return val, test, baseline, recurrent


def _line(what: str, scores: dict[str, Any]) -> str:
    return (f"{what}: micro-F1 {scores['micro_f1']:.4f}, macro-F1 {scores['macro_f1']:.4f}, "
            f"subset accuracy {scores['subset_accuracy']:.4f}, Hamming loss "
            f"{scores['hamming_loss']:.4f}")


def _write_report(out: Path, title: str, model: LabelSets, scores: dict[str, Any],
                  summary: list[str], images: dict[str, str], facts: dict[str, Any],
                  val: dict[str, Any] | None = None,
                  baseline: dict[str, Any] | None = None,
                  recurrent: dict[str, Any] | None = None) -> None:
    """The report: score cards, the baseline table (for a run), per-label scores."""
    names = {"micro_f1": "micro-F1", "macro_f1": "macro-F1",
             "subset_accuracy": "subset accuracy", "hamming_loss": "Hamming loss"}
    tables: dict[str, Any] = {}
    if baseline is not None and val is not None:
        alone = ["recurrent part alone (test)"] if recurrent else []
        tables["Against the baseline (validation chooses, test scored once)"] = (
            ["", "model (val)", "model (test)", *alone, "baseline (val)", "baseline (test)",
             "test difference"],
            [[names[k], val[k], scores[k], *([recurrent["test"][k]] if recurrent else []),
              baseline["val"][k], baseline["test"][k],
              f"{scores[k] - baseline['test'][k]:+.4f}"] for k in HEADLINE])
    thresholds = model.threshold_table()
    tables["Per label"] = (["label", "precision", "recall", "F1", "support", "threshold"], [
        [label, m["precision"], m["recall"], m["f1"], m["support"], thresholds[label]]
        for label, m in scores["per_label"].items()])
    write_report(out, title, {
        "summary": summary, "cards_title": "Scores",
        "cards": [(names[k], scores[k]) for k in HEADLINE],
        "tables": tables, "images": images,
        "facts": facts,
    })


def evaluate_multilabel(model_path: str | Path, data_path: str | Path, out_dir: str | Path,
                        config: MultiLabelConfig | None = None) -> dict[str, Any]:
    """Score a saved model on a file of texts with label sets (read with ``config``'s data
    settings); write metrics.json, predictions.csv and a report."""
    model = load_multilabel(model_path)
    d = (config or MultiLabelConfig()).data
    data, notes = read_label_sets(data_path, d.format, d.text_column, d.label_column,
                                  d.label_columns, d.label_separator, d.encoding)
    scores = scores_on(model, data)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(scores, indent=2))
    _write_predictions(out / "predictions.csv", data.texts, model, data.labels)
    _write_report(out, f"seqlab multi-label evaluation: {Path(data_path).name}", model,
                  scores, [f"model: {model_path}", f"data: {data_path} "
                                 f"({len(data):,} texts)", *notes], {},
                  {"labels": ", ".join(model.labels_)})
    return scores


def _write_predictions(path: Path, texts: Sequence[str], model: LabelSets,
                       truth: Sequence[str] | None = None) -> None:
    """Text, (true labels,) predicted labels (``a|b``) and ``p_<label>`` per label."""
    proba = model.predict_proba(texts)
    decided = model.decide(proba)
    columns: dict[str, Any] = {"text": list(texts)}
    if truth is not None:
        columns["labels"] = list(truth)
    columns["predicted"] = ["|".join(model.labels_[j] for j in np.flatnonzero(row))
                            for row in decided]
    for j, label in enumerate(model.labels_):
        columns[f"p_{label}"] = np.round(proba[:, j].astype(np.float64), 6)
    write_table(pd.DataFrame(columns), path)


def predict_multilabel_file(model_path: str | Path, in_path: str | Path,
                            out_path: str | Path, fmt: str | None = None,
                            text_column: str | None = None, encoding: str = "utf-8") -> int:
    """Predict every text of a file; write the label sets and probabilities in the format
    ``out_path`` names."""
    output_format(out_path)
    model = load_multilabel(model_path)
    frame = read_table(in_path, fmt, encoding)
    column = pick_column(frame, text_column, TEXT_COLUMN_NAMES, "text", Path(in_path))
    texts = ["" if v is None or v != v else str(v) for v in frame[column].tolist()]
    _write_predictions(Path(out_path), texts, model)
    return len(texts)
