"""Multi-label classification as a :class:`~seqlab.engine.task.Task`: a label set per text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqlab.engine.task import TASKS, Metric, Notify, TaskBase, TrialResult, floats, quiet
from seqlab.tasks.multilabel.config import MultiLabelConfig


class MultiLabelTask(TaskBase):
    """Texts with any number of labels: ranked by micro-F1."""

    name = "multilabel"
    routes = "seqlab.tasks.multilabel.routes"
    title = "multi-label classification"
    config_class = MultiLabelConfig
    bundle_kinds = ("seqlab.multilabel_ensemble", "seqlab.multilabel_classifier",
                    "seqlab.multilabel_linear")
    metrics = (Metric("micro_f1", True), Metric("macro_f1", True),
               Metric("subset_accuracy", True))
    test_metrics = ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss")

    def train(self, config: MultiLabelConfig, callbacks: Any = None, resume: bool = False,
              overwrite: bool = False, notify: Notify = quiet) -> Path:
        from seqlab.tasks.multilabel.workflow import train_multilabel

        return train_multilabel(config, callbacks, resume, overwrite, notify).run_dir

    def freeze_data(self, config: MultiLabelConfig, folder: Path) -> dict[str, Any]:
        # the split follows this seed, not each run's
        return {} if config.data.val and config.data.test else \
            {"data.split_seed": config.seed}

    def trial_data(self, config: MultiLabelConfig) -> Any:
        from seqlab.tasks.multilabel.workflow import load_multilabel_splits

        return load_multilabel_splits(config)

    def fit_trial(self, config: MultiLabelConfig, data: Any,
                  callbacks: Any = None) -> TrialResult:
        from seqlab.tasks.multilabel.kinds import multilabel_for
        from seqlab.tasks.multilabel.workflow import fit_on, scores_on

        model = fit_on(multilabel_for(config), data, None, False, callbacks)
        # scored as a finished run's validation is: with the tuned thresholds
        return TrialResult(floats(scores_on(model, data.val)), model.best_epoch_,
                           model.fit_info_["train_seconds"])

    def default_space(self, config: MultiLabelConfig) -> dict[str, dict[str, Any]]:
        return {
            "model.hidden_size": {"type": "int", "low": 64, "high": 256, "log": True},
            "model.bidirectional": {"type": "categorical", "choices": [False, True]},
            "model.dropout": {"type": "float", "low": 0.1, "high": 0.5},
            "training.lr": {"type": "float", "low": 5e-4, "high": 5e-3, "log": True},
        }


TASKS.register("multilabel")(MultiLabelTask())
