"""What ``seqlab lm train`` does, as a library function: train, score, compare, report."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqlab.artifacts import atomic_write_text
from seqlab.engine.estimator import kept_weights
from seqlab.engine.run_folder import prepare_run_dir, write_fit_record
from seqlab.errors import DataError
from seqlab.evaluation.report import write_report
from seqlab.tasks.lm.config import LMConfig
from seqlab.tasks.lm.corpus import Corpus, read_corpus, read_tokens
from seqlab.tasks.lm.model import LanguageModel, language_scores
from seqlab.tasks.lm.ngram import KneserNey
from seqlab.text.levels import NEWLINE
from seqlab.training.distributed import world
from seqlab.training.trainer import TrainCallbacks

Notify = Callable[[str], None]
MODEL_FILE = "model.safetensors"
SAMPLE_LENGTH = {"char": 300, "word": 60}


@dataclass
class LMOutcome:
    """Where a language-model run went, its leaderboard and generated samples."""

    run_dir: Path
    model_path: Path
    leaderboard: list[dict[str, Any]]
    samples: list[str] = field(default_factory=list)


def _row(name: str, val: dict[str, float], test: dict[str, float] | None, size: int,
         seconds: float) -> dict[str, Any]:
    row = {"model": name, "val_loss": val["loss"], "val_perplexity": val["perplexity"],
           "val_bits_per_token": val["bits_per_token"], "size": size, "seconds": seconds}
    if test is not None:
        row |= {"test_loss": test["loss"], "test_perplexity": test["perplexity"],
                "test_bits_per_token": test["bits_per_token"]}
    return row


def ngram_baseline(lm: LanguageModel, corpus: Corpus, order: int) -> dict[str, Any]:
    """The Kneser-Ney baseline over the model's own tokens and vocabulary, so both are
    scored on exactly the same validation (and test) ids."""
    began = time.perf_counter()
    model = KneserNey(order, len(lm.vocab_)).fit(lm.encode(corpus.train).tolist())
    val = language_scores(model.nats(lm.encode(corpus.val).tolist()))
    test = (language_scores(model.nats(lm.encode(corpus.test).tolist()))
            if corpus.test else None)
    return _row(f"kneser-ney {order}-gram", val, test, model.size, time.perf_counter() - began)


def samples_from(lm: LanguageModel, corpus: Corpus, count: int) -> list[str]:
    """``count`` samples at temperature 0.8, seeded from the run's seed; each starts at a
    line start, or after the validation text's first token where there are no lines."""
    prompt = "" if NEWLINE in lm.vocab_.stoi else lm.level.join(corpus.val[:1])
    length = SAMPLE_LENGTH.get(lm.level.name, 100)
    return [lm.generate_text(prompt, length, temperature=0.8, seed=lm.config.seed + i).strip()
            for i in range(count)]


def train_lm(config: LMConfig, callbacks: TrainCallbacks | None = None, resume: bool = False,
             overwrite: bool = False, notify: Notify = lambda _: None) -> LMOutcome | None:
    """Train, score validation (and test, once), run the n-gram baseline, write the run.
    Under torchrun the processes other than rank 0 train beside it, write nothing and
    return None."""
    corpus = read_corpus(config.corpus)
    for note in corpus.notes:
        notify(f"data: {note}")
    run_dir = prepare_run_dir(config, resume, overwrite)
    lm = LanguageModel(config).fit(corpus, checkpoint_dir=run_dir / "checkpoints",
                                   resume=resume, callbacks=callbacks)
    if not world().is_main:  # another process of a distributed run: rank 0 writes the run
        return None
    info = lm.fit_info_
    val = language_scores(lm.mean_nats(lm.encode(corpus.val)))
    test = language_scores(lm.mean_nats(lm.encode(corpus.test))) if corpus.test else None
    name = board_name(config)
    board = [_row(name, val, test, info["parameters"], info["train_seconds"])]
    if config.ngram_order:
        notify(f"baseline: Kneser-Ney {config.ngram_order}-gram on the same tokens")
        board.append(ngram_baseline(lm, corpus, config.ngram_order))
    board.sort(key=lambda row: row["val_loss"])
    samples = samples_from(lm, corpus, config.samples)
    metrics = {"model": name, "level": config.corpus.level, "val": val, "test": test,
               "leaderboard": board, "corpus": {"path": config.corpus.path,
                                                "notes": corpus.notes},
               "fit_info": info}
    model_path = lm.save(run_dir / MODEL_FILE, metrics)
    write_fit_record(run_dir, metrics, lm, "perplexity")
    atomic_write_text(run_dir / "samples.txt", "\n\n---\n\n".join(samples) + "\n")
    _write_lm_report(run_dir, config, lm, board, samples, corpus)
    return LMOutcome(run_dir, model_path, board, samples)


