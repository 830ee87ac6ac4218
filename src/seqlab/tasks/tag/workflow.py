"""What ``seqlab tag train`` does, as a library function: read, train, score, report."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.artifacts import atomic_write_text
from seqlab.engine.estimator import kept_weights
from seqlab.engine.run_folder import prepare_run_dir, write_fit_record
from seqlab.errors import DataError
from seqlab.evaluation.plots import plot_confusion_matrix
from seqlab.evaluation.report import write_report
from seqlab.tasks.tag.config import TagConfig
from seqlab.tasks.tag.conll import Sentence, TaggedData, read_tagged
from seqlab.tasks.tag.tagger import Tagger
from seqlab.training.distributed import world
from seqlab.training.trainer import TrainCallbacks

Notify = Callable[[str], None]
MODEL_FILE = "model.safetensors"
CONFUSION_MAX_TAGS = 30


@dataclass
class TagSplits:
    """Training, validation and (possibly empty) test sentences."""

    train: list[Sentence]
    val: list[Sentence]
    test: list[Sentence]
    notes: list[str]


@dataclass
class TagOutcome:
    """Where a tagger run went and its validation (and test) scores."""

    run_dir: Path
    model_path: Path
    val: dict[str, Any]
    test: dict[str, Any] | None


def _read(path: str, config: TagConfig) -> TaggedData:
    d = config.data
    return read_tagged(path, None if d.format == "auto" else d.format, d.tag_column,
                       d.encoding)


def load_tag_splits(config: TagConfig) -> TagSplits:
    """Read the files a config names; without a validation file, hold out a seeded
    random ``val_fraction`` of the training sentences."""
    if not config.data.train:
        raise DataError("no training data: give a CoNLL or CoNLL-U file, e.g. "
                        "seqlab tag train train.conll --val valid.conll")
    train = _read(config.data.train, config)
    notes = list(train.notes)
    if config.data.val:
        val = _read(config.data.val, config)
        notes += val.notes
        train_sentences, val_sentences = train.sentences, val.sentences
    else:
        order = list(range(len(train.sentences)))
        split_seed = config.seed if config.data.split_seed is None else config.data.split_seed
        random.Random(split_seed).shuffle(order)
        cut = max(1, round(len(order) * config.data.val_fraction))
        if len(order) - cut < 1:
            raise DataError(f"{config.data.train}: {len(order)} sentence(s) are too few to "
                            "hold out validation; give more, or a --val file")
        held = set(order[:cut])
        val_sentences = [s for i, s in enumerate(train.sentences) if i in held]
        train_sentences = [s for i, s in enumerate(train.sentences) if i not in held]
        notes.append(f"validation: {len(val_sentences):,} sentences held out of the training "
                     f"file (seed {split_seed})")
    test_sentences: list[Sentence] = []
    if config.data.test:
        test = _read(config.data.test, config)
        notes += test.notes
        test_sentences = test.sentences
    return TagSplits(train_sentences, val_sentences, test_sentences, notes)


def train_tagger(config: TagConfig, callbacks: TrainCallbacks | None = None,
                 resume: bool = False, overwrite: bool = False,
                 notify: Notify = lambda _: None) -> TagOutcome | None:
    """Train on the config's data, score validation (and test, once), write the run.
    Under torchrun the processes other than rank 0 train beside it, write nothing and
    return None."""
    splits = load_tag_splits(config)
    for note in splits.notes:
        notify(f"data: {note}")
    run_dir = prepare_run_dir(config, resume, overwrite)
    tagger = Tagger(config).fit(splits.train, splits.val, checkpoint_dir=run_dir / "checkpoints",
                                resume=resume, callbacks=callbacks)
    if not world().is_main:  # another process of a distributed run: rank 0 writes the run
        return None
    val = tagger.evaluate(splits.val)
    test = None
    if splits.test:
        began = time.perf_counter()
        test = tagger.evaluate(splits.test)
        seconds = time.perf_counter() - began
        test["tokens_per_second"] = sum(len(s.tokens) for s in splits.test) / seconds
    metrics = {"task": "entities" if tagger.entities_ else "tags", "val": val, "test": test,
               "fit_info": tagger.fit_info_, "data": splits.notes}
    model_path = tagger.save(run_dir / MODEL_FILE, _headline(metrics))
    images = write_fit_record(run_dir, metrics, tagger, tagger.monitor_)
    final = test or val
    labels = final["tokens"]["labels"]
    if len(labels) <= CONFUSION_MAX_TAGS:
        plot_confusion_matrix(final["tokens"]["confusion_matrix"], labels,
                              run_dir / "confusion_matrix.png",
                              f"Token tags ({'test' if test else 'validation'})")
        images["Confusion matrix (token tags)"] = "confusion_matrix.png"
    _write_tag_report(run_dir, config, tagger, val, test, splits, images)
    return TagOutcome(run_dir, model_path, val, test)


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The scalar scores kept inside the model bundle."""
    return {split: {k: v for k, v in (metrics[split] or {}).items() if isinstance(v, float)}
            for split in ("val", "test") if metrics[split]}


