"""``seqlab tag train|predict|explain|evaluate|demo``: token tagging (named entities, parts
of speech)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from seqlab.cli import common as opt
from seqlab.cli.common import console, train_command, user_errors
from seqlab.cli.verbs import add_shared_verbs, bundle_info
from seqlab.config import apply_overrides
from seqlab.errors import SeqlabError
from seqlab.tasks.tag.config import TagConfig

tag_app = typer.Typer(no_args_is_help=True, help="Token tagging: named entities, parts of "
                      "speech; BiLSTM/BiGRU with character features and a CRF.")


@train_command(tag_app, TagConfig, lambda *args: _train(*args), (
    "data.train", "give the tagged sentences to learn from: seqlab tag train DATA"))
def train(
    data: Annotated[str | None, typer.Argument(help="training file (CoNLL or CoNLL-U)")] = None,
    val: Annotated[str | None, typer.Option(
        help="validation file (default: hold out 10 % of the training sentences)")] = None,
    test: Annotated[str | None, typer.Option(help="test file, scored once")] = None,
    tag_column: Annotated[str | None, typer.Option(
        help="conll: ner, pos, chunk, last or a number; conllu: upos, xpos, deprel")] = None,
    data_format: Annotated[str | None, typer.Option(
        "--format", help="auto, conll or conllu")] = None,
    encoding: opt.Encoding = None,
    scheme: Annotated[str | None, typer.Option(
        help="entity scheme to learn: iob1, iob2, iobes")] = None,
    cell: opt.Cell = None, layers: opt.Layers = None, hidden_size: opt.HiddenSize = None,
    embedding_dim: opt.EmbeddingDim = None,
    embedding: opt.Embedding = None, vectors: opt.Vectors = None,
    freeze_embeddings: opt.FreezeEmbeddings = None,
    vectors_text: Annotated[list[str] | None, typer.Option(
        "--vectors-text", help="unlabelled text file (one text per line, .gz too) for the "
        "word vectors; repeat for more")] = None,
    chars: Annotated[bool | None, typer.Option(
        "--chars/--no-chars", help="character encoder per word")] = None,
    crf: Annotated[bool | None, typer.Option("--crf/--no-crf", help="CRF output layer")]
    = None,
) -> dict[str, Any]:
    """Train a tagger on DATA; validation entity F1 (or token accuracy) picks the epoch."""
    return {
        "data.train": data, "data.val": val, "data.test": test, "data.tag_column": tag_column,
        "data.format": data_format, "data.scheme": scheme, "data.encoding": encoding,
        "model.cell": cell, "model.num_layers": layers, "model.hidden_size": hidden_size,
        "model.embedding_dim": embedding_dim, "model.chars": chars, "model.crf": crf,
        "data.vectors_text": vectors_text or None,
        **opt.embedding_overrides(embedding, vectors, freeze_embeddings),
    }


def _train(resolved: TagConfig, resume: bool, force: bool, quiet: bool) -> None:
    """Train, then print the scores."""

    from seqlab.cli.progress import RichProgress, train_with_progress
    from seqlab.tasks.tag.workflow import train_tagger

    outcome = train_with_progress(
        RichProgress(console, "f1"), "seqlab tag train", train_tagger, resolved,
        resume, force, quiet)
    final, which = (outcome.test, "test") if outcome.test else (outcome.val, "validation")
    _print_scores(final, which)
    console.print(f"model: {outcome.model_path}\nreport: {outcome.run_dir / 'report.html'}")


def _print_scores(scores: dict[str, Any], which: str) -> None:
    """The entity table (for entity tags) and the token accuracy."""
    from rich.table import Table

    if "per_type" in scores:
        table = Table("entity type", "precision", "recall", "F1", "support",
                      title=f"{which}: entities (exact span and type)")
        for kind, m in scores["per_type"].items():
            table.add_row(kind, f"{m['precision']:.4f}", f"{m['recall']:.4f}",
                          f"{m['f1']:.4f}", str(m["support"]))
        table.add_row("all", f"{scores['precision']:.4f}", f"{scores['recall']:.4f}",
                      f"{scores['f1']:.4f}", str(scores["entities"]), style="bold")
        console.print(table)
    console.print(f"{which} token accuracy: {scores['accuracy']:.4f}")


def _show(tagger: Any, text: str) -> dict[str, Any]:
    """Print one text's tokens with tags and its entities; return them as JSON-able."""
    tagged = tagger.tag_text(text)
    console.print("  ".join(f"{t['token']}/{t['tag']}" for t in tagged.tokens),
                  highlight=False, markup=False)
    for entity in tagged.entities:
        console.print(f"  {entity.type:<6} {entity.text!r} [{entity.start}:{entity.end}]",
                      highlight=False, markup=False)
    return {"text": text, "tokens": tagged.tokens,
            "entities": [vars(entity) for entity in tagged.entities]}


