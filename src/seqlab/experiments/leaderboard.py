"""The leaderboard of a comparison: mean ± std per configuration, ranked on validation."""

from __future__ import annotations

import base64
import csv
import html
import io
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seqlab.artifacts import atomic_write_text
from seqlab.engine.task import Metric, Task, pick_metric

TEST_NAMES = {"macro_f1": "macro-F1", "weighted_f1": "weighted-F1", "f1": "F1",
              "loss": "nats", "mase": "MASE", "smape": "sMAPE %", "mae": "MAE"}

def aggregate(results: list[dict[str, Any]], metric: Metric,
              test_metrics: list[str]) -> list[dict[str, Any]]:
    """One row per configuration, best mean validation ``metric`` first."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in results:
        groups[result["config_id"]].append(result)
    rows = []
    for config_id, runs in groups.items():
        row: dict[str, Any] = {"config": config_id, **runs[0]["overrides"], "seeds": len(runs)}
        columns = {f"val_{metric.name}": [r["validation"][metric.name] for r in runs]}
        columns |= {f"test_{m}": [r["test"][m] for r in runs] for m in test_metrics}
        columns["train_seconds"] = [r["fit"]["train_seconds"] for r in runs]
        columns["epochs"] = [r["fit"]["epochs"] for r in runs]
        for name, values in columns.items():
            row[f"{name}_mean"] = float(np.mean(values))
            row[f"{name}_std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        row["parameters"] = runs[0]["fit"]["parameters"]
        rows.append(row)
    sign = -1 if metric.higher_is_better else 1
    return sorted(rows, key=lambda r: sign * r[f"val_{metric.name}_mean"])


def _pm(row: dict[str, Any], name: str, digits: int = 4) -> str:
    return f"{row[name + '_mean']:.{digits}f} ± {row[name + '_std']:.{digits}f}"


def _table(rows: list[dict[str, Any]], metric: str, test_metrics: list[str]
           ) -> tuple[list[str], list[list[str]]]:
    header = ["rank", "configuration", f"val {metric}",
              *(f"test {TEST_NAMES.get(m, m)}" for m in test_metrics), "train s", "epochs",
              "parameters", "seeds"]
    body = [[str(i + 1), row["config"], _pm(row, f"val_{metric}"),
             *(_pm(row, f"test_{m}") for m in test_metrics),
             _pm(row, "train_seconds", 1), _pm(row, "epochs", 1), f"{row['parameters']:,}",
             str(row["seeds"])] for i, row in enumerate(rows)]
    return header, body


def _bar_chart(rows: list[dict[str, Any]], column: str, label: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(rows) + 2), 4))
    names = [r["config"] for r in rows]
    means = [r[f"{column}_mean"] for r in rows]
    stds = [r[f"{column}_std"] for r in rows]
    ax.bar(names, means, yerr=stds, capsize=4, color="tab:blue")
    ax.set_ylabel(f"{label} (mean ± std over seeds)")
    if max(means) <= 1.0:  # a score in [0, 1]: show the top of the scale
        low = min(m - s for m, s in zip(means, stds, strict=True))
        ax.set_ylim(max(0.0, low - 0.05), 1.0)
    ax.tick_params(axis="x", rotation=30)
    plt.setp(ax.get_xticklabels(), ha="right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _curves(results: list[dict[str, Any]], metric: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    colours = {cid: plt.cm.tab10(i % 10) for i, cid in
               enumerate(dict.fromkeys(r["config_id"] for r in results))}
    for result in results:
        history = pd.read_csv(Path(result["run_dir"]) / "history.csv")
        label = result["config_id"] if result["seed"] == min(
            r["seed"] for r in results if r["config_id"] == result["config_id"]) else None
        ax.plot(history["epoch"], history[f"val_{metric}"], color=colours[result["config_id"]],
                alpha=0.8, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"validation {metric}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_leaderboard(folder: Path, task: Task, results: list[dict[str, Any]],
                      metric_name: str | None, title: str) -> dict[str, Any]:
    """Write leaderboard.{md,csv,html}, runs.csv and plots; return the best run's result.

    The best configuration has the best mean validation metric (the task's own unless
    ``metric_name`` names another); within it, the best run is the seed with the best
    validation metric. Test numbers are reported, never used to choose.
    """
    chosen = pick_metric(task, metric_name, results[0]["validation"])
    metric = chosen.name
    test_metrics = [m for m in task.test_metrics if all(m in r["test"] for r in results)]
    # the chart shows the ranking metric on test (on validation where runs have no test)
    shown = metric if metric in test_metrics or not test_metrics else test_metrics[0]
    split = "test" if test_metrics else "val"
    label = f"{'test' if test_metrics else 'validation'} {TEST_NAMES.get(shown, shown)}"
    rows = aggregate(results, chosen, test_metrics)
    header, body = _table(rows, metric, test_metrics)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(folder / "leaderboard.csv", buffer.getvalue())
    run_rows = [{"config": r["config_id"], "seed": r["seed"], "run_dir": r["run_dir"],
                 f"val_{metric}": r["validation"][metric],
                 **{f"test_{m}": r["test"][m] for m in test_metrics},
                 "train_seconds": r["fit"]["train_seconds"]} for r in results]
    pd.DataFrame(run_rows).to_csv(folder / "runs.csv", index=False)
    _bar_chart(rows, f"{split}_{shown}", label, folder / "leaderboard.png")
    _curves(results, metric, folder / "learning_curves.png")

    best_id = rows[0]["config"]
    candidates = [r for r in results if r["config_id"] == best_id]
    best_score = chosen.best([r["validation"][metric] for r in candidates])
    best = next(r for r in candidates if r["validation"][metric] == best_score)
    note = (f"Ranked by mean validation {metric}; test scores are shown, not used to choose. "
            f"Best: {best_id} (seed {best['seed']}), saved as best_model.safetensors.")
    md = [f"# {title}", "", note, "",
          "| " + " | ".join(header) + " |", "|" + "---|" * len(header),
          *("| " + " | ".join(row) + " |" for row in body), "",
          f"![{label}](leaderboard.png)", "",
          "![learning curves](learning_curves.png)", ""]
    atomic_write_text(folder / "leaderboard.md", "\n".join(md))

    def image(name: str) -> str:
        data = base64.b64encode((folder / name).read_bytes()).decode("ascii")
        return f'<img alt="{name}" src="data:image/png;base64,{data}">'

    table = "<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>" + \
        "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in body) + "</table>"
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            "</title><style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em "
            "auto;padding:0 1em}table{border-collapse:collapse}td,th{border:1px solid #ddd;"
            "padding:.3em .6em}th{background:#f4f7fb}img{max-width:100%}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(note)}</p>{table}"
            f"<h2>{html.escape(label[0].upper() + label[1:])}</h2>"
            f"{image('leaderboard.png')}"
            f"<h2>Validation {html.escape(metric)} per epoch, every run</h2>"
            f"{image('learning_curves.png')}</body></html>")
    atomic_write_text(folder / "leaderboard.html", page)
    return best
