"""Helpers shared by the benchmark scripts: data location, machine line, table printing."""

from __future__ import annotations

import os
import platform
import sys
from datetime import date
from pathlib import Path

import torch

SHARED = Path(os.environ.get("SEQLAB_SHARED_DATA",
                             Path(__file__).resolve().parents[2] / "shared" / "data"))
EMOTION = SHARED / "emotion"


def require(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"benchmark data not found: {path} "
                 "(set SEQLAB_SHARED_DATA to the shared data folder)")
    return path


def machine_line() -> str:
    return (f"{date.today().isoformat()} · {platform.machine()} · {os.cpu_count()} cores · "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads) · "
            f"Python {platform.python_version()}")


def markdown_table(rows: list[dict[str, object]]) -> str:
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(format_cell(v) for v in row.values()) + " |")
    return "\n".join(lines)


def format_cell(value: object) -> str:
    """Scores with 4 decimals, mid-sized numbers with 1, large ones as thousands."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.4f}"

