"""The multi-label run's configuration, saved as ``config.yaml`` in its run folder."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from seqlab.config import (
    CellName,
    EmbeddingConfig,
    MemberCount,
    RunFolderConfig,
    StrictModel,
    TrainingConfig,
    member_count,
)
from seqlab.tasks.classify.config import (
    MEMBERS_FIELD,
    LabeledFilesConfig,
    LinearConfig,
    PoolingName,
    VocabConfig,
    preprocessing_spec,
)


class MultiLabelDataConfig(LabeledFilesConfig):
    """Where the texts and their label sets are, and how to read them: ``label_column``
    holds each text's labels (``a|b``, or a JSON list)."""

    label_columns: list[str] | None = Field(None, min_length=1, description="one 0/1 column "
                                            "per label, instead of label_column")
    label_separator: str = Field("|", min_length=1, description="between the labels of a "
                                 "text in label_column")
    split_seed: int | None = Field(None, description="seed of the validation/test split; "
                                   "unset: the run's seed (compare and tune fix it)")


class MultiLabelModelConfig(StrictModel):
    """The blend of the recurrent models and the TF-IDF baseline (``ensemble``, the
    default), the recurrent model alone (sigmoid outputs, one per label) or the ``tfidf``
    baseline alone (one logistic regression per label)."""

    kind: Literal["ensemble", "recurrent", "tfidf"] = "ensemble"
    members: MemberCount = MEMBERS_FIELD
    _members = field_validator("members")(member_count)
    cell: CellName = "lstm"
    embedding_dim: int = Field(128, ge=1)
    hidden_size: int = Field(128, ge=1)
    num_layers: int = Field(1, ge=1, le=8)
    bidirectional: bool = Field(True, description="on CoNLL-2003 sentence label sets it "
                                "scored higher on validation (BENCHMARKS.md §12)")
    dropout: float = Field(0.3, ge=0.0, lt=1.0)
    embedding_dropout: float = Field(0.2, ge=0.0, lt=1.0)
    pooling: PoolingName = "max"
    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    linear: LinearConfig = Field(default_factory=LinearConfig)


class MultiLabelTrainingConfig(TrainingConfig):
    """Training, with the multi-label metrics that may pick the epoch (at threshold 0.5;
    the per-label thresholds are tuned once the epoch is chosen)."""

    monitor: Literal["micro_f1", "macro_f1", "subset_accuracy", "loss"] = "micro_f1"


class MultiLabelConfig(RunFolderConfig):
    """Everything a multi-label run needs."""

    data: MultiLabelDataConfig = Field(default_factory=MultiLabelDataConfig)
    preprocessing: str | list[Any] = "default"
    vocab: VocabConfig = Field(default_factory=VocabConfig)
    model: MultiLabelModelConfig = Field(default_factory=MultiLabelModelConfig)
    training: MultiLabelTrainingConfig = Field(default_factory=MultiLabelTrainingConfig)
    baseline: bool = Field(True, description="also fit TF-IDF + one logistic regression per "
                           "label on the same split, thresholds tuned the same way, and "
                           "report the model beside it")

    _preprocessing = field_validator("preprocessing")(preprocessing_spec)
