"""Run configuration: pydantic models, validated before any work starts.

A YAML file, the command-line flags and :class:`seqlab.TextClassifier` all end in a
:class:`RunConfig`. An unknown key or an impossible value fails with the key's path and
the allowed values; every run saves the resolved config, which ``seqlab train --config``
takes back as is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from seqlab.errors import ConfigError
from seqlab.nn.encoder import CELLS
from seqlab.nn.pooling import POOLINGS
from seqlab.registry import Registry
from seqlab.text.preprocess import Pipeline
from seqlab.vectors.files import FORMATS as VECTOR_FORMATS

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def in_registry(value: str, registry: Registry[Any]) -> str:
    if value not in registry:
        raise ValueError(f"{value!r} is not one of: {', '.join(registry.names())}")
    return value


def registry_name(registry: Registry[Any]) -> Any:
    """A ``str`` field type whose value must be a name in ``registry`` (checked on
    validation, the error listing the known names)."""
    return Annotated[str, AfterValidator(lambda value: in_registry(value, registry))]


CellName = registry_name(CELLS)  # rnn, lstm, gru or any registered cell
PoolingName = registry_name(POOLINGS)


class DataConfig(StrictModel):
    """Where the data is and how to read it."""

    train: str | None = Field(None, description="labeled training file")
    val: str | None = Field(None, description="validation file; split from train if absent")
    test: str | None = Field(None, description="test file; split from train if absent")
    format: Literal["csv", "tsv", "jsonl", "parquet", "lines"] | None = None
    text_column: str | None = None
    label_column: str | None = None
    label_names: list[str] | None = None
    encoding: str = "utf-8"
    separator: str = Field(";", min_length=1, description="between text and label in "
                           "`lines` files")
    val_fraction: float = Field(0.1, ge=0.0, lt=0.5)
    test_fraction: float = Field(0.1, ge=0.0, lt=0.5)


class VocabConfig(StrictModel):
    """Vocabulary size and sequence length."""

    min_freq: int | Literal["auto"] = Field(
        "auto", description="a word's count to be in the vocabulary; auto: from the corpus "
        "size (seqlab.text.auto)")
    max_size: int | None = Field(None, ge=1)
    max_length: int | Literal["auto"] = Field(
        "auto", description="tokens kept per text (the rest is cut); auto: from the training "
        "lengths (seqlab.text.auto)")

    @field_validator("min_freq", "max_length")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("must be at least 1, or auto")
        return value


class EmbeddingConfig(StrictModel):
    """Where the embedding layer starts: random (``learned``), Word2Vec or FastText trained
    on the training split, or a pretrained vector file; then fine-tuned or kept frozen."""

    type: Literal["learned", "word2vec", "fasttext", "pretrained"] = "learned"
    path: str | None = Field(None, description="vector file, for type: pretrained")
    format: str = Field("auto", description="auto or a vector file format")
    architecture: Literal["cbow", "skipgram"] = Field(
        "cbow", description="Word2Vec/FastText training objective")
    window: int = Field(5, ge=1, description="context words on each side")
    min_count: int = Field(1, ge=1, description="words seen fewer times get no trained vector")
    epochs: int = Field(5, ge=1, description="passes of Word2Vec/FastText over the corpus")
    update: Literal["fine-tune", "frozen"] = Field(
        "fine-tune", description="train the vectors with the model, or keep them as they are")
    freeze_epochs: int = Field(0, ge=0, description="with fine-tune: epochs frozen first")

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        return value if value == "auto" else in_registry(value, VECTOR_FORMATS)

    @model_validator(mode="after")
    def _path_for_pretrained(self) -> EmbeddingConfig:
        if self.type == "pretrained" and not self.path:
            raise ValueError("type: pretrained needs `path`, the vector file")
        if self.type != "pretrained" and self.path:
            raise ValueError(f"`path` is only read with type: pretrained (type is {self.type})")
        return self


ModelKind = Literal["ensemble", "recurrent", "averaged", "averaged-mlp", "tfidf", "bow", "minilm",
                    "minilm-finetune"]


class LinearConfig(StrictModel):
    """The ``tfidf`` and ``bow`` baselines: n-gram features and a linear classifier;
    validation picks ``C`` (or naive Bayes' ``alpha``) from ``grid``."""

    classifier: Literal["logreg", "svm", "nb"] = "logreg"
    features: Literal["word", "char", "word+char"] = "word+char"
    word_ngrams: int = Field(2, ge=1, le=5, description="word n-grams of length 1..n")
    char_ngrams: tuple[int, int] = Field((2, 5), description="character n-gram lengths")
    max_features: int = Field(200_000, ge=1, description="per feature kind, most frequent")
    min_df: int = Field(2, ge=1, description="n-grams in fewer training texts are dropped")
    grid: list[float] = Field([0.1, 0.3, 1.0, 3.0, 10.0], min_length=1,
                              description="C (logreg, svm) or alpha (nb) values tried")

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
    members: int | Literal["auto"] = Field(
        "auto", description="ensemble: recurrent models trained with seeds seed, seed+1, … "
        "and averaged; auto: 3 below a million training words, else 1")
    cell: CellName = "lstm"
    embedding_dim: int = Field(128, ge=1)
    hidden_size: int = Field(128, ge=1)
    num_layers: int = Field(1, ge=1, le=8)
    bidirectional: bool = False
    dropout: float = Field(0.3, ge=0.0, lt=1.0, description="between layers and before the output")
    embedding_dropout: float = Field(0.2, ge=0.0, lt=1.0)
    pooling: PoolingName = "max"

    @field_validator("members")
    @classmethod
    def _some_members(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 16:
            raise ValueError("members is 1 … 16, or auto")
        return value

    embedding: EmbeddingConfig = Field(default_factory=EmbeddingConfig)
    linear: LinearConfig = Field(default_factory=LinearConfig)
    transformer: TransformerConfig = Field(default_factory=TransformerConfig)


class TrainingConfig(StrictModel):
    """Optimisation, early stopping and checkpoints."""

    optimizer: Literal["adam", "adamw"] = "adamw"
    lr: float = Field(2e-3, gt=0.0)
    weight_decay: float = Field(0.01, ge=0.0)
    scheduler: Literal["none", "cosine", "plateau"] = "none"
    batch_size: int = Field(64, ge=1)
    max_epochs: int = Field(15, ge=1)
    patience: int = Field(3, ge=1, description="epochs without improvement before stopping")
    monitor: Literal["macro_f1", "accuracy", "weighted_f1", "loss"] = "macro_f1"
    clip_grad_norm: float | None = Field(1.0, gt=0.0)
    class_weights: Literal["none", "balanced"] = "none"
    max_minutes: float | None = Field(None, gt=0.0, description="stop after this much training")
    threads: int | None = Field(None, ge=1, description="torch threads; all cores if unset")


class TrackingConfig(StrictModel):
    """Optional experiment tracking (extra packages)."""

    tensorboard: bool = Field(False, description="events under the run's tensorboard/")
    mlflow: bool = Field(False, description="log to MLflow (pip install mlflow)")
    mlflow_uri: str | None = None


class RunFolderConfig(StrictModel):
    """What every task's config shares: the run's name, the folder it goes in, its seed,
    and the YAML it is saved as (``config.yaml`` in the run folder)."""

    name: str = "run"
    output_dir: str = "runs"
    seed: int = 13

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not value.strip() or value in (".", "..") or any(c in value for c in "/\\\0"):
            raise ValueError("a run name is one folder name (no '/', '\\' or '..'); the "
                             "folder goes inside output_dir")
        return value

    @property
    def run_dir(self) -> Path:
        return Path(self.output_dir) / self.name

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


class RunConfig(RunFolderConfig):
    """Everything a training run needs; saved as ``config.yaml`` in the run folder."""

    data: DataConfig = Field(default_factory=DataConfig)
    preprocessing: str | list[Any] = "default"
    vocab: VocabConfig = Field(default_factory=VocabConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    baseline: bool = Field(True, description="also fit TF-IDF + logistic regression on the "
                           "same split and report the model beside it")

    @field_validator("preprocessing")
    @classmethod
    def _preprocessing(cls, value: str | list[Any]) -> str | list[Any]:
        try:
            Pipeline(value)
        except ConfigError as err:
            raise ValueError(str(err)) from None
        return value


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        field = current.model_fields.get(str(part)) if isinstance(current, type) else None
        if field is None or not (isinstance(field.annotation, type)
                                 and issubclass(field.annotation, BaseModel)):
            return []
        current = field.annotation
    return list(current.model_fields)


def describe_validation_error(err: ValidationError, model: type[BaseModel],
                              source: str = "config") -> str:
    """One readable line per problem: ``key.path: what is wrong (allowed: …)``."""
    lines = []
    for problem in err.errors():
        loc = tuple(problem["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        if problem["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            lines.append(f"{key}: unknown key; allowed keys: {', '.join(allowed)}")
        else:
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"{key}: {message} (got {problem.get('input')!r})")
    return f"{source}: " + "; ".join(lines)


def validate_model(model: type[M], data: dict[str, Any], source: str = "config") -> M:
    """Validate a mapping into ``model`` (a config class), or raise a readable ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, model, source)) from None


def parse_config(data: dict[str, Any], source: str = "config") -> RunConfig:
    """Validate a mapping into a :class:`RunConfig`, or raise a readable ConfigError."""
    return validate_model(RunConfig, data, source)


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """A YAML file's top-level mapping; a missing file or bad YAML is a ConfigError."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the config must be a mapping of keys to values")
    return data


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML config file."""
    return parse_config(read_yaml_mapping(path), str(path))


def flatten_dotted(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"model": {"cell": "gru"}}`` → ``{"model.cell": "gru"}``."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat |= flatten_dotted(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data["model"]["cell"] = value`` for ``dotted="model.cell"``, in place."""
    *parents, leaf = dotted.split(".")
    for part in parents:
        data = data.setdefault(part, {})
    data[leaf] = value


def apply_overrides(config: M, overrides: dict[str, Any]) -> M:
    """A copy of ``config`` with dotted keys (``model.cell``) set; None values skipped."""
    data = config.model_dump(mode="json")
    for dotted, value in overrides.items():
        if value is not None:
            set_dotted(data, dotted, value)
    return validate_model(type(config), data, "options")
