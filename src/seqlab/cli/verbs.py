"""The verbs every task has, written once: ``compare``, ``tune``, ``serve``, and the
``info`` of a bundle.

:func:`add_shared_verbs` puts them on a task's command group (``seqlab tag compare`` …);
``seqlab compare`` and ``seqlab tune`` are classification's short forms.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from seqlab.cli.common import (
    OutputDir,
    Settings,
    console,
    key_values,
    require_module,
    user_errors,
)
from seqlab.config import read_yaml_mapping, set_dotted
from seqlab.engine.task import get_task
from seqlab.errors import SeqlabError

SpecFile = Annotated[Path | None, typer.Argument(help="YAML spec (see the README)")]
DataFile = Annotated[str | None, typer.Option("--data", help="the training data file")]
ValFile = Annotated[str | None, typer.Option("--val", help="validation file")]
TestFile = Annotated[str | None, typer.Option("--test", help="test file")]
SpecName = Annotated[str | None, typer.Option("--name", help="folder name in --output-dir")]


def _spec(task: str, spec: Path | None, files: dict[str, str | None],
          settings: list[str] | None) -> dict[str, Any]:
    """A spec file's mapping (or an empty one) with the task, the data files and the
    ``--set`` pairs put into its ``base``."""
    raw = read_yaml_mapping(spec) if spec is not None else {}
    if raw.get("task", task) != task:
        raise SeqlabError(f"{spec}: a spec for task {raw['task']!r}; run it with "
                          f"seqlab {raw['task']} …")
    raw["task"] = task
    base = dict(raw.get("base") or {})
    for key, value in files.items():
        if value:
            set_dotted(base, key, value)
    for key, value in key_values(settings, "--set").items():
        set_dotted(base, key, value)
    raw["base"] = base
    return raw


def _grid_values(items: list[str]) -> dict[str, list[Any]]:
    """``model.cell=rnn,lstm`` → ``{"model.cell": ["rnn", "lstm"]}``, each value as YAML."""
    import yaml

    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep:
            raise SeqlabError(f"--grid {item!r}: write KEY=V1,V2, e.g. model.cell=rnn,lstm")
        out[key.strip()] = [yaml.safe_load(v) for v in values.split(",")]
    return out


def _print_leaderboard(folder: Path, title: str) -> None:
    import pandas as pd

    board = pd.read_csv(folder / "leaderboard.csv")
    val = next(c.removesuffix("_mean") for c in board.columns
               if c.startswith("val_") and c.endswith("_mean"))
    tests = [c.removesuffix("_mean") for c in board.columns
             if c.startswith("test_") and c.endswith("_mean")]
    table = Table("rank", "configuration", val.replace("_", " ", 1),
                  *(t.replace("_", " ", 1) for t in tests), "train s", title=title)
    for rank, row in enumerate(board.to_dict(orient="records"), start=1):
        table.add_row(str(rank), str(row["config"]),
                      *(f"{row[f'{c}_mean']:.4f} ± {row[f'{c}_std']:.4f}" for c in [val, *tests]),
                      f"{row['train_seconds_mean']:.0f}")
    console.print(table)
    console.print(f"leaderboard: {folder / 'leaderboard.html'}\n"
                  f"best model: {folder / 'best_model.safetensors'}")


def compare_command(task: str) -> Callable[..., None]:
    """``compare`` for ``task``: every configuration of a grid, one split, several seeds."""

    @user_errors
    def compare(
        spec: SpecFile = None, data: DataFile = None, val: ValFile = None,
        test: TestFile = None,
        grid: Annotated[list[str] | None, typer.Option(
            help="KEY=V1,V2 … e.g. model.cell=rnn,lstm,gru (repeatable)")] = None,
        seeds: Annotated[str | None, typer.Option(help="comma-separated, e.g. 1,2,3")] = None,
        settings: Settings = None, name: SpecName = None, output_dir: OutputDir = None,
        jobs: Annotated[int, typer.Option(help="runs in parallel (processes)")] = 1,
    ) -> None:
        """Train every configuration of a grid on one split with seeds; rank on validation."""
        from seqlab.experiments.compare import load_spec, run_comparison

        raw = _spec(task, spec, {get_task(task).data_key: data, "data.val": val,
                                 "data.test": test}, settings)
        if grid:
            raw["grid"] = {**raw.get("grid", {}), **_grid_values(grid)}
        if seeds:
            raw["seeds"] = [int(x) for x in seeds.split(",")]
        raw |= {k: v for k, v in (("name", name), ("output_dir", output_dir)) if v}
        parsed = load_spec(raw, str(spec or "options"))
        folder = run_comparison(parsed, jobs=jobs, notify=console.print)
        _print_leaderboard(folder, f"seqlab {task} compare: {parsed.name} "
                                   "(ranked on validation)")

    return compare


def tune_command(task: str) -> Callable[..., None]:
    """``tune`` for ``task``: an Optuna study over the task's search space."""

    @user_errors
    def tune(
        spec: SpecFile = None, data: DataFile = None, val: ValFile = None,
        test: TestFile = None, settings: Settings = None,
        trials: Annotated[int | None, typer.Option(help="trials for the whole study")] = None,
        timeout: Annotated[float | None, typer.Option(help="seconds for this worker")] = None,
        storage: Annotated[str | None, typer.Option(
            help="SQLAlchemy URL; default: sqlite in the tune folder")] = None,
        study: Annotated[str | None, typer.Option(help="study name (default: --name)")] = None,
        name: SpecName = None, output_dir: OutputDir = None,
        retrain: Annotated[bool, typer.Option(help="retrain the best config and test it")]
        = True,
    ) -> None:
        """Search hyper-parameters with Optuna on validation; workers can share a study."""
        require_module("optuna", "tune")
        from seqlab.experiments.tune import load_spec, run_tuning

        raw = _spec(task, spec, {get_task(task).data_key: data, "data.val": val,
                                 "data.test": test}, settings)
        raw |= {k: v for k, v in (("trials", trials), ("timeout", timeout),
                                   ("storage", storage), ("study", study), ("name", name),
                                   ("output_dir", output_dir)) if v is not None}
        parsed = load_spec(raw, str(spec or "options"))
        folder = run_tuning(parsed, retrain=retrain, notify=console.print)
        console.print(f"trials: {folder / 'trials.md'}\n"
                      f"best config: {folder / 'best_config.yaml'}")

    return tune