def _per_type_rows(scores: dict[str, Any]) -> list[list[Any]]:
    rows = [[kind, m["precision"], m["recall"], m["f1"], m["support"]]
            for kind, m in scores["per_type"].items()]
    total = ["all (micro)", scores["precision"], scores["recall"], scores["f1"],
             scores["entities"]]
    return [*rows, total]


def _per_tag_rows(scores: dict[str, Any]) -> list[list[Any]]:
    return [[tag, m["precision"], m["recall"], m["f1"], m["support"]]
            for tag, m in scores["tokens"]["per_class"].items() if m["support"]]


def _vector_source(info: dict[str, Any]) -> str:
    """Where the word embeddings started and how much of the data had a vector."""
    emb = info.get("embedding")
    if not emb:
        return " (learned)"
    return (f" (from {emb['source']}; a vector for {emb['word_share']:.1%} of the "
            f"{emb['vocab_words']:,} vocabulary words, "
            f"{emb['words_from_unlabelled_text']:,} of them from unlabelled text, and for "
            f"{emb['token_share']:.1%} of the training tokens)")


def _members_prefix(info: dict[str, Any]) -> str:
    """How the report's model line starts for averaged taggers (nothing for one)."""
    members = info.get("members")
    return f"the mean of {members['count']} taggers (seeds " \
        f"{', '.join(map(str, members['seeds']))}), each " if members else ""


def _members_line(info: dict[str, Any]) -> list[str]:
    """What averaging the members gained on validation (nothing for one tagger)."""
    members = info.get("members")
    if not members:
        return []
    alone = ", ".join(f"{v:.4f}" for v in members["validation"])
    averaged = [str(i + 1) for i, epochs in enumerate(members.get("averaged", [])) if epochs]
    kept = f"; averaged weights kept by members {', '.join(averaged)}" if averaged else ""
    return [f"validation {members['metric']}: the members alone {alone}; their mean "
            f"{members['mean_validation']:.4f} (the epochs and curves are the first "
            f"member's{kept})"]


