"""Data-parallel training on PyTorch's own engine (``torch.distributed``).

A process started by ``torchrun --nproc-per-node N -m seqlab train …`` (or by
``seqlab train --nproc N``, which starts N processes with the same environment) finds its
place in the variables torchrun sets: ``RANK``, ``WORLD_SIZE`` and ``LOCAL_WORLD_SIZE``.
The :class:`~seqlab.training.trainer.Trainer` then joins the process group (gloo: the
models train on the CPU), wraps the model in ``DistributedDataParallel`` and gives each
process its rows of every batch, so that N processes take the same optimisation steps as
one process with the same batch size.
Outside torchrun every function here answers for a world of one process.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from seqlab.engine.machine import cores_per_process
from seqlab.errors import ConfigError

T = TypeVar("T")
PEER_TIMEOUT = timedelta(minutes=10)  # a collective waits this long for a lost process
EXIT_WAIT = timedelta(seconds=30)  # at exit, how long a process waits for the others


@dataclass(frozen=True)
class World:
    """This process's place among the processes of one training run."""

    rank: int = 0
    size: int = 1
    local_size: int = 1  # processes on this machine

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes the run folder."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world() -> World:
    """The world torchrun launched this process into (one process when it did not)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    return World(int(os.environ.get("RANK", "0")), size,
                 int(os.environ.get("LOCAL_WORLD_SIZE", str(size))))


def default_threads() -> int | None:
    """Threads per process when none are configured: the cores shared among this
    machine's processes (None for one process: torch's own default)."""
    here = world()
    if not here.distributed:
        return None
    return cores_per_process(here.local_size)


def join_group() -> None:
    """Join the process group once per process (gloo backend)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo", timeout=PEER_TIMEOUT)
        atexit.register(_leave_group)


def _leave_group() -> None:
    """At exit: wait for the other processes (at most :data:`EXIT_WAIT`), so that none
    closes its connections while a peer still uses them, then leave the group."""
    import torch.distributed as dist

    if not dist.is_initialized():
        return
    with contextlib.suppress(RuntimeError):  # a peer that is gone is not waited for
        dist.monitored_barrier(timeout=EXIT_WAIT)
    dist.destroy_process_group()


def from_main(value: T) -> T:
    """Rank 0's ``value`` on every rank (a picklable Python object); joins the process
    group if this process has not yet."""
    import torch.distributed as dist

    join_group()
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def mean_over_ranks(value: float) -> float:
    """The mean of ``value`` over all ranks."""
    import torch
    import torch.distributed as dist

    total = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(total)
    return float(total) / dist.get_world_size()


def _tensors(batch: Any) -> dict[Any, Any]:
    """A batch's parts by position (a tuple) or by field name (a dataclass)."""
    if dataclasses.is_dataclass(batch):
        return {f.name: getattr(batch, f.name) for f in dataclasses.fields(batch)}
    return dict(enumerate(batch))


def row_count(batch: Any) -> int:
    """The examples in a batch: the rows of its first tensor."""
    return len(next(part for part in _tensors(batch).values() if part is not None))


def rows_of(batch: Any, here: World) -> Any:
    """This rank's rows (``rank``, ``rank + size``, …) of every tensor in a batch: a
    tuple of tensors, or a dataclass of them (a field that is None stays None)."""
    parts = {key: None if part is None else part[here.rank::here.size]
             for key, part in _tensors(batch).items()}
    if dataclasses.is_dataclass(batch):
        return dataclasses.replace(batch, **parts)
    return tuple(parts.values())


def refuse_changing_weights(freeze_epochs: int) -> None:
    """A ConfigError under torchrun when embeddings are frozen for the first epochs:
    DistributedDataParallel fixes the trained weights when it starts."""
    if freeze_epochs and world().distributed:
        raise ConfigError("model.embedding.freeze_epochs changes which weights train "
                          "mid-run, which distributed training cannot follow; set it to 0 "
                          "or train in one process")


def check_batch_size(batch_size: int, here: World) -> None:
    if batch_size % here.size:
        raise ConfigError(f"training.batch_size {batch_size} does not divide among "
                          f"{here.size} processes; set it to a multiple of {here.size}")


def launch(nproc: int, argv: list[str]) -> int:
    """Run ``seqlab ARGV`` as ``nproc`` processes of one run on this machine, with the
    environment torchrun would give them (``env://`` rendezvous on a free local port);
    return the exit status. When one process fails the others are stopped, and one
    message is printed: rank 0's, or the failed rank's. More processes than cores are
    allowed, with a warning."""
    import socket
    import subprocess
    import tempfile
    import time

    cores = os.cpu_count() or 1
    if nproc > cores:
        print(f"warning: --nproc {nproc} is more than this machine's {cores} cores; the "
              "processes will share them and run slower", file=sys.stderr)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    shared = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
              "WORLD_SIZE": str(nproc), "LOCAL_WORLD_SIZE": str(nproc),
              "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(cores_per_process(nproc)))}
    with tempfile.TemporaryFile("w+") as others:  # what ranks > 0 say, shown if they fail
        processes = [subprocess.Popen(
            [sys.executable, "-m", "seqlab", *argv],
            env=os.environ | shared | {"RANK": str(rank), "LOCAL_RANK": str(rank)},
            stdout=None if rank == 0 else subprocess.DEVNULL,
            stderr=None if rank == 0 else others) for rank in range(nproc)]
        try:
            while True:
                codes = [process.poll() for process in processes]
                if any(code not in (None, 0) for code in codes) or all(c == 0 for c in codes):
                    break
                time.sleep(0.2)
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                process.wait()
        failed = [code for code in codes if code not in (None, 0)]
        if failed and processes[0].returncode <= 0:  # rank 0 said nothing, or was stopped
            others.seek(0)
            sys.stderr.write(others.read())
    return failed[0] if failed else 0


def without_option(argv: list[str], name: str) -> list[str]:
    """``argv`` with ``name VALUE`` and ``name=VALUE`` taken out."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == name:
            skip = True
        elif not arg.startswith(f"{name}="):
            out.append(arg)
    return out