@user_errors
def bundle_info(model: Annotated[str, typer.Argument(help="model bundle or run folder")]
                ) -> None:
    """Show what a model bundle holds: its format, settings, training facts and scores."""
    from seqlab.artifacts import bundle_header

    header = bundle_header(model)
    console.print(f"format: {header['format']} (version {header['format_version']})")
    model_settings = (header.get("config") or {}).get("model")
    members = header.get("members") or []  # an ensemble's members, each its own settings
    for number, settings in enumerate(members, start=1):
        console.print(f"member {number} of {len(members)}: {settings}", highlight=False)
    if model_settings and not members:
        console.print(f"model: {model_settings}", highlight=False)
    fit = {k: v for k, v in (header.get("fit_info") or {}).items()
           if isinstance(v, int | float | str)}
    console.print(f"fit: {fit}", highlight=False)
    if header.get("metrics"):
        console.print(f"metrics: {header['metrics']}", highlight=False)


def add_shared_verbs(app: typer.Typer, task: str) -> None:
    """Give a task's command group the verbs every task has (its own ``train``,
    ``predict``, ``evaluate`` and ``info`` it defines itself)."""
    from seqlab.cli.serve import serve

    app.command("compare")(compare_command(task))
    app.command("tune")(tune_command(task))
    app.command("serve")(serve)
