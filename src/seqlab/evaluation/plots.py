"""PNG plots: confusion matrix (counts and row-normalised) and learning curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str],
                          path: Path, title: str = "Confusion matrix") -> Path:
    """Counts on the left, each row divided by its total (recall per class) on the right."""
    counts = np.asarray(matrix, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    size = max(4.0, 0.6 * len(labels) + 2.5)
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for ax, data, fmt, name in ((axes[0], counts, "{:.0f}", "counts"),
                                (axes[1], normalised, "{:.2f}", "share of the true class")):
        ax.imshow(data, cmap="Blues", vmin=0)
        ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
        ax.set_yticks(range(len(labels)), labels)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(name)
        high = data.max() / 2 if data.size else 0
        for i in range(len(labels)):
            for j in range(len(labels)):
                ax.text(j, i, fmt.format(data[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if data[i, j] > high else "black")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_learning_curves(history: Sequence[dict[str, Any]], path: Path, metric: str,
                         best_epoch: int | None = None) -> Path:
    """Training and validation loss, and the validation metric, per epoch."""
    epochs = [row["epoch"] for row in history]
    fig, (loss_ax, metric_ax) = plt.subplots(1, 2, figsize=(10, 4))
    loss_ax.plot(epochs, [row["train_loss"] for row in history], marker="o", label="train")
    loss_ax.plot(epochs, [row["val_loss"] for row in history], marker="o", label="validation")
    loss_ax.set_title("loss")
    metric_ax.plot(epochs, [row[f"val_{metric}"] for row in history], marker="o",
                   color="tab:green", label=f"validation {metric}")
    metric_ax.set_title(f"validation {metric}")
    for ax in (loss_ax, metric_ax):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        if best_epoch:
            ax.axvline(best_epoch, color="grey", linestyle="--", label="best epoch")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
