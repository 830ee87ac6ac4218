"""Sequence to sequence as a :class:`~seqlab.engine.task.Task`: an output sequence of its
own length per input sequence."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from seqlab.engine.task import TASKS, Metric, SearchSpace, TaskBase, TrialResult
from seqlab.tasks.seq2seq.config import Seq2SeqConfig


class Seq2SeqTask(TaskBase):
    """Pairs of sequences (translation, normalisation …): ranked by validation BLEU."""

    name = "seq2seq"
    workflow = "seqlab.tasks.seq2seq.workflow:train_seq2seq"
    routes = "seqlab.tasks.seq2seq.routes"
    title = "sequence to sequence"
    config_class = Seq2SeqConfig
    bundle_kinds = ("seqlab-seq2seq",)
    onnx_spec = "seq2seq.json"
    metrics = (Metric("bleu", True), Metric("chrf", True), Metric("exact_match", True))
    test_metrics = ("bleu", "chrf", "exact_match")
    space: ClassVar[SearchSpace] = {
        "model.hidden_size": {"type": "int", "low": 128, "high": 512, "log": True},
        "model.attention": {"type": "categorical", "choices": ["additive", "general"]},
        "model.dropout": {"type": "float", "low": 0.1, "high": 0.5},
        "training.lr": {"type": "float", "low": 3e-4, "high": 3e-3, "log": True},
    }

    def freeze_data(self, config: Seq2SeqConfig, folder: Path) -> dict[str, Any]:
        # held-out pairs follow this seed, not each run's
        return {} if config.data.val else {"data.split_seed": config.seed}

    def trial_data(self, config: Seq2SeqConfig) -> Any:
        from seqlab.tasks.seq2seq.pairs import load_pair_splits

        return load_pair_splits(config)

    def fit_trial(self, config: Seq2SeqConfig, data: Any,
                  callbacks: Any = None) -> TrialResult:
        from seqlab.tasks.seq2seq.model import Seq2Seq

        model = Seq2Seq(config).fit(data.train, data.val, callbacks=callbacks)
        return TrialResult.of(model)


TASKS.register("seq2seq")(Seq2SeqTask())