@tag_app.command("predict")
@user_errors
def predict(
    model: Annotated[str, typer.Argument(help="tagger bundle or its run folder")],
    text: Annotated[str | None, typer.Argument(help="a sentence to tag")] = None,
    file: Annotated[Path | None, typer.Option(help="tag every line of this file")] = None,
    output: Annotated[Path | None, typer.Option(
        help="also write the results as JSON lines")] = None,
) -> None:
    """Tag TEXT (or each line of --file): tokens with tags, entities with offsets."""
    from seqlab.data.text_file import read_text
    from seqlab.tasks.tag.tagger import Tagger

    if (text is None) == (file is None):
        raise SeqlabError("give a sentence to tag or --file with one sentence per line")
    tagger = Tagger.load(model)
    lines = [text or ""] if file is None else [
        line for line in read_text(file).splitlines() if line.strip()]
    results = [_show(tagger, line) for line in lines]
    if output is not None:
        from seqlab.artifacts import atomic_write_text

        atomic_write_text(output, "".join(json.dumps(r) + "\n" for r in results))
        console.print(f"wrote {len(results)} results to {output}")


@tag_app.command("evaluate")
@user_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="tagger bundle or its run folder")],
    data: Annotated[str, typer.Argument(help="tagged file (CoNLL or CoNLL-U)")],
    out: Annotated[str | None, typer.Option(help="output folder")] = None,
    tag_column: Annotated[str | None, typer.Option(help="default: the model's")] = None,
    data_format: Annotated[str | None, typer.Option("--format", help="conll or conllu")]
    = None,
    encoding: opt.Encoding = None,
) -> None:
    """Score a saved tagger on a tagged file: entity and per-tag scores, report."""
    from seqlab.tasks.tag.workflow import evaluate_tagger

    out_dir = Path(out) if out else Path("runs") / f"evaluate-{Path(data).stem}"
    scores = evaluate_tagger(model, data, out_dir, data_format, tag_column, encoding)
    _print_scores(scores, data)
    console.print(f"report: {out_dir / 'report.html'}")


@tag_app.command("demo")
@user_errors
def demo(
    output_dir: Annotated[str, typer.Option(help="where the run folder goes")] = "runs",
) -> None:
    """Train an entity tagger on the news sample that ships with seqlab, then use it."""
    from importlib.resources import files

    from seqlab.tasks.tag.tagger import Tagger

    sample = Path(str(files("seqlab") / "samples" / "news_entities.conll"))
    console.print(f"sample: {sample} (400 news-style sentences, CoNLL-2003 layout with "
                  "PER/LOC/ORG/MISC; synthetic, written for seqlab)")
    config = apply_overrides(TagConfig(), {
        "data.train": str(sample), "model.hidden_size": 64, "model.embedding_dim": 50,
        "training.max_epochs": 15, "training.patience": 4, "training.lr": 5e-3,
        "name": "tag-demo", "output_dir": output_dir})
    _train(config, resume=False, force=True, quiet=False)
    tagger = Tagger.load(config.run_dir)
    for sentence in ("Angela Merkel visited Paris on Monday .",
                     "Kwame Mensah told Reuters that prices would fall ."):
        _show(tagger, sentence)


@tag_app.command("explain")
@user_errors
def explain(
    model: Annotated[str, typer.Argument(help="tagger bundle or its run folder")],
    text: Annotated[str, typer.Argument(help="a sentence")],
    token: Annotated[list[str] | None, typer.Option(
        help="a token to explain, by position (0-based) or word; repeat for more "
             "(default: the entities' tokens, or every token for POS-like tags)")] = None,
    tag: Annotated[str | None, typer.Option(
        help="the tag to explain, in the model's scheme (default: the one it gives)")]
    = None,
    method: Annotated[str, typer.Option(help="auto|ig|occlusion (auto: ig)")] = "auto",
    steps: opt.ExplainSteps = 50,
    window: opt.ExplainWindow = 1,
    top: opt.ExplainTop = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print the result as JSON")]
    = False,
) -> None:
    """Show which words drove the tag of each token: the sentence coloured by each word's
    part (green towards the tag, red away), the sum check, and the top words."""
    from rich.markup import escape

    from seqlab.explain.explanation import show
    from seqlab.tasks.tag.explain import explain_text
    from seqlab.tasks.tag.tagger import Tagger

    found = explain_text(Tagger.load(model), text, token, tag, method, steps, window)
    if as_json:
        print(json.dumps(found.to_dict(), ensure_ascii=False))
        return
    console.print("  ".join(f"{t['token']}/{t['tag']}" for t in found.tagged),
                  highlight=False, markup=False)
    for note in found.notes:
        console.print(note, highlight=False, markup=False)
    for e in found.explanations:
        header = (f"token {e.extra['token_index']} [bold]{escape(e.extra['token'])}[/] → "
                  f"[bold]{escape(e.target)}[/] (p = {e.extra['probabilities'][e.target]:.3f})")
        show(console, e, header, top)


tag_app.command("info")(bundle_info)
add_shared_verbs(tag_app, "tag")
