"""Multi-label classification as a :class:`~seqlab.engine.task.Task`: a label set per text."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from seqlab.engine.task import TASKS, Metric, SearchSpace, TaskBase, TrialResult, floats
from seqlab.tasks.multilabel.config import MultiLabelConfig


class MultiLabelTask(TaskBase):
    """Texts with any number of labels: ranked by micro-F1."""

    name = "multilabel"
    workflow = "seqlab.tasks.multilabel.workflow:train_multilabel"
    routes = "seqlab.tasks.multilabel.routes"
    title = "multi-label classification"
    config_class = MultiLabelConfig
    bundle_kinds = ("seqlab.multilabel_ensemble", "seqlab.multilabel_classifier",
                    "seqlab.multilabel_linear")
    metrics = (Metric("micro_f1", True), Metric("macro_f1", True),
               Metric("subset_accuracy", True))
    test_metrics = ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss")
    space: ClassVar[SearchSpace] = {
        "model.hidden_size": {"type": "int", "low": 64, "high": 256, "log": True},
        "model.bidirectional": {"type": "categorical", "choices": [False, True]},
        "model.dropout": {"type": "float", "low": 0.1, "high": 0.5},
        "training.lr": {"type": "float", "low": 5e-4, "high": 5e-3, "log": True},
    }

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


TASKS.register("multilabel")(MultiLabelTask())