def _write_lm_report(run_dir: Path, config: LMConfig, lm: LanguageModel,
                     board: list[dict[str, Any]], samples: list[str], corpus: Corpus) -> None:
    info, m = lm.fit_info_, config.model
    unit = "char" if config.corpus.level == "char" else "token"
    ours = next(row for row in board if row["model"] == board_name(config))
    baseline = next((row for row in board if row is not ours), None)
    verdict = "no baseline was run"
    if baseline is not None:
        wins = ours["val_loss"] < baseline["val_loss"]
        verdict = (f"{ours['model']} {'beats' if wins else 'loses to'} the {baseline['model']} "
                   f"on validation ({ours['val_loss']:.3f} vs {baseline['val_loss']:.3f} "
                   f"nats/{unit})")
    has_test = bool(corpus.test)
    header = ["model", f"val nats/{unit}", "val perplexity", f"val bits/{unit}",
              *([f"test nats/{unit}", "test perplexity"] if has_test else []),
              "parameters / n-grams", "seconds"]
    rows = [[r["model"], r["val_loss"], r["val_perplexity"], r["val_bits_per_token"],
             *([r["test_loss"], r["test_perplexity"]] if has_test else []), f"{r['size']:,}",
             round(r["seconds"], 1)] for r in board]
    write_report(run_dir, f"seqlab language model: {config.name}", {
        "summary": [
            f"corpus: {config.corpus.path}, {config.corpus.level} level, "
            f"{info['vocab_size']:,} tokens in the vocabulary",
            f"model: {m.cell.upper()} {m.num_layers}×{m.hidden_size}, embeddings "
            f"{m.embedding_dim}{' (tied to the output)' if m.tie_weights else ''}, dropout "
            f"{m.dropout}, {info['parameters']:,} parameters; truncated backpropagation over "
            f"{config.bptt} tokens, state carried between chunks",
            f"validation perplexity chose {kept_weights(info)} of {info['epochs']} "
            f"({info['stopped'].replace('_', ' ')})",
            verdict,
            *[f"data: {note}" for note in corpus.notes],
        ],
        "cards_title": "Validation",
        "cards": [("perplexity", ours["val_perplexity"]),
                  (f"bits/{unit}", ours["val_bits_per_token"]),
                  (f"nats/{unit}", ours["val_loss"]),
                  ("n-gram perplexity", baseline["val_perplexity"] if baseline else "—")],
        "tables": {"Leaderboard (lowest validation loss first)": (header, rows)},
        "texts": {f"Sample {i + 1} (temperature 0.8, seed {config.seed + i})": sample
                  for i, sample in enumerate(samples)},
        "images": {"Learning curves": "learning_curves.png"},
        "facts": {"training tokens": info["train_tokens"],
                  "validation tokens": info["val_tokens"],
                  "training seconds": round(info["train_seconds"], 1), "seed": config.seed,
                  "model file": MODEL_FILE,
                  "reproduce": f"seqlab lm train --config {run_dir / 'config.yaml'} --force"},
    })


def board_name(config: LMConfig) -> str:
    """The recurrent model's name in the leaderboard."""
    m = config.model
    return f"{m.cell} {m.num_layers}×{m.hidden_size}"


def evaluate_lm(model_path: str | Path, text_path: str | Path, out_dir: str | Path
                ) -> dict[str, Any]:
    """Score a saved language model on a text file, read and tokenized as its training
    corpus was: nats, perplexity and bits per token; write metrics.json."""
    lm = LanguageModel.load(model_path)
    config = lm.config.corpus.model_copy(update={"path": str(text_path)})
    tokens, notes = read_tokens(config)
    if len(tokens) < 2:
        raise DataError(f"{text_path}: {len(tokens)} {config.level} token(s); a score needs "
                        "at least two")
    scores = {**language_scores(lm.mean_nats(lm.encode(tokens))), "tokens": len(tokens),
              "unknown_tokens": sum(t not in lm.vocab_.stoi for t in tokens), "notes": notes}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(scores, indent=2))
    return scores
