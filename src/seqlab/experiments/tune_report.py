"""What a study leaves behind: trials table, history and importance plots, best config."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from seqlab.artifacts import atomic_write_text
from seqlab.engine.task import Metric, get_task, metric_of


def trials_frame(study: Any) -> pd.DataFrame:
    rows = []
    for trial in study.get_trials(deepcopy=False):
        if trial.user_attrs.get("surplus"):
            continue
        duration = trial.duration.total_seconds() if trial.duration else None
        scores = trial.user_attrs.get("seed_scores") or []
        rows.append({"number": trial.number, "state": trial.state.name, "value": trial.value,
                     "per_seed": " ".join(f"{v:.4f}" for v in scores),
                     "base": bool(trial.user_attrs.get("base")),
                     "best_epoch": trial.user_attrs.get("best_epoch"),
                     "seconds": duration, **trial.params})
    return pd.DataFrame(rows)


def _markdown(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return "" if value != value else f"{value:.4g}"
        return str(value)

    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, "|" + "---|" * len(frame.columns), *rows])


def _history_plot(frame: pd.DataFrame, metric: Metric, path: Path) -> None:
    done = frame[frame["state"] == "COMPLETE"].sort_values("number")
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.scatter(done["number"], done["value"], label="trial", color="tab:blue")
    best = done["value"].cummax() if metric.higher_is_better else done["value"].cummin()
    ax.plot(done["number"], best, color="tab:red", label="best so far")
    pruned = frame[frame["state"] == "PRUNED"]
    if len(pruned):
        worst = done["value"].min() if metric.higher_is_better else done["value"].max()
        ax.scatter(pruned["number"], [worst] * len(pruned), marker="x",
                   color="grey", label="pruned (shown with the worst)")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"validation {metric.name}")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _importance_plot(study: Any, path: Path) -> dict[str, float]:
    import optuna

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "too few trials": the report says so instead
            importances = optuna.importance.get_param_importances(study)
    except (RuntimeError, ValueError):  # too few complete trials
        return {}
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(importances) + 1.5))
    names = list(importances)[::-1]
    ax.barh(names, [importances[n] for n in names], color="tab:green")
    ax.set_xlabel("importance (fANOVA)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return dict(importances)


def write_tune_report(study: Any, base: Any, spec: Any, folder: Path) -> Any:
    """Write trials.csv/md, the plots and best_config.yaml; return the best run config
    (None before any trial completed)."""
    from seqlab.experiments.tune import best_run_config

    frame = trials_frame(study)
    if frame.empty:
        return None
    frame.to_csv(folder / "trials.csv", index=False)
    complete = frame[frame["state"] == "COMPLETE"]
    if complete.empty:
        return None
    best = study.best_trial
    task = get_task(spec.task)
    metric = metric_of(task, best.user_attrs.get("metric", spec.metric))
    _history_plot(frame, metric, folder / "optimization_history.png")
    importances = _importance_plot(study, folder / "param_importances.png")
    config = best_run_config(base, {**best.params, "seed": spec.seeds[0]}, folder)
    atomic_write_text(folder / "best_config.yaml", config.to_yaml())
    shown = frame.sort_values("value", ascending=not metric.higher_is_better,
                              na_position="last")
    lines = [f"# seqlab tune: {spec.name}", "",
             f"Study `{spec.study_name()}` in `{spec.storage_url()}`: {len(complete)} complete, "
             f"{int((frame['state'] == 'PRUNED').sum())} pruned trials. Best trial "
             f"{best.number}{' (the base config)' if best.user_attrs.get('base') else ''}: "
             f"validation {metric.name} {best.value:.4f}, the mean over seeds {spec.seeds}.", "",
             "Best parameters (also in `best_config.yaml`, for "
             f"`seqlab {task.name} train --config`):", "",
             *(f"- `{k}`: {v}" for k, v in best.params.items()), ""]
    if importances:
        lines += ["Parameter importance (fANOVA): " +
                  ", ".join(f"{k} {v:.2f}" for k, v in importances.items()), ""]
    lines += [_markdown(shown), "",
              "![history](optimization_history.png)", "",
              "![importance](param_importances.png)" if importances else "", ""]
    atomic_write_text(folder / "trials.md", "\n".join(lines))
    return config
