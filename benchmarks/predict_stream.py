"""Streaming batch prediction: peak memory and rows/s at 100k and 1M rows, against
reading the whole file at once (what `seqlab predict --file` did before).

    python benchmarks/predict_stream.py [--model RUN_OR_BUNDLE] [--rows 100000,1000000]

Without --model it trains the demo's model on emotion (the default ensemble with one
recurrent member, about a minute). Each measurement runs in a fresh process, which
reports its own peak resident memory.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

from _common import EMOTION, machine_line, markdown_table, require

CHILD = """
import json, resource, sys, time
mode, model, source, out = sys.argv[1:5]
began = time.perf_counter()
if mode == "streamed":
    from seqlab.tasks.classify.workflow import predict_file
    rows = predict_file(model, source, out, chunk_rows=10_000, force=True)
else:
    import pandas as pd
    from seqlab.data.readers import read_table, text_cells
    from seqlab.data.writers import write_table
    from seqlab.tasks.classify.workflow import label_columns
    frame = read_table(source)
    texts = text_cells(frame, "text")
    write_table(pd.DataFrame({"id": frame["id"], "text": texts,
                              **label_columns(model)(texts)}), out)
    rows = len(texts)
print(json.dumps({"rows": rows, "seconds": time.perf_counter() - began,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _model(given: str | None, scratch: Path) -> str:
    if given:
        return given
    from seqlab.config import apply_overrides
    from seqlab.tasks.classify.config import RunConfig
    from seqlab.tasks.classify.workflow import train_run

    config = apply_overrides(RunConfig(), {
        "data.train": str(require(EMOTION / "train.txt")),
        "data.val": str(require(EMOTION / "val.txt")), "model.members": 1,
        "training.max_minutes": 1.0, "seed": 13, "name": "stream-model",
        "output_dir": str(scratch)})
    return str(train_run(config, overwrite=True).model_path)


def _input(rows: int, scratch: Path) -> Path:
    path = scratch / f"texts-{rows}.csv"
    if path.exists():
        return path
    texts = [line.rpartition(";")[0]
             for line in require(EMOTION / "test.txt").read_text().splitlines()]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        for i in range(rows):
            writer.writerow([f"r{i}", texts[i % len(texts)]])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model")
    parser.add_argument("--rows", default="100000,1000000")
    parser.add_argument("--out", default="/tmp/predict_stream")
    args = parser.parse_args()
    scratch = Path(args.out)
    scratch.mkdir(parents=True, exist_ok=True)
    model = _model(args.model, scratch)
    table = []
    for rows in [int(n) for n in args.rows.split(",")]:
        source = _input(rows, scratch)
        for mode in ("whole file", "streamed"):
            run = subprocess.run([sys.executable, "-c", CHILD, mode.split()[0], model,
                                  str(source), str(scratch / f"out-{rows}.csv")],
                                 capture_output=True, text=True, check=True)
            result = json.loads(run.stdout.strip().splitlines()[-1])
            table.append({"rows": f"{rows:,}", "how": mode,
                          "peak RSS MB": round(result["peak_mb"]),
                          "rows/s": round(result["rows"] / result["seconds"])})
            print(table[-1], flush=True)
    print(f"\n{machine_line()}; model: {model}\n")
    print(markdown_table(table))


if __name__ == "__main__":
    main()
