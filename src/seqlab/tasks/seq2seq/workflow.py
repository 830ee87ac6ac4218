"""What ``seqlab seq2seq train`` and ``evaluate`` do, as library functions: read the pairs,
train, score validation (and test, once) beside the baselines, write the run folder."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from seqlab.artifacts import atomic_write_text
from seqlab.config import apply_overrides
from seqlab.data.writers import write_table
from seqlab.engine.estimator import kept_weights
from seqlab.engine.run_folder import prepare_run_dir, write_fit_record
from seqlab.engine.task import floats
from seqlab.evaluation.report import write_report
from seqlab.tasks.seq2seq.config import Seq2SeqConfig
from seqlab.tasks.seq2seq.metrics import edit_distance, seq2seq_scores
from seqlab.tasks.seq2seq.model import Seq2Seq
from seqlab.tasks.seq2seq.pairs import Pairs, PairSplits, load_pair_splits, read_pairs
from seqlab.training.distributed import world
from seqlab.training.trainer import TrainCallbacks

Notify = Callable[[str], None]
MODEL_FILE = "model.safetensors"
SHOWN = ("bleu", "chrf", "exact_match", "token_error_rate", "char_error_rate")
HEATMAPS = 3


@dataclass
class Seq2SeqOutcome:
    """Where a run went and how the model and its baselines scored."""

    run_dir: Path
    model_path: Path
    leaderboard: list[dict[str, Any]]


def scored_outputs(outputs: Callable[[list[str]], list[str]], pairs: Pairs
                   ) -> tuple[dict[str, Any], list[str]]:
    """The scores of ``outputs`` on ``pairs``, each distinct source produced once and
    scored against all its targets, and the output of every pair in its order."""
    sources, references = pairs.by_source()
    produced = dict(zip(sources, outputs(sources), strict=True))
    return (seq2seq_scores([produced[s] for s in sources], references),
            [produced[s] for s in pairs.sources])


def _scored(name: str, outputs: Callable[[list[str]], list[str]], splits: PairSplits
            ) -> dict[str, Any]:
    """A leaderboard row: the scores on validation and test, and every pair's output."""
    row: dict[str, Any] = {"model": name, "outputs": {}}
    for part in ("val", "test"):
        pairs = getattr(splits, part)
        if pairs is not None:
            row[part], row["outputs"][part] = scored_outputs(outputs, pairs)
    return row


def _name(config: Seq2SeqConfig, attention: str | None = None) -> str:
    m = config.model
    kind = attention or m.attention
    return (f"{f'{m.members} × ' if m.members > 1 else ''}"
            f"{'bi' if m.bidirectional else ''}{m.cell} {m.num_layers}×{m.hidden_size}, "
            f"attention {kind}")


def _members_line(info: dict[str, Any]) -> list[str]:
    """What decoding the members together gave on validation (nothing for one model)."""
    members = info.get("members")
    if not members:
        return []
    alone = ", ".join("—" if v is None else f"{v:.4f}" for v in members["validation"])
    together = members["ensemble_validation"]
    return [f"validation {members['metric']} (greedy): the members alone (seeds "
            f"{', '.join(map(str, members['seeds']))}) {alone}; decoding together "
            f"{'—' if together is None else f'{together:.4f}'} (the epochs and curves are "
            "the first member's)"]


