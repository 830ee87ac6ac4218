"""Pronunciation from spelling: an ensemble of trained runs against each of them.

Takes the run folders that ``benchmarks/pronunciation.py`` left (the same dictionary and
split, other seeds or shapes), joins their models (``Seq2Seq.ensemble``: the mean of
their next-token distributions) and decodes the validation words with each member and
with the ensemble, timed, with the runs' beam width. Validation decides: the ensemble is
kept only if its validation WER is below every member's. The test words are decoded once,
by the ensemble; the members' test scores are the ones their runs wrote.

    python benchmarks/pronunciation_ensemble.py RUN_DIR RUN_DIR [...] [--pairs N]

``--pairs N`` reads only the first N pairs of each split: a quick check of the script,
not a figure to report.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from seqlab.engine.task import read_metrics
from seqlab.tasks.seq2seq.model import Seq2Seq
from seqlab.tasks.seq2seq.pairs import Pairs, read_pairs
from seqlab.tasks.seq2seq.workflow import scored_outputs

from _common import machine_line, markdown_table


def _decoded(model: Seq2Seq, pairs: Pairs) -> tuple[dict[str, float], float]:
    began = time.perf_counter()
    scores, _ = scored_outputs(model.translate, pairs)
    return scores, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", help="run folders of pronunciation.py")
    parser.add_argument("--pairs", type=int, default=None, help="a quick check: N pairs")
    args = parser.parse_args()
    if len(args.runs) < 2:
        parser.error("give two run folders or more")
    print(machine_line())
    members = [Seq2Seq.load(run) for run in args.runs]
    ensemble = Seq2Seq.ensemble(members, args.runs)
    data = members[0].config.data
    val, test = (read_pairs(path, None, data) for path in (data.val, data.test))
    if args.pairs:
        val, test = (p.subset(list(range(min(args.pairs, len(p))))) for p in (val, test))
    rows, val_wers = [], []
    for run, model in zip(args.runs, members, strict=True):
        scores, seconds = _decoded(model, val)
        written = read_metrics(Path(run))
        if not args.pairs and written["val"]["exact_match"] != scores["exact_match"]:
            print(f"note: {run}: validation decoded now scores {scores['exact_match']:.4f} "
                  f"exact, its run wrote {written['val']['exact_match']:.4f}")
        val_wers.append(1 - scores["exact_match"])
        rows.append({"model": Path(run).name + f" (seed {model.config.seed})",
                     "val WER": val_wers[-1], "val PER": scores["token_error_rate"],
                     "val decode s": seconds,
                     "test WER": 1 - written["test"]["exact_match"],
                     "test PER": written["test"]["token_error_rate"]})
    scores, seconds = _decoded(ensemble, val)
    kept = 1 - scores["exact_match"] < min(val_wers)
    tested, _ = _decoded(ensemble, test)
    rows.append({"model": f"ensemble of {len(members)}", "val WER": 1 - scores["exact_match"],
                 "val PER": scores["token_error_rate"], "val decode s": seconds,
                 "test WER": 1 - tested["exact_match"],
                 "test PER": tested["token_error_rate"]})
    print(markdown_table(rows))
    print(f"validation {'keeps' if kept else 'rejects'} the ensemble "
          f"(validation WER {1 - scores['exact_match']:.4f} against the best member's "
          f"{min(val_wers):.4f}); beam width {ensemble.config.decode.beam_width}; "
          f"{tested['sources']:,} test words")


if __name__ == "__main__":
    main()
