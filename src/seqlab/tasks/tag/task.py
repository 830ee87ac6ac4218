"""Token tagging as a :class:`~seqlab.engine.task.Task`: a tag per token."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from seqlab.engine.task import TASKS, Metric, SearchSpace, TaskBase, TrialResult
from seqlab.tasks.tag.config import TagConfig


class TagTask(TaskBase):
    """Tagged sentences (CoNLL, CoNLL-U): ranked by entity F1, or token accuracy where
    the tags are not entities."""

    name = "tag"
    workflow = "seqlab.tasks.tag.workflow:train_tagger"
    routes = "seqlab.tasks.tag.routes"
    title = "token tagging"
    config_class = TagConfig
    bundle_kinds = ("seqlab-tagger",)
    metrics = (Metric("f1", True), Metric("accuracy", True))
    test_metrics = ("f1", "accuracy")
    space: ClassVar[SearchSpace] = {
        "model.hidden_size": {"type": "int", "low": 64, "high": 256, "log": True},
        "model.num_layers": {"type": "int", "low": 1, "high": 2},
        "model.dropout": {"type": "float", "low": 0.2, "high": 0.6},
        "training.lr": {"type": "float", "low": 5e-4, "high": 5e-3, "log": True},
    }

    def freeze_data(self, config: TagConfig, folder: Path) -> dict[str, Any]:
        # the held-out validation sentences follow this seed, not each run's
        return {} if config.data.val else {"data.split_seed": config.seed}

    def trial_data(self, config: TagConfig) -> Any:
        from seqlab.tasks.tag.workflow import load_tag_splits

        return load_tag_splits(config)

    def fit_trial(self, config: TagConfig, data: Any, callbacks: Any = None) -> TrialResult:
        from seqlab.tasks.tag.tagger import Tagger

        tagger = Tagger(config).fit(data.train, data.val, callbacks=callbacks)
        return TrialResult.of(tagger)


TASKS.register("tag")(TagTask())
