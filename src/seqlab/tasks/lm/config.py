"""The language-model run's configuration, saved as ``config.yaml`` in its run folder."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from seqlab.config import (
    CellName,
    RunFolderConfig,
    StrictModel,
    TrainingConfig,
    legacy_monitor,
    registry_name,
)
from seqlab.text.levels import LEVELS

LevelName = registry_name(LEVELS)


class CorpusConfig(StrictModel):
    """The text, how it is cut into tokens, and which part of it is held out."""

    path: str = ""
    level: LevelName = Field("char", description="char or word tokens")
    documents: Literal["file", "lines"] = Field(
        "file", description="file: one running text; lines: one document per line (blank "
        "lines dropped, each line ends with a newline token)")
    lowercase: bool = False
    encoding: str = "utf-8"
    val_fraction: float = Field(0.1, gt=0.0, lt=0.5,
                                description="the end of the text held out for validation")
    test_fraction: float = Field(0.0, ge=0.0, lt=0.5,
                                 description="held out after validation, scored once")
    min_count: int = Field(1, ge=1, description="rarer tokens become <unk>")
    max_vocab: int | None = Field(None, ge=1, description="keep the most frequent tokens")


class LMModelConfig(StrictModel):
    """The recurrent language model."""

    cell: CellName = "lstm"
    embedding_dim: int = Field(128, ge=1)
    hidden_size: int = Field(256, ge=1)
    num_layers: int = Field(2, ge=1, le=8)
    dropout: float = Field(0.2, ge=0.0, lt=1.0, description="on embeddings, between layers "
                           "and before the output")
    tie_weights: bool = Field(False, description="share the input embedding and the output "
                              "layer (needs embedding_dim == hidden_size)")

    @model_validator(mode="after")
    def _tied(self) -> LMModelConfig:
        if self.tie_weights and self.embedding_dim != self.hidden_size:
            raise ValueError(f"tie_weights needs embedding_dim == hidden_size (got "
                             f"{self.embedding_dim} and {self.hidden_size})")
        return self


class LMTrainingConfig(TrainingConfig):
    """Training, with the validation metrics that may pick the epoch."""

    monitor: Literal["perplexity", "loss"] = "perplexity"
    _legacy_monitor = legacy_monitor("perplexity")


def _lm_training() -> LMTrainingConfig:
    return LMTrainingConfig(lr=2e-3, weight_decay=0.0, batch_size=32, max_epochs=20,
                          patience=3, clip_grad_norm=1.0)


class LMConfig(RunFolderConfig):
    """Everything a language-model run needs."""

    name: str = "lm"
    corpus: CorpusConfig = Field(default_factory=CorpusConfig)
    model: LMModelConfig = Field(default_factory=LMModelConfig)
    training: LMTrainingConfig = Field(default_factory=_lm_training)
    bptt: int = Field(128, ge=2, description="tokens per truncated-backpropagation chunk; "
                      "the hidden state carries over between chunks")
    ngram_order: int = Field(5, ge=0, le=10, description="order of the Kneser-Ney baseline "
                             "(0: no baseline)")
    samples: int = Field(3, ge=0, description="generated samples shown in the report")
