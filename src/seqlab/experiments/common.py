"""Pieces shared by compare and tune: dotted keys, one fixed split, one run in a process."""

from __future__ import annotations

import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from seqlab.artifacts import atomic_write_text
from seqlab.config import RunConfig, parse_config
from seqlab.errors import ConfigError
from seqlab.tasks.classify.workflow import load_splits


def dotted_keys(model: type[BaseModel] = RunConfig, prefix: str = "") -> list[str]:
    """Every settable key of the run config, as ``section.key``."""
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(dotted_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def check_keys(keys: list[str], where: str) -> None:
    """Fail before any run on a key the run config does not have."""
    allowed = dotted_keys()
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        tunable = [k for k in allowed if k.split(".")[0] in ("model", "training", "vocab")]
        raise ConfigError(
            f"{where}: unknown parameter {unknown[0]!r}; use dotted config keys such as: "
            f"{', '.join(tunable)} (or preprocessing)"
        )


def base_config(base: dict[str, Any], name: str, output_dir: str) -> RunConfig:
    data = dict(base)
    data.setdefault("name", name)
    data.setdefault("output_dir", output_dir)
    return parse_config(data, "base")


def freeze_split(config: RunConfig, folder: Path) -> dict[str, str]:
    """Split the data once and write it to ``folder``; every run then reads these files.

    This keeps the train/validation/test split identical across configurations and
    seeds. Returns the ``data.*`` overrides that point a run config at the files.
    """
    folder.mkdir(parents=True, exist_ok=True)
    names = {part: folder / f"{part}.jsonl" for part in ("train", "val", "test")}
    if not all(path.exists() for path in names.values()):
        splits = load_splits(config)
        for part, data in (("train", splits.train), ("val", splits.val), ("test", splits.test)):
            lines = (json.dumps({"text": t, "label": label}, ensure_ascii=False)
                     for t, label in zip(data.texts, data.labels, strict=True))
            atomic_write_text(names[part], "\n".join(lines) + "\n")
        atomic_write_text(folder / "notes.txt", "\n".join(splits.notes) + "\n")
    return {"data.train": str(names["train"]), "data.val": str(names["val"]),
            "data.test": str(names["test"]), "data.format": "jsonl",
            "data.text_column": "text", "data.label_column": "label",
            "data.label_names": None}


def with_split(config: RunConfig, split: dict[str, str]) -> RunConfig:
    data = config.model_dump(mode="json")
    data["data"].update({k.split(".", 1)[1]: v for k, v in split.items()})
    return parse_config(data, "split")


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

