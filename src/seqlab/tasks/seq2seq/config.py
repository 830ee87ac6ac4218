"""A sequence-to-sequence run's configuration, saved as ``config.yaml`` in its run folder."""

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


class PairsConfig(StrictModel):
    """Where the pairs are: two line-aligned files per split (``train.de`` + ``train.en``),
    or one table (CSV, TSV, JSONL, Parquet, or ``source<TAB>target`` lines)."""

    train: str = Field("", description="a table of pairs, or the source file of two")
    train_target: str | None = Field(None, description="the target file beside `train`")
    val: str | None = Field(None, description="unset: split val_fraction off the training "
                            "pairs with the run's seed")
    val_target: str | None = None
    test: str | None = Field(None, description="scored once, after training")
    test_target: str | None = None
    source_column: str = "source"
    target_column: str = "target"
    encoding: str = "utf-8"
    val_fraction: float = Field(0.05, gt=0.0, lt=0.5)
    test_fraction: float = Field(0.0, ge=0.0, lt=0.5,
                                 description="split off as test when no test file is given")
    split_seed: int | None = Field(None, description="seed of the held-out pairs; unset: "
                                   "the run's seed (compare and tune fix it)")
    level: LevelName = Field("spaced", description="spaced (words and marks, spaces kept "
                             "so outputs read as written), word, or char")
    subwords: int | None = Field(None, ge=50, description="train a BPE model of this many "
                                 "subwords per side on the training pairs (saved in the "
                                 "bundle) and read subwords instead of `level`")
    lowercase: bool = False
    max_tokens: int = Field(60, ge=1, description="pairs with a longer side are left out "
                            "of training (and counted)")
    min_count: int = Field(1, ge=1, description="rarer tokens become <unk>")
    shared_vocab: bool = Field(False, description="one vocabulary for both sides")


class Seq2SeqModelConfig(StrictModel):
    """The encoder–decoder."""

    members: int = Field(1, ge=1, le=16, description="models trained with seeds seed, "
                         "seed+1, … (the same vocabularies) and decoding as one: the mean "
                         "of their next-token distributions; training.max_minutes is each "
                         "one's budget")
    cell: CellName = "gru"
    embedding_dim: int = Field(128, ge=1)
    hidden_size: int = Field(256, ge=1)
    num_layers: int = Field(1, ge=1, le=4)
    bidirectional: bool = Field(True, description="a bidirectional encoder")
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    attention: Literal["none", "additive", "dot", "general"] = Field(
        "additive", description="none, additive (Bahdanau), dot or general (Luong)")
    tie_embeddings: bool = Field(False, description="the decoder's output layer shares its "
                                 "input embedding (needs embedding_dim == hidden_size)")
    label_smoothing: float = Field(0.1, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _tied(self) -> Seq2SeqModelConfig:
        if self.tie_embeddings and self.embedding_dim != self.hidden_size:
            raise ValueError("tie_embeddings needs embedding_dim == hidden_size")
        return self


class DecodeConfig(StrictModel):
    """How outputs are searched for."""

    beam_width: int = Field(4, ge=1, le=64, description="1: greedy")
    length_penalty: float = Field(1.0, ge=0.0, description="scores are divided by "
                                  "length ** this, so longer outputs are not punished")
    max_ratio: float = Field(2.0, gt=0.0, description="an output has at most this many "
                             "tokens per source token (plus 10)")


class Seq2SeqTrainingConfig(TrainingConfig):
    """Training, with the validation metrics that may pick the epoch."""

    monitor: Literal["bleu", "chrf", "exact_match", "loss"] = "bleu"
    _legacy_monitor = legacy_monitor("bleu")
    lr: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    max_epochs: int = Field(20, ge=1)
    patience: int = Field(4, ge=1)
    val_pairs: int = Field(1000, ge=1, description="validation sources decoded each epoch "
                           "(greedy) for the metric")


class Seq2SeqConfig(RunFolderConfig):
    """Everything a sequence-to-sequence run needs."""

    name: str = "seq2seq"
    data: PairsConfig = Field(default_factory=PairsConfig)
    model: Seq2SeqModelConfig = Field(default_factory=Seq2SeqModelConfig)
    training: Seq2SeqTrainingConfig = Field(default_factory=Seq2SeqTrainingConfig)
    decode: DecodeConfig = Field(default_factory=DecodeConfig)
    ablation: bool = Field(True, description="also train the model without attention, "
                           "and report it beside the model and the copy baseline")
    examples: int = Field(5, ge=0, description="best and worst validation pairs shown")
