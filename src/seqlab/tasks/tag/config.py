"""The tagger run's configuration, saved as ``config.yaml`` in its run folder."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from seqlab.config import (
    CellName,
    EmbeddingConfig,
    RunFolderConfig,
    StrictModel,
    TrainingConfig,
    legacy_monitor,
    registry_name,
)
from seqlab.tasks.tag.schemes import SCHEMES

SchemeName = registry_name(SCHEMES)


class TagDataConfig(StrictModel):
    """Which files hold the tagged sentences and how to read them."""

    train: str = ""
    val: str | None = Field(None, description="validation file; unset: hold out "
                            "val_fraction of the training sentences")
    test: str | None = Field(None, description="scored once, after training")
    format: Literal["auto", "conll", "conllu"] = "auto"
    tag_column: str | None = Field(None, description="conll: ner, pos, chunk, last or a "
                                   "column number; conllu: upos, xpos, deprel")
    encoding: str = "utf-8"
    val_fraction: float = Field(0.1, gt=0.0, lt=0.5)
    split_seed: int | None = Field(None, description="seed of the validation hold-out; "
                                   "unset: the run's seed (compare and tune fix it)")
    scheme: SchemeName = Field("iobes", description="entity scheme the model learns (iob1, iob2, "
                        "iobes); predictions are given back in the data's own scheme")
    lowercase_words: bool = Field(True, description="word embeddings see lower-cased words "
                                  "(the character encoder and casing feature keep the case)")
    min_count: int = Field(1, ge=1, description="rarer words become <unk>")
    max_word_chars: int = Field(30, ge=1, description="the character encoder reads at most "
                                "this many characters of a word")
    vectors_text: list[str] = Field(
        [], description="unlabelled text files, one text per line (.gz too): word2vec or "
        "fasttext trains on them beside the training sentences, and their words that get a "
        "vector join the vocabulary (with pretrained vectors too)")


class TaggerModelConfig(StrictModel):
    """The recurrent tagger."""

    members: int = Field(1, ge=1, le=16, description="taggers trained with seeds seed, "
                         "seed+1, … (the same vocabulary and start vectors) and read as "
                         "one: their tag and CRF scores averaged; training.max_minutes is "
                         "each one's budget")
    cell: CellName = "lstm"
    embedding_dim: int = Field(100, ge=1)
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig,
                                       description="where the word embeddings start")
    hidden_size: int = Field(128, ge=1)
    num_layers: int = Field(1, ge=1, le=8)
    bidirectional: bool = True
    dropout: float = Field(0.5, ge=0.0, lt=1.0)
    chars: bool = Field(True, description="a character BiLSTM per word (unseen words, "
                        "prefixes and suffixes, capitals)")
    char_encoder: Literal["lstm", "cnn"] = Field(
        "lstm", description="lstm: a character BiLSTM; cnn: a convolution over windows of "
        "3 characters, max-pooled")
    char_dim: int = Field(25, ge=1)
    char_hidden: int = Field(25, ge=1, description="units each way (lstm), or half the "
                             "filters (cnn): the word's character vector has 2 × this")
    casing: bool = Field(True, description="a small embedding of each word's casing")
    crf: bool = Field(True, description="a CRF output layer: valid tag sequences only")
    unk_replace: float = Field(0.5, ge=0.0, le=1.0, description="chance that a training "
                               "word seen once is read as <unk>, so <unk> is learned")


class TagTrainingConfig(TrainingConfig):
    """Training, with the validation metrics that may pick the epoch."""

    monitor: Literal["f1", "accuracy", "loss"] | None = Field(
        None, description="unset: f1 for entity tags, else accuracy")
    average_epochs: int = Field(
        3, ge=1, le=10, description="as training.average_epochs; 3 for the tagger: on "
        "CoNLL-2003 the mean of the three best epochs beat the best epoch on validation in "
        "every NER and POS tagger tried (BENCHMARKS.md §21)")
    _legacy_monitor = legacy_monitor(None)


def _tag_training() -> TagTrainingConfig:
    return TagTrainingConfig(lr=2e-3, weight_decay=0.0, batch_size=32, max_epochs=30,
                          patience=4, clip_grad_norm=5.0)


class TagConfig(RunFolderConfig):
    """Everything a tagger run needs."""

    name: str = "tagger"
    data: TagDataConfig = Field(default_factory=TagDataConfig)
    model: TaggerModelConfig = Field(default_factory=TaggerModelConfig)
    training: TagTrainingConfig = Field(default_factory=_tag_training)

    @model_validator(mode="after")
    def _vectors_for_text(self) -> TagConfig:
        if self.data.vectors_text and self.model.embedding.type == "learned":
            raise ValueError("data.vectors_text is text for word vectors, and "
                             "model.embedding.type is learned; set it to word2vec, fasttext "
                             "or pretrained")
        return self
