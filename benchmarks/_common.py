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
        cells = [f"{v:.4f}" if isinstance(v, float) and abs(v) < 10 else
                 f"{v:,.0f}" if isinstance(v, float | int) and not isinstance(v, bool) else str(v)
                 for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
