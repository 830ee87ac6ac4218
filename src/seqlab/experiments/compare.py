"""``seqlab [TASK] compare``: every configuration of a grid, on one split, with seeds.

Any task compares: ``task`` in the spec (``classify`` by default) says whose configs the
grid sets and which validation metric ranks them (the task's primary one unless
``metric`` names another).

A comparison folder holds ``spec.yaml`` (what was asked), ``environment.json``, the
frozen split under ``data/``, one full run folder per configuration and seed under
``runs/``, and the leaderboard (``leaderboard.md``/``.csv``/``.html``, ``runs.csv``,
plots) with the best model as ``best_model.safetensors``. Finished runs are skipped when
the same comparison is started again; an interrupted one resumes from its checkpoint.
"""

from __future__ import annotations

import itertools
import json
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from seqlab.artifacts import atomic_write_text
from seqlab.config import apply_overrides, validate_model
from seqlab.engine.machine import cores_per_process
from seqlab.engine.task import Task, get_task, metric_of, parse_task_config
from seqlab.errors import ConfigError
from seqlab.experiments.common import base_config, check_keys, environment, task_of, with_split
from seqlab.experiments.leaderboard import write_leaderboard

Notify = Callable[[str], None]


class CompareSpec(BaseModel):
    """What to compare: the task, a base config, a grid of dotted keys, seeds, the metric."""

    model_config = ConfigDict(extra="forbid")
    task: str = "classify"
    name: str = "compare"
    output_dir: str = "runs"
    base: dict[str, Any] = Field(default_factory=dict)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    seeds: list[int] = Field(default_factory=lambda: [13], min_length=1)
    metric: str | None = Field(None, description="validation metric; unset: the task's own")

    @property
    def folder(self) -> Path:
        return Path(self.output_dir) / self.name


def load_spec(data: dict[str, Any], source: str) -> CompareSpec:
    spec = validate_model(CompareSpec, data, source)
    task = task_of(spec.task, source)
    if spec.metric is not None:
        metric_of(task, spec.metric)
    check_keys(task, list(spec.grid), f"{source}: grid")
    for key, values in spec.grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{source}: grid.{key} must be a non-empty list of values")
    return spec


def _slug(overrides: dict[str, Any]) -> str:
    if not overrides:
        return "base"
    parts = [f"{key.split('.')[-1]}-{value}" for key, value in overrides.items()]
    return "_".join(parts).replace("/", "-").replace(" ", "")


def plan_runs(spec: CompareSpec) -> list[dict[str, Any]]:
    """Every (configuration, seed) pair with its validated run config, before any run."""
    base = base_config(get_task(spec.task), spec.base, spec.name, spec.output_dir)
    keys = list(spec.grid)
    plan = []
    for values in itertools.product(*(spec.grid[k] for k in keys)):
        overrides = dict(zip(keys, values, strict=True))
        slug = _slug(overrides)
        for seed in spec.seeds:
            config = apply_overrides(base, {**overrides, "seed": seed,
                                            "name": f"{slug}__seed{seed}",
                                            "output_dir": str(spec.folder / "runs")})
            plan.append({"config_id": slug, "overrides": overrides, "seed": seed,
                         "config": config})
    return plan


def run_one(task_name: str, config_data: dict[str, Any], threads: int) -> None:
    """Train one run (or resume it); safe to call in a fresh process."""
    import torch

    torch.set_num_threads(threads)
    task = get_task(task_name)
    config = parse_task_config(task, config_data, "run")
    resume = (config.run_dir / "checkpoints" / "last.safetensors").exists()
    task.train(config, resume=resume, overwrite=not resume)


def _result(task: Task, item: dict[str, Any]) -> dict[str, Any]:
    summary = task.summary(item["config"].run_dir)
    return {"run_dir": str(summary.run_dir), "validation": summary.validation,
            "test": summary.test, "fit": summary.fit, "config_id": item["config_id"],
            "overrides": item["overrides"], "seed": item["seed"]}


def run_comparison(spec: CompareSpec, jobs: int = 1, notify: Notify = print) -> Path:
    """Run every planned run not finished yet, then write the leaderboard."""
    folder = spec.folder
    task = get_task(spec.task)
    plan = plan_runs(spec)  # validates every configuration first
    folder.mkdir(parents=True, exist_ok=True)
    spec_path = folder / "spec.yaml"
    if spec_path.exists():
        previous = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
        if previous != spec.model_dump(mode="json"):
            raise ConfigError(f"{folder} holds a different comparison; pick another --name")
    atomic_write_text(spec_path, yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False))
    atomic_write_text(folder / "environment.json", json.dumps(environment(), indent=2))
    split = task.freeze_data(plan[0]["config"], folder / "data")
    for item in plan:
        item["config"] = with_split(task, item["config"], split)

    todo = [item for item in plan if not (item["config"].run_dir / "metrics.json").exists()]
    notify(f"{len(plan)} runs planned, {len(plan) - len(todo)} already finished")
    threads = cores_per_process(jobs)
    payloads = [item["config"].model_dump(mode="json") for item in todo]
    if jobs <= 1:
        for item, payload in zip(todo, payloads, strict=True):
            notify(f"training {item['config'].name}")
            run_one(spec.task, payload, threads)
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futures = [pool.submit(run_one, spec.task, payload, threads) for payload in payloads]
            for item, future in zip(todo, futures, strict=True):
                future.result()
                notify(f"finished {item['config'].name}")

    results = [_result(task, item) for item in plan]
    best = write_leaderboard(folder, task, results, spec.metric,
                             title=f"seqlab {task.name} compare: {spec.name}")
    shutil.copyfile(Path(best["run_dir"]) / "model.safetensors", folder / "best_model.safetensors")
    return folder
