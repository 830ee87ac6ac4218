"""Language modelling as a :class:`~seqlab.engine.task.Task`: the next token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqlab.engine.task import TASKS, Metric, Notify, TaskBase, TrialResult, quiet, validation_at
from seqlab.tasks.lm.config import LMConfig


class LanguageModelTask(TaskBase):
    """Running text or lines: ranked by validation nats per token (lower is better)."""

    name = "lm"
    routes = "seqlab.tasks.lm.routes"
    data_key = "corpus.path"
    title = "language modelling"
    config_class = LMConfig
    bundle_kinds = ("seqlab-language-model",)
    metrics = (Metric("loss", False), Metric("perplexity", False))
    test_metrics = ("loss", "perplexity")

    def train(self, config: LMConfig, callbacks: Any = None, resume: bool = False,
              overwrite: bool = False, notify: Notify = quiet) -> Path:
        from seqlab.tasks.lm.workflow import train_lm

        return train_lm(config, callbacks, resume, overwrite, notify).run_dir

    def trial_data(self, config: LMConfig) -> Any:
        from seqlab.tasks.lm.corpus import read_corpus

        return read_corpus(config.corpus)

    def fit_trial(self, config: LMConfig, data: Any, callbacks: Any = None) -> TrialResult:
        from seqlab.tasks.lm.model import LanguageModel

        lm = LanguageModel(config).fit(data, callbacks=callbacks)
        return TrialResult(validation_at(lm.history_, lm.best_epoch_), lm.best_epoch_,
                           lm.fit_info_["train_seconds"])

    def default_space(self, config: LMConfig) -> dict[str, dict[str, Any]]:
        return {
            "model.hidden_size": {"type": "int", "low": 64, "high": 512, "log": True},
            "model.num_layers": {"type": "int", "low": 1, "high": 2},
            "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
            "training.lr": {"type": "float", "low": 5e-4, "high": 1e-2, "log": True},
        }


TASKS.register("lm")(LanguageModelTask())