def train_seq2seq(config: Seq2SeqConfig, callbacks: TrainCallbacks | None = None,
                  resume: bool = False, overwrite: bool = False,
                  notify: Notify = lambda _: None) -> Seq2SeqOutcome | None:
    """Train, score validation and test (once) beside the baselines, write the run.
    Under torchrun the processes other than rank 0 train beside it, write nothing and
    return None."""
    splits = load_pair_splits(config)
    for note in splits.notes:
        notify(f"data: {note}")
    run_dir = prepare_run_dir(config, resume, overwrite)
    model = Seq2Seq(config).fit(splits.train, splits.val,
                                checkpoint_dir=run_dir / "checkpoints", resume=resume,
                                callbacks=callbacks)
    for note in model.fit_info_["notes"]:
        notify(f"model: {note}")
    plain = None
    if config.ablation and config.model.attention != "none":
        notify("ablation: the same model without attention")
        plain = Seq2Seq(apply_overrides(config, {"model.attention": "none"})).fit(
            splits.train, splits.val, checkpoint_dir=run_dir / "checkpoints" / "ablation",
            resume=resume, callbacks=callbacks)
    if not world().is_main:  # another process of a distributed run: rank 0 writes the run
        return None
    board = [_scored(_name(config), model.translate, splits)]
    if plain is not None:
        board.append(_scored(_name(config, "none"), plain.translate, splits))
    board.append(_scored("copy the source", list, splits))
    ours = board[0]
    outputs = ours["outputs"]
    for row in board:
        del row["outputs"]
    metrics = {"model": ours["model"], "val": floats(ours["val"]),
               "test": floats(ours.get("test")) or None, "leaderboard": board,
               "fit_info": model.fit_info_, "data": splits.notes,
               "signatures": {k: ours["val"][f"{k}_signature"] for k in ("bleu", "chrf")}}
    model_path = model.save(run_dir / MODEL_FILE, {"val": metrics["val"],
                                                   "test": metrics["test"]})
    write_fit_record(run_dir, metrics, model, config.training.monitor)
    for part, produced in outputs.items():
        pairs = getattr(splits, part)
        write_table(pd.DataFrame({"source": pairs.sources, "reference": pairs.targets,
                                  "output": produced}), run_dir / f"{part}_outputs.tsv")
    _plot_attention(model, splits.val, run_dir / "attention.png")
    _write_report(run_dir, config, model, board, splits, outputs["val"])
    return Seq2SeqOutcome(run_dir, model_path, board)


