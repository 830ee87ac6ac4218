"""Language modelling as a :class:`~seqlab.engine.task.Task`: the next token."""

from __future__ import annotations

from typing import Any, ClassVar

from seqlab.engine.task import TASKS, Metric, SearchSpace, TaskBase, TrialResult
from seqlab.tasks.lm.config import LMConfig


class LanguageModelTask(TaskBase):
    """Running text or lines: ranked by validation nats per token (lower is better)."""

    name = "lm"
    workflow = "seqlab.tasks.lm.workflow:train_lm"
    routes = "seqlab.tasks.lm.routes"
    data_key = "corpus.path"
    title = "language modelling"
    config_class = LMConfig
    bundle_kinds = ("seqlab-language-model",)
    metrics = (Metric("loss", False), Metric("perplexity", False))
    test_metrics = ("loss", "perplexity")
    space: ClassVar[SearchSpace] = {
        "model.hidden_size": {"type": "int", "low": 64, "high": 512, "log": True},
        "model.num_layers": {"type": "int", "low": 1, "high": 2},
        "model.dropout": {"type": "float", "low": 0.0, "high": 0.5},
        "training.lr": {"type": "float", "low": 5e-4, "high": 1e-2, "log": True},
    }

    def trial_data(self, config: LMConfig) -> Any:
        from seqlab.tasks.lm.corpus import read_corpus

        return read_corpus(config.corpus)

    def fit_trial(self, config: LMConfig, data: Any, callbacks: Any = None) -> TrialResult:
        from seqlab.tasks.lm.model import LanguageModel

        lm = LanguageModel(config).fit(data, callbacks=callbacks)
        return TrialResult.of(lm)


TASKS.register("lm")(LanguageModelTask())