def _write_tag_report(run_dir: Path, config: TagConfig, tagger: Tagger, val: dict[str, Any],
                      test: dict[str, Any] | None, splits: TagSplits,
                      images: dict[str, str]) -> None:
    info, m = tagger.fit_info_, config.model
    final, which = (test, "Test") if test else (val, "Validation")
    header = ["", "precision", "recall", "F1", "support"]
    tables: dict[str, Any] = {}
    if tagger.entities_:
        cards = [("entity F1", final["f1"]), ("precision", final["precision"]),
                 ("recall", final["recall"]), ("token accuracy", final["accuracy"])]
        tables[f"{which}: entities by type (exact span and type)"] = (
            ["type", *header[1:]], _per_type_rows(final))
        if test:
            tables["Validation: entities by type"] = (["type", *header[1:]],
                                                      _per_type_rows(val))
    else:
        cards = [("token accuracy", final["accuracy"]),
                 ("macro-F1 over tags", final["tokens"]["macro_f1"]),
                 ("tokens", final["tokens"]["n"])]
    tables[f"{which}: per tag (tokens)"] = (["tag", *header[1:]], _per_tag_rows(final))
    layers = f"{'Bi' if m.bidirectional else ''}{m.cell.upper()} {m.num_layers}×{m.hidden_size}"
    features = ["word embeddings " + str(m.embedding_dim) + _vector_source(info)]
    if m.chars:
        features.append(f"character BiLSTM {m.char_hidden}×2" if m.char_encoder == "lstm"
                        else f"character CNN ({2 * m.char_hidden} filters of width 3)")
    if m.casing:
        features.append("casing")
    write_report(run_dir, f"seqlab tagger: {config.name}", {
        "summary": [
            f"data: {config.data.train}; "
            + ("entity tags, scheme " + info["source_scheme"] + f" (learned as "
               f"{config.data.scheme})" if tagger.entities_ else "token tags")
            + f", {len(tagger.tags_)} tags",
            f"model: {_members_prefix(info)}{layers} over {', '.join(features)}; "
            f"{'CRF output (valid sequences only)' if m.crf else 'softmax per token'}; "
            f"{info['parameters']:,} parameters",
            *_members_line(info),
            f"validation {info['monitor']} chose {kept_weights(info)} of "
            f"{info['epochs']} ({info['stopped'].replace('_', ' ')})",
            *( [f"test scored once: {len(splits.test):,} sentences, "
                f"{test['tokens_per_second']:,.0f} tokens/s"] if test else []),
            *[f"data: {note}" for note in splits.notes],
        ],
        "cards_title": f"{which} scores", "cards": cards, "tables": tables,
        "images": images,
        "facts": {"training sentences": info["train_sentences"],
                  "training tokens": info["train_tokens"], "vocabulary": info["vocab_size"],
                  "training seconds": round(info["train_seconds"], 1), "seed": config.seed,
                  "model file": MODEL_FILE,
                  "reproduce": f"seqlab tag train --config {run_dir / 'config.yaml'} --force"},
    })


def evaluate_tagger(model_path: str | Path, data_path: str | Path, out_dir: str | Path,
                    fmt: str | None = None, tag_column: str | None = None,
                    encoding: str | None = None) -> dict[str, Any]:
    """Score a saved tagger on a tagged file (read as the model's training data was,
    unless told otherwise); write metrics.json, the confusion matrix and a report."""
    tagger = Tagger.load(model_path)
    d = tagger.config.data
    data = read_tagged(data_path, fmt or (None if d.format == "auto" else d.format),
                       tag_column or d.tag_column, encoding or d.encoding)
    known = set(tagger.output_tags())
    unknown = sorted({tag for s in data.sentences for tag in s.tags} - known)
    if unknown:
        raise DataError(f"{data_path}: tags the model never learned: {', '.join(unknown[:8])}. "
                        f"It knows: {', '.join(sorted(known))}. Check --tag-column.")
    scores = tagger.evaluate(data.sentences)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(scores, indent=2))
    images = {}
    labels = scores["tokens"]["labels"]
    if len(labels) <= CONFUSION_MAX_TAGS:
        plot_confusion_matrix(scores["tokens"]["confusion_matrix"], labels,
                              out / "confusion_matrix.png", f"Token tags: {Path(data_path).name}")
        images["Confusion matrix (token tags)"] = "confusion_matrix.png"
    header = ["precision", "recall", "F1", "support"]
    tables = {"Per tag (tokens)": (["tag", *header], _per_tag_rows(scores))}
    cards = [("token accuracy", scores["accuracy"])]
    if tagger.entities_:
        tables = {"Entities by type (exact span and type)": (["type", *header],
                                                             _per_type_rows(scores)), **tables}
        cards = [("entity F1", scores["f1"]), ("precision", scores["precision"]),
                 ("recall", scores["recall"]), *cards]
    write_report(out, f"seqlab tagger evaluation: {Path(data_path).name}", {
        "summary": [f"model: {model_path}",
                    f"data: {data_path} ({len(data.sentences):,} sentences)",
                    *[f"data: {note}" for note in data.notes]],
        "cards_title": "Scores", "cards": cards, "tables": tables, "images": images,
        "facts": {"tags": ", ".join(tagger.tags_)},
    })
    return scores