def _plot_attention(model: Seq2Seq, val: Pairs, path: Path) -> None:
    """Heat-maps of the attention over the source for the first validation pairs."""
    shown = min(HEATMAPS, len(val))
    fig, axes = plt.subplots(1, shown, figsize=(5 * shown, 4.5), squeeze=False)
    for ax, source, target in zip(axes[0], val.sources, val.targets, strict=False):
        read, written, weights = model.attention(source, target)
        ax.imshow(weights, cmap="Blues", aspect="auto", vmin=0, vmax=1)
        ax.set_xticks(range(len(read)), read, rotation=90, fontsize=7)
        ax.set_yticks(range(len(written)), written, fontsize=7)
        ax.set_xlabel("source")
        ax.set_ylabel("output (reference read back)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _examples(pairs: Pairs, outputs: list[str], count: int) -> dict[str, Any]:
    """The best and worst validation sources by character error rate against their
    closest reference (``outputs``: one a pair)."""
    produced = dict(zip(pairs.sources, outputs, strict=True))
    rows = []
    for source, references in zip(*pairs.by_source(), strict=True):
        rate, closest = min((edit_distance(produced[source], r) / max(len(r), 1), r)
                            for r in references)
        rows.append((rate, [source, closest, produced[source]]))
    rows = [row for _, row in sorted(rows, key=lambda item: item[0])]
    header = ["source", "closest reference", "output"]
    return {"Best validation outputs": (header, rows[:count]),
            "Worst validation outputs": (header, rows[::-1][:count])}


def _references_note(row: dict[str, Any]) -> list[str]:
    """Where a source came with several targets, how it was scored."""
    parts = [f"{part} {row[part]['sources']:,} sources with {row[part]['pairs']:,} targets"
             for part in ("val", "test") if part in row
             and row[part]["pairs"] > row[part]["sources"]]
    return [f"several targets for one source ({'; '.join(parts)}): its output is decoded "
            "once and is exact if it equals any of them; error rates count the edits to "
            "the closest; BLEU and chrF read them all as references"] if parts else []


def _write_report(run_dir: Path, config: Seq2SeqConfig, model: Seq2Seq,
                  board: list[dict[str, Any]], splits: PairSplits, outputs: list[str]) -> None:
    info, ours = model.fit_info_, board[0]
    final, which = (ours["test"], "Test") if "test" in ours else (ours["val"], "Validation")
    header = ["model", *(f"val {k}" for k in SHOWN), *(f"test {k}" for k in SHOWN
                                                       if "test" in ours)]
    rows = [[row["model"], *(round(row["val"][k], 4) for k in SHOWN),
             *(round(row["test"][k], 4) for k in SHOWN if "test" in row)] for row in board]
    write_report(run_dir, f"seqlab seq2seq: {config.name}", {
        "summary": [
            f"data: {config.data.train}; {config.data.level} tokens; "
            f"{info['train_pairs']:,} training pairs ({info['left_out_too_long']:,} left out, "
            f"longer than {config.data.max_tokens} tokens), {info['val_pairs']:,} validation",
            f"model: {ours['model']}, {info['parameters']:,} parameters; vocabularies "
            f"{info['source_vocab']:,} → {info['target_vocab']:,}",
            f"validation {info['monitor']} (greedy) chose {kept_weights(info)} of "
            f"{info['epochs']}; outputs by beam search, width {config.decode.beam_width}",
            *_members_line(info),
            f"BLEU: {ours['val']['bleu_signature']}; chrF: {ours['val']['chrf_signature']}",
            *_references_note(ours),
            *[f"data: {note}" for note in splits.notes],
        ],
        "cards_title": f"{which} scores",
        "cards": [("BLEU", final["bleu"]), ("chrF", final["chrf"]),
                  ("exact match", final["exact_match"]),
                  ("char error rate", final["char_error_rate"])],
        "tables": {"The model beside its baselines": (header, rows),
                   **_examples(splits.val, outputs, config.examples)},
        "images": {"Attention (validation pairs)": "attention.png",
                   "Learning curves": "learning_curves.png"},
        "facts": {"training seconds": round(info["train_seconds"], 1), "seed": config.seed,
                  "model file": MODEL_FILE,
                  "reproduce": f"seqlab seq2seq train --config {run_dir / 'config.yaml'} "
                               "--force"},
    })


def evaluate_seq2seq(model_path: str | Path, data: str, target: str | None,
                     out_dir: str | Path, beam_width: int | None = None,
                     columns: dict[str, str] | None = None) -> dict[str, Any]:
    """Score a saved model on pairs (a table, or a source file and its target file; a
    table's ``columns`` as the model's config names them unless given); write
    metrics.json and the outputs beside the references."""
    model = Seq2Seq.load(model_path)
    pairs = read_pairs(data, target, model.config.data.model_copy(update=columns or {}))
    scores, outputs = scored_outputs(lambda sources: model.translate(sources, beam_width),
                                     pairs)
    scores["notes"] = pairs.notes
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(scores, indent=2))
    write_table(pd.DataFrame({"source": pairs.sources, "reference": pairs.targets,
                              "output": outputs}), out / "outputs.tsv")
    return scores


def ensemble_seq2seq(model_paths: list[str], out: str | Path, val: str | None = None,
                     val_target: str | None = None, beam_width: int | None = None
                     ) -> list[dict[str, Any]]:
    """Write one bundle that decodes with every model of ``model_paths`` (trained on the
    same pairs with the same data settings) to ``out``. With ``val`` (pairs that trained
    none of them), score each model and the ensemble there, best exact match first, so
    that validation says whether the ensemble is worth its cost; else return []."""
    models = [Seq2Seq.load(path) for path in model_paths]
    ensemble = Seq2Seq.ensemble(models, model_paths)
    ensemble.save(out)
    if val is None:
        return []
    pairs = read_pairs(val, val_target, ensemble.config.data)
    rows = [{"model": name, **scored_outputs(
        lambda sources, m=model: m.translate(sources, beam_width), pairs)[0]}
        for name, model in [*zip(model_paths, models, strict=True),
                            (f"ensemble ({Path(out).name})", ensemble)]]
    return sorted(rows, key=lambda row: -row["exact_match"])
