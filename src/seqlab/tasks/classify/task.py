"""Text classification as a :class:`~seqlab.engine.task.Task`: a label per text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seqlab.artifacts import atomic_write_text
from seqlab.engine.task import (
    TASKS,
    Metric,
    RunSummary,
    TaskBase,
    TrialResult,
    read_metrics,
)
from seqlab.tasks.classify.config import RunConfig

_RECURRENT_SPACE = {
    "model.embedding_dim": {"type": "categorical", "choices": [64, 128, 200]},
    "model.hidden_size": {"type": "int", "low": 32, "high": 256, "log": True},
    "model.num_layers": {"type": "int", "low": 1, "high": 2},
    "model.bidirectional": {"type": "categorical", "choices": [False, True]},
    "model.pooling": {"type": "categorical", "choices": ["max", "mean", "attention", "last"]},
    "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
    "model.embedding_dropout": {"type": "float", "low": 0.0, "high": 0.4},
    "training.lr": {"type": "float", "low": 3e-4, "high": 5e-3, "log": True},
    "training.batch_size": {"type": "categorical", "choices": [32, 64, 128]},
    "training.class_weights": {"type": "categorical", "choices": ["none", "balanced"]},
}
# plain RNNs want smaller steps and gain little from width
SPACES_BY_CELL: dict[str, dict[str, dict[str, Any]]] = {
    "lstm": _RECURRENT_SPACE,
    "gru": _RECURRENT_SPACE,
    "rnn": _RECURRENT_SPACE | {
        "model.hidden_size": {"type": "int", "low": 32, "high": 128, "log": True},
        "training.lr": {"type": "float", "low": 1e-4, "high": 2e-3, "log": True}},
}


class ClassifyTask(TaskBase):
    """Texts with one label each: the ensemble by default, ranked by macro-F1."""

    name = "classify"
    workflow = "seqlab.tasks.classify.workflow:train_run"
    routes = "seqlab.tasks.classify.routes"
    title = "text classification"
    config_class = RunConfig
    onnx_spec = "preprocessing.json"
    bundle_kinds = ("seqlab.text_classifier", "seqlab.linear_classifier",
                    "seqlab.ensemble_classifier", "seqlab.transformer_classifier")
    metrics = (Metric("macro_f1", True), Metric("accuracy", True), Metric("weighted_f1", True))
    test_metrics = ("accuracy", "macro_f1", "weighted_f1")

    def summary(self, run_dir: Path) -> RunSummary:
        metrics = read_metrics(run_dir)
        return RunSummary(
            run_dir,
            {k.removeprefix("val_"): v for k, v in metrics["best_validation"].items()
             if k.startswith("val_")},
            {k: v for k, v in metrics["test"].items() if isinstance(v, float)},
            metrics["fit"])

    def freeze_data(self, config: RunConfig, folder: Path) -> dict[str, Any]:
        """Split once and write the parts to ``folder`` as JSON lines; every run reads them."""
        from seqlab.tasks.classify.workflow import load_splits

        folder.mkdir(parents=True, exist_ok=True)
        names = {part: folder / f"{part}.jsonl" for part in ("train", "val", "test")}
        if not all(path.exists() for path in names.values()):
            splits = load_splits(config)
            for part in ("train", "val", "test"):
                data = getattr(splits, part)
                lines = (json.dumps({"text": t, "label": label}, ensure_ascii=False)
                         for t, label in zip(data.texts, data.labels, strict=True))
                atomic_write_text(names[part], "\n".join(lines) + "\n")
            atomic_write_text(folder / "notes.txt", "\n".join(splits.notes) + "\n")
        return {"data.train": str(names["train"]), "data.val": str(names["val"]),
                "data.test": str(names["test"]), "data.format": "jsonl",
                "data.text_column": "text", "data.label_column": "label",
                "data.label_names": None}

    def trial_data(self, config: RunConfig) -> Any:
        from seqlab.data.readers import read_labeled

        return tuple(read_labeled(getattr(config.data, part), "jsonl", "text", "label")
                     for part in ("train", "val"))

    def fit_trial(self, config: RunConfig, data: Any, callbacks: Any = None) -> TrialResult:
        from seqlab.tasks.classify.estimators import best_validation, classifier_for

        train, val = data
        clf = classifier_for(config)
        clf.fit(train.texts, train.labels, val.texts, val.labels, callbacks=callbacks)
        scores = {k.removeprefix("val_"): v for k, v in best_validation(clf).items()
                  if k.startswith("val_")}
        return TrialResult(scores, clf.best_epoch_, clf.fit_info_["train_seconds"])

    def default_space(self, config: RunConfig) -> dict[str, dict[str, Any]]:
        return SPACES_BY_CELL.get(config.model.cell, _RECURRENT_SPACE)


TASKS.register("classify")(ClassifyTask())
