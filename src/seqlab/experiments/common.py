"""Pieces shared by compare and tune: the task, its dotted keys, the base config, one
fixed split and the environment record."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import BaseModel

from seqlab.config import set_dotted
from seqlab.engine.task import Task, get_task, parse_task_config
from seqlab.errors import ConfigError


def dotted_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every settable key of a config class, as ``section.key``."""
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(dotted_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def check_keys(task: Task, keys: list[str], where: str) -> None:
    """Fail before any run on a key the task's config does not have."""
    allowed = dotted_keys(task.config_class)
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        tunable = [k for k in allowed if k.split(".")[0] in ("model", "training", "vocab")]
        raise ConfigError(
            f"{where}: unknown parameter {unknown[0]!r}; use dotted config keys of a "
            f"{task.name} run such as: {', '.join(tunable)}"
        )


def task_of(name: str, source: str) -> Task:
    try:
        return get_task(name)
    except ConfigError as err:
        raise ConfigError(f"{source}: task: {err}") from None


def base_config(task: Task, base: dict[str, Any], name: str, output_dir: str) -> Any:
    """The task's config from a spec's ``base`` mapping, named after the spec."""
    data = dict(base)
    data.setdefault("name", name)
    data.setdefault("output_dir", output_dir)
    return parse_task_config(task, data, "base")


def with_split(task: Task, config: Any, split: dict[str, Any]) -> Any:
    """``config`` with the overrides ``task.freeze_data`` gave (None values too: a
    frozen split unsets ``label_names``), so that every configuration and seed of a
    comparison or study trains and validates on the same data."""
    data = config.model_dump(mode="json")
    for key, value in split.items():
        set_dotted(data, key, value)
    return parse_task_config(task, data, "split")


def environment() -> dict[str, str]:
    """Package versions and machine facts, saved with every compare/tune run."""
    out = {"python": platform.python_version(), "machine": platform.machine(),
           "cores": str(os.cpu_count())}
    for package in ("seqlab", "torch", "numpy", "scikit-learn", "optuna"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out
