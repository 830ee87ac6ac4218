"""Pronunciation from spelling: ensembles of trained runs, chosen on validation.

Takes the run folders that ``benchmarks/pronunciation.py`` left (the same dictionary and
split; other seeds or shapes). Each run's validation and test scores are the ones it
wrote (all of its split's words, beam search). The candidates are the best two runs by
validation WER, the best three, … up to all of them, each joined into one model
(``Seq2Seq.ensemble``: the mean of their next-token distributions) and decoded on the
validation words with the runs' beam width, timed. Validation decides: the candidate with
the lowest validation WER is kept if it beats the best run, and only that one decodes the
test words, once.

    python benchmarks/pronunciation_ensemble.py RUN_DIR RUN_DIR [...] [--pairs N]

``--pairs N`` reads only the first N pairs of each split: a quick check of the script,
not a figure to report.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from seqlab.engine.task import read_metrics
from seqlab.tasks.seq2seq.model import Seq2Seq
from seqlab.tasks.seq2seq.pairs import Pairs, read_pairs
from seqlab.tasks.seq2seq.workflow import scored_outputs

from _common import machine_line, markdown_table


def _decoded(model: Seq2Seq, pairs: Pairs) -> tuple[dict[str, Any], float]:
    began = time.perf_counter()
    scores, _ = scored_outputs(model.translate, pairs)
    return scores, time.perf_counter() - began


def _row(name: str, val: dict[str, Any], test: dict[str, Any] | None,
         seconds: float | None) -> dict[str, object]:
    return {"model": name, "val WER": 1 - val["exact_match"],
            "val PER": val["token_error_rate"],
            "val decode s": "—" if seconds is None else seconds,
            "test WER": "—" if test is None else 1 - test["exact_match"],
            "test PER": "—" if test is None else test["token_error_rate"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders of pronunciation.py")
    parser.add_argument("--pairs", type=int, default=None, help="a quick check: N pairs")
    args = parser.parse_args()
    if len(args.runs) < 2:
        parser.error("give two run folders or more")
    print(machine_line())
    runs = sorted(args.runs, key=lambda run: -read_metrics(Path(run))["val"]["exact_match"])
    members = {run: Seq2Seq.load(run) for run in runs}
    data = members[runs[0]].config.data
    val, test = (read_pairs(path, None, data) for path in (data.val, data.test))
    if args.pairs:
        val, test = (p.subset(list(range(min(args.pairs, len(p))))) for p in (val, test))
    rows = []
    for run, model in members.items():
        written = read_metrics(Path(run))
        val_scores, test_scores, seconds = written["val"], written["test"], None
        if args.pairs:
            (val_scores, seconds), (test_scores, _) = (_decoded(model, p) for p in (val, test))
        m = model.config.model
        rows.append(_row(f"{Path(run).name} ({m.num_layers} layer{'s' * (m.num_layers > 1)}, "
                         f"seed {model.config.seed})", val_scores, test_scores, seconds))
    best_member = min(row["val WER"] for row in rows)
    candidates = []
    for size in range(2, len(runs) + 1):
        ensemble = Seq2Seq.ensemble([members[run] for run in runs[:size]], runs[:size])
        scores, seconds = _decoded(ensemble, val)
        candidates.append((1 - scores["exact_match"], size, ensemble, scores, seconds))
    chosen = min(candidates, key=lambda c: c[0])
    kept = chosen[0] < best_member
    for _, size, ensemble, scores, seconds in candidates:
        tested = _decoded(ensemble, test)[0] if kept and size == chosen[1] else None
        rows.append(_row(f"ensemble of the best {size}", scores, tested, seconds))
    print(markdown_table(rows))
    print(f"validation {'keeps the ensemble of ' + str(chosen[1]) if kept else 'keeps one run'}"
          f" (validation WER {chosen[0]:.4f} against the best run's {best_member:.4f}); beam "
          f"width {chosen[2].config.decode.beam_width}; {len(val):,} validation and "
          f"{len(test):,} test pairs")


if __name__ == "__main__":
    main()
