"""Which number format the model computes in: float32, or bfloat16 where the CPU is fast at it.

``training.precision`` names one of :data:`PRECISIONS`, or ``auto``: bfloat16 on a CPU
with AMX or AVX-512 BF16 instructions, float32 elsewhere. bfloat16 is *autocast*: the
weights, their gradients and the optimizer stay float32, and only the matrix products
(linear layers, the recurrent cells) run in bfloat16; torch keeps the losses in float32,
and the tasks turn logits into probabilities and metrics in float32. A model trained in
bfloat16 is therefore saved in float32 and loads on any machine.

The same setting applies when the model predicts, resolved on the machine that predicts.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import get_args

import torch

from seqlab.config import PrecisionName
from seqlab.errors import ConfigError

AUTO = "auto"
PRECISIONS = tuple(name for name in get_args(PrecisionName) if name != AUTO)
FAST_BF16_FLAGS = frozenset({"amx_bf16", "avx512_bf16"})


def flags_of(cpuinfo: str) -> frozenset[str]:
    """The feature flags on the first ``flags`` line of a ``/proc/cpuinfo`` text."""
    for line in cpuinfo.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


@cache
def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags as Linux reports them; empty where it does not."""
    try:
        return flags_of(Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace"))
    except OSError:
        return frozenset()


def cpu_has_fast_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 matrices in hardware (AMX or AVX-512 BF16)."""
    return bool(cpu_flags() & FAST_BF16_FLAGS)


def resolve_precision(name: str) -> str:
    """``float32`` or ``bfloat16``: ``name`` itself, or what ``auto`` means on this CPU."""
    if name == AUTO:
        return "bfloat16" if cpu_has_fast_bfloat16() else "float32"
    if name not in PRECISIONS:
        raise ConfigError(f"precision {name!r} is not one of: {AUTO}, {', '.join(PRECISIONS)}")
    return name


@contextlib.contextmanager
def compute_in(precision: str | None) -> Iterator[None]:
    """Run the block's matrix products in ``precision`` (a resolved name, see above);
    None leaves the surrounding block's choice."""
    if precision is None:
        yield
        return
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
        yield
