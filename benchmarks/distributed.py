"""The emotion default trained by 1 and by 2 processes (torchrun, gloo), one thread each.

    python benchmarks/distributed.py [--procs 1,2] [--seed 1] [--out runs/distributed]

Each row is one ``seqlab train`` of the emotion split, exactly as a user runs it, with
``--threads 1`` and ``--nproc N``. It reports the recurrent training's throughput (the
first member's training tokens per second, over all processes), the time per epoch
derived from it, the whole training time, and the test scores, with the ratio to one
process. Two processes take the same optimisation steps as one (each computes half of
every batch), so the scores should differ by no more than seed noise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from _common import EMOTION, machine_line, markdown_table, require


def train(procs: int, seed: int, out: Path) -> dict[str, object]:
    name = f"procs{procs}-seed{seed}"
    files = {s: str(require(EMOTION / f"{s}.txt")) for s in ("train", "val", "test")}
    command = [sys.executable, "-m", "seqlab", "train", files["train"], "--val", files["val"],
               "--test", files["test"], "--threads", "1", "--seed", str(seed), "--name",
               name, "--output-dir", str(out), "--force", "--quiet"]
    if procs > 1:
        command += ["--nproc", str(procs)]
    subprocess.run(command, check=True)
    metrics = json.loads((out / name / "metrics.json").read_text())
    fit = metrics["fit"]
    tokens = fit["train_tokens_per_second"]
    return {"processes": fit["processes"], "tokens/s": tokens,
            "s / epoch": fit["train_tokens"] / tokens, "train s": fit["train_seconds"],
            "epochs (member 1)": fit["epochs"], "test accuracy": metrics["test"]["accuracy"],
            "test macro-F1": metrics["test"]["macro_f1"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", default="1,2")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="runs/distributed")
    args = parser.parse_args()
    rows = [train(int(p), args.seed, Path(args.out)) for p in args.procs.split(",")]
    for row in rows:
        row["× 1 process"] = rows[0]["train s"] / row["train s"]
        print(row, flush=True)
    print(f"\n{machine_line()}\n`python benchmarks/distributed.py --procs {args.procs} "
          f"--seed {args.seed}`\n")
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
