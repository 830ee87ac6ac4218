"""The emotion classifier trained by 1 and by 2 processes (torchrun, gloo), one thread each.

    python benchmarks/distributed.py [--procs 1,2] [--seeds 1,2,3] [--kind recurrent]
        [--out runs/distributed]

Each row is one ``seqlab train`` of the emotion split, exactly as a user runs it, with
``--threads 1``, ``--nproc N`` and ``--kind`` (default ``recurrent``: the default
ensemble's recurrent model, one member, so that the rows time one network). It reports the
recurrent training's throughput (training tokens per second, over all processes), the
time per epoch derived from it, the whole training time and the test scores, with the
ratio to one process; then the mean ± sd over the seeds for each process count. Two
processes take the same optimisation steps as one (each computes half of every batch),
so their scores should differ by no more than the seeds make them differ.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

from _common import EMOTION, machine_line, markdown_table, require


def train(procs: int, seed: int, kind: str, out: Path) -> dict[str, object]:
    name = f"{kind}-procs{procs}-seed{seed}"
    files = {s: str(require(EMOTION / f"{s}.txt")) for s in ("train", "val", "test")}
    command = [sys.executable, "-m", "seqlab", "train", files["train"], "--val", files["val"],
               "--test", files["test"], "--kind", kind, "--threads", "1", "--seed",
               str(seed), "--name", name, "--output-dir", str(out), "--force", "--quiet"]
    if procs > 1:
        command += ["--nproc", str(procs)]
    subprocess.run(command, check=True)
    metrics = json.loads((out / name / "metrics.json").read_text())
    fit = metrics["fit"]
    tokens = fit["train_tokens_per_second"]
    return {"processes": fit["processes"], "seed": seed, "tokens/s": tokens,
            "s / epoch": fit["train_tokens"] / tokens, "train s": fit["train_seconds"],
            "epochs": fit["epochs"], "best epoch": fit["best_epoch"],
            "test accuracy": metrics["test"]["accuracy"],
            "test macro-F1": metrics["test"]["macro_f1"]}


def mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", default="1,2")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--kind", default="recurrent")
    parser.add_argument("--out", default="runs/distributed")
    args = parser.parse_args()
    procs = [int(p) for p in args.procs.split(",")]
    rows = []
    for seed in (int(s) for s in args.seeds.split(",")):
        for count in procs:
            rows.append(train(count, seed, args.kind, Path(args.out)))
            print(rows[-1], flush=True)
    summary = []
    epoch_time = {count: statistics.mean(r["s / epoch"] for r in rows
                                         if r["processes"] == count) for count in procs}
    for count in procs:
        mine = [r for r in rows if r["processes"] == count]
        summary.append({
            "processes": count, "seeds": len(mine),
            "s / epoch": epoch_time[count],
            "epoch time × first": epoch_time[count] / epoch_time[procs[0]],
            "train s": statistics.mean(r["train s"] for r in mine),
            "test accuracy": mean_sd([r["test accuracy"] for r in mine]),
            "test macro-F1": mean_sd([r["test macro-F1"] for r in mine])})
    print(f"\n{machine_line()}\n`python benchmarks/distributed.py --procs {args.procs} "
          f"--seeds {args.seeds} --kind {args.kind}`\n")
    print(markdown_table(rows))
    print()
    print(markdown_table(summary))


if __name__ == "__main__":
    main()
