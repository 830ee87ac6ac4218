"""The text classifier's run configuration: data, preprocessing, vocabulary, model,
training; saved as ``config.yaml`` in the run folder.

A YAML file, the command-line flags and :class:`~seqlab.tasks.classify.classifier.TextClassifier`
all end in a :class:`RunConfig`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from seqlab.config import (
    CellName,
    EmbeddingConfig,
    MemberCount,
    PrecisionName,
    RunFolderConfig,
    StrictModel,
    TrainingConfig,
    member_count,
    read_yaml_mapping,
    registry_name,
    validate_model,
)
from seqlab.errors import ConfigError
from seqlab.nn.catalog import POOLINGS
from seqlab.tasks.classify.kinds import ESTIMATORS
from seqlab.text.preprocess import Pipeline

PoolingName = registry_name(POOLINGS)
ModelKind = registry_name(ESTIMATORS)
MEMBERS_FIELD = Field("auto", description="ensemble: recurrent models trained with seeds "
                      "seed, seed+1, … and averaged; auto: 5 below half a million "
                      "training words, 3 below a million, else 1")


def preprocessing_spec(value: str | list[Any]) -> str | list[Any]:
    """A ``preprocessing`` validator: the value must build a pipeline."""
    try:
        Pipeline(value)
    except ConfigError as err:
        raise ValueError(str(err)) from None
    return value


class LabeledFilesConfig(StrictModel):
    """Where labelled texts are and how to read them (single- and multi-label alike)."""

    train: str | None = Field(None, description="labeled training file")
    val: str | None = Field(None, description="validation file; split from train if absent")
    test: str | None = Field(None, description="test file; split from train if absent")
    format: Literal["csv", "tsv", "jsonl", "parquet", "lines"] | None = None
    text_column: str | None = None
    label_column: str | None = None
    encoding: str = "utf-8"
    val_fraction: float = Field(0.1, ge=0.0, lt=0.5)
    test_fraction: float = Field(0.1, ge=0.0, lt=0.5)


class DataConfig(LabeledFilesConfig):
    """Where the data is and how to read it."""

    label_names: list[str] | None = None
    separator: str = Field(";", min_length=1, description="between text and label in "
                           "`lines` files")


class VocabConfig(StrictModel):
    """Vocabulary size and sequence length."""

    min_freq: int | Literal["auto"] = Field(
        "auto", description="a word's count to be in the vocabulary; auto: from the corpus "
        "size (seqlab.tasks.classify.auto)")
    max_size: int | None = Field(None, ge=1)
    max_length: int | Literal["auto"] = Field(
        "auto", description="tokens kept per text (the rest is cut); auto: from the training "
        "lengths (seqlab.tasks.classify.auto)")

    @field_validator("min_freq", "max_length")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("must be at least 1, or auto")
        return value


class LinearConfig(StrictModel):
    """The ``tfidf`` and ``bow`` baselines: n-gram features and a linear classifier;
    validation picks ``C`` (or naive Bayes' ``alpha``) from ``grid``."""

    classifier: Literal["nblogreg", "logreg", "svm", "nb"] = "nblogreg"
    features: Literal["word", "char", "word+char"] = "word+char"
    word_ngrams: int = Field(2, ge=1, le=5, description="word n-grams of length 1..n")
    char_ngrams: tuple[int, int] = Field((2, 5), description="character n-gram lengths")
    max_features: int = Field(200_000, ge=1, description="per feature kind, most frequent")
    min_df: int = Field(2, ge=1, description="n-grams in fewer training texts are dropped")
    grid: list[float] = Field([0.3, 1.0, 3.0, 10.0, 30.0, 100.0], min_length=1,
                              description="C (nblogreg, logreg, svm) or alpha (nb) values tried")

    @field_validator("char_ngrams")
    @classmethod
    def _char_range(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= value[0] <= value[1] <= 8:
            raise ValueError("char_ngrams is [low, high] with 1 ≤ low ≤ high ≤ 8")
        return value

    @field_validator("grid")
    @classmethod
    def _positive(cls, value: list[float]) -> list[float]:
        if any(v <= 0 for v in value):
            raise ValueError("every grid value must be positive")
        return value


class TransformerConfig(StrictModel):
    """The MiniLM baselines (``pip install seqlab[transformers]``)."""

    max_length: int = Field(128, ge=8, le=512, description="word pieces kept per text")
    lr: float = Field(3e-5, gt=0.0, description="fine-tuning learning rate")


class ModelConfig(StrictModel):
    """The classifier: the ensemble of the recurrent model and the TF-IDF baseline (the
    default), the recurrent model alone, an averaged-vector model or a baseline."""

    kind: ModelKind = "ensemble"
    members: MemberCount = MEMBERS_FIELD
    _members = field_validator("members")(member_count)
    cell: CellName = "lstm"
    embedding_dim: int = Field(128, ge=1)
    hidden_size: int = Field(128, ge=1)
    num_layers: int = Field(1, ge=1, le=8)
    bidirectional: bool = False
    dropout: float = Field(0.3, ge=0.0, lt=1.0, description="between layers and before the output")
    embedding_dropout: float = Field(0.2, ge=0.0, lt=1.0)
    pooling: PoolingName = "max"

    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    linear: LinearConfig = Field(default_factory=LinearConfig)
    transformer: TransformerConfig = Field(default_factory=TransformerConfig)


class ClassifyTrainingConfig(TrainingConfig):
    """Training, with the classification metrics that may pick the epoch."""

    monitor: Literal["macro_f1", "accuracy", "weighted_f1", "loss"] = "macro_f1"
    precision: PrecisionName = Field(
        "auto", description="as training.precision; auto by default: on emotion, bfloat16 "
        "scored within seed noise of float32 (BENCHMARKS.md §18)")


class TrackingConfig(StrictModel):
    """Optional experiment tracking (extra packages)."""

    tensorboard: bool = Field(False, description="events under the run's tensorboard/")
    mlflow: bool = Field(False, description="log to MLflow (pip install mlflow)")
    mlflow_uri: str | None = None


class RunConfig(RunFolderConfig):
    """Everything a training run needs; saved as ``config.yaml`` in the run folder."""

    data: DataConfig = Field(default_factory=DataConfig)
    preprocessing: str | list[Any] = "default"
    vocab: VocabConfig = Field(default_factory=VocabConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: ClassifyTrainingConfig = Field(default_factory=ClassifyTrainingConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    baseline: bool = Field(True, description="also fit TF-IDF + logistic regression on the "
                           "same split and report the model beside it")
    refit: bool = Field(False, description="after validation has chosen the epochs (and "
                        "the n-gram model's C and the blend), train the model again on "
                        "training + validation with those choices; the test split stays out")

    _preprocessing = field_validator("preprocessing")(preprocessing_spec)


def parse_config(data: dict[str, Any], source: str = "config") -> RunConfig:
    """Validate a mapping into a :class:`RunConfig`, or raise a readable ConfigError."""
    return validate_model(RunConfig, data, source)


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML config file."""
    return parse_config(read_yaml_mapping(path), str(path))
