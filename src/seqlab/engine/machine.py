"""What this machine offers the processes seqlab starts on it."""

from __future__ import annotations

import os


def cores_per_process(processes: int) -> int:
    """The threads each of ``processes`` gets when they share this machine's cores (at
    least one)."""
    return max(1, (os.cpu_count() or 1) // max(processes, 1))
