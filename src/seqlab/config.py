"""What every task's configuration shares: strict pydantic models, validated before any
work starts, read from YAML and overridden by dotted keys (``model.cell=gru``).

An unknown key or an impossible value fails with the key's path and the allowed values.
Every run saves its resolved config, which ``--config`` takes back as is. Each task's own
config (``seqlab.tasks.<task>.config``) builds on :class:`RunFolderConfig` and
:class:`TrainingConfig`. Reading a config imports neither torch nor any model code.
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
from seqlab.nn.catalog import CELLS
from seqlab.registry import Registry
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
AUTO = "auto"  # a setting a run resolves from its data (and records as the number chosen)


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


# the number formats ``training.precision`` may name (seqlab.training.precision)
PrecisionName = Literal["auto", "float32", "bfloat16"]


class TrainingConfig(StrictModel):
    """Optimisation, early stopping and checkpoints."""

    optimizer: Literal["adam", "adamw"] = "adamw"
    lr: float = Field(2e-3, gt=0.0)
    weight_decay: float = Field(0.01, ge=0.0)
    scheduler: Literal["none", "cosine", "plateau"] = Field(
        "none", description="cosine: down to zero over max_epochs, or over the epochs "
        "max_minutes holds; plateau: halved after two epochs without a better score "
        "(seqlab.training.schedules)")
    average_epochs: int = Field(
        1, ge=1, le=10, description="keep the mean of the weights of the N epochs that "
        "scored best on validation when that mean scores better there than the best epoch "
        "alone; 1: the best epoch's weights")
    batch_size: int = Field(64, ge=1)
    max_epochs: int = Field(15, ge=1)
    patience: int = Field(3, ge=1, description="epochs without improvement before stopping")
    monitor: str | None = Field(None, description="the validation metric that picks the "
                                "epoch; unset: the task's own (each task lists its choices)")
    clip_grad_norm: float | None = Field(1.0, gt=0.0)
    class_weights: Literal["none", "balanced"] = "none"
    max_minutes: float | None = Field(None, gt=0.0, description="stop after this much training")
    threads: int | None = Field(None, ge=1, description="torch threads; all cores if unset")
    precision: PrecisionName = Field(
        "float32", description="the matrix products' number format; auto: bfloat16 on a "
        "CPU with AMX or AVX-512 BF16, float32 elsewhere (seqlab.training.precision)")


def legacy_monitor(default: str | None) -> Any:
    """A ``training.monitor`` validator for a task's config: configs saved before each
    task had its own metrics hold the classifier's default, ``macro_f1``, there; a task
    without that metric reads it as its own ``default``."""

    def read(value: Any) -> Any:
        return default if value == "macro_f1" else value

    return field_validator("monitor", mode="before")(read)


MemberCount = int | Literal["auto"]  # an ensemble's networks


def member_count(value: int | str) -> int | str:
    """A ``members`` validator: 1 … 16, or auto."""
    if isinstance(value, int) and not 1 <= value <= 16:
        raise ValueError("members is 1 … 16, or auto")
    return value


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
            got = problem.get("input")  # a whole section is too long to echo back
            lines.append(f"{key}: {message}" + ("" if isinstance(got, dict) else
                                                 f" (got {got!r})"))
    return f"{source}: " + "; ".join(lines)


def validate_model(model: type[M], data: dict[str, Any], source: str = "config") -> M:
    """Validate a mapping into ``model`` (a config class), or raise a readable ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ConfigError(describe_validation_error(err, model, source)) from None


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
