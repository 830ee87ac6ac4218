"""``seqlab lm train|generate|complete|explain|evaluate|demo``: recurrent language models."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from seqlab.cli import common as opt
from seqlab.cli.common import console, train_command, user_errors
from seqlab.cli.verbs import add_shared_verbs, bundle_info
from seqlab.config import apply_overrides
from seqlab.tasks.lm.config import LMConfig

lm_app = typer.Typer(no_args_is_help=True, help="Language models: train on text, generate, "
                     "autocomplete; compared with a Kneser-Ney n-gram baseline.")


@train_command(lm_app, LMConfig, lambda *args: _train(*args), (
    "corpus.path", "give the text to learn from: seqlab lm train CORPUS"))
def train(
    corpus: Annotated[str | None, typer.Argument(help="plain text file (.txt, .gz)")] = None,
    level: Annotated[str | None, typer.Option(help="char or word tokens")] = None,
    lines: Annotated[bool | None, typer.Option(
        "--lines/--running-text", help="one document per line, or one running text")] = None,
    lowercase: Annotated[bool | None, typer.Option(help="lower-case the text first")] = None,
    encoding: opt.Encoding = None,
    cell: opt.Cell = None, layers: opt.Layers = None, hidden_size: opt.HiddenSize = None,
    embedding_dim: opt.EmbeddingDim = None,
    dropout: Annotated[float | None, typer.Option()] = None,
    tie_weights: Annotated[bool | None, typer.Option(
        help="share input embeddings and output layer")] = None,
    bptt: Annotated[int | None, typer.Option(help="tokens per backpropagation chunk")] = None,
    ngram_order: Annotated[int | None, typer.Option(help="baseline order; 0: none")] = None,
) -> dict[str, Any]:
    """Train a language model on CORPUS; validation perplexity picks the epoch."""
    documents = None if lines is None else ("lines" if lines else "file")
    return {
        "corpus.path": corpus, "corpus.level": level, "corpus.documents": documents,
        "corpus.lowercase": lowercase, "corpus.encoding": encoding, "model.cell": cell,
        "model.num_layers": layers, "model.hidden_size": hidden_size,
        "model.embedding_dim": embedding_dim, "model.dropout": dropout,
        "model.tie_weights": tie_weights, "bptt": bptt, "ngram_order": ngram_order,
    }


def _train(resolved: LMConfig, resume: bool, force: bool, quiet: bool) -> None:
    """Train, then print the leaderboard and a sample."""
    from rich.table import Table

    from seqlab.cli.progress import RichProgress, train_with_progress
    from seqlab.tasks.lm.workflow import train_lm

    outcome = train_with_progress(
        RichProgress(console, "perplexity"), "seqlab lm train", train_lm, resolved,
        resume, force, quiet)
    unit = "char" if resolved.corpus.level == "char" else "token"
    table = Table("model", f"val nats/{unit}", "val perplexity", f"val bits/{unit}",
                  "seconds", title="validation (lowest loss first)")
    for row in outcome.leaderboard:
        table.add_row(row["model"], f"{row['val_loss']:.4f}", f"{row['val_perplexity']:.3f}",
                      f"{row['val_bits_per_token']:.3f}", f"{row['seconds']:.1f}")
    console.print(table)
    if outcome.samples:
        console.print("[bold]a sample[/] (temperature 0.8):")
        console.print(outcome.samples[0], markup=False, highlight=False)
    console.print(f"model: {outcome.model_path}\nreport: {outcome.run_dir / 'report.html'}")


@lm_app.command("generate")
@user_errors
def generate(
    model: Annotated[str, typer.Argument(help="language-model bundle or its run folder")],
    prompt: Annotated[str, typer.Option(help="text to continue (default: a line start)")] = "",
    length: Annotated[int, typer.Option(help="tokens to generate")] = 200,
    temperature: Annotated[float, typer.Option(help="0: greedy; higher: more varied")] = 0.8,
    top_k: Annotated[int | None, typer.Option(help="sample from the k most likely")] = None,
    top_p: Annotated[float | None, typer.Option(help="nucleus: smallest set with this mass")]
    = None,
    seed: Annotated[int | None, typer.Option(help="fix the sample")] = None,
) -> None:
    """Continue PROMPT, printing tokens as they are generated."""
    from seqlab.tasks.lm.model import LanguageModel

    lm = LanguageModel.load(model)
    pieces = lm.generate(prompt, length, temperature=temperature, top_k=top_k, top_p=top_p,
                         seed=seed)
    first = next(pieces)  # bad settings fail here, before anything is printed
    sys.stdout.write(prompt + first)
    for piece in pieces:
        sys.stdout.write(piece)
        sys.stdout.flush()
    sys.stdout.write("\n")


@lm_app.command("complete")
@user_errors
def complete(
    model: Annotated[str, typer.Argument(help="language-model bundle or its run folder")],
    prefix: Annotated[str, typer.Argument(help="what has been typed, e.g. 'san f'")],
    n: Annotated[int, typer.Option(help="completions to show")] = 5,
    until: Annotated[str | None, typer.Option(
        help="word or line (default: line for a model trained on lines, else word)")] = None,
) -> None:
    """The N most likely completions of PREFIX, with their probabilities."""
    from rich.table import Table

    from seqlab.tasks.lm.model import LanguageModel

    lm = LanguageModel.load(model)
    found = lm.complete(prefix, n=n, until=until)
    if not found:
        console.print(f"no completion: nothing the model knows starts with {prefix!r}")
        return
    table = Table("#", "completion", "probability")
    for rank, item in enumerate(found, 1):
        table.add_row(str(rank), item.text, f"{item.probability:.4f}")
    console.print(table)


@lm_app.command("explain")
@user_errors
def explain(
    model: Annotated[str, typer.Argument(help="language-model bundle or its run folder")],
    prompts: Annotated[list[str], typer.Argument(help="prompts to explain")],
    next_token: Annotated[str | None, typer.Option(
        "--next", help="the next token to explain (default: the most likely one)")] = None,
    method: Annotated[str, typer.Option(help="auto|occlusion|ig (auto: occlusion)")]
    = "auto",
    steps: opt.ExplainSteps = 50,
    window: opt.ExplainWindow = 1,
    top: opt.ExplainTop = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON, one object per prompt")]
    = False,
) -> None:
    """Show which tokens of each prompt drove the next token: the prompt coloured by each
    token's part (green towards it, red away), the sum check, and the top tokens."""
    import json

    from rich.markup import escape

    from seqlab.explain.explanation import show
    from seqlab.tasks.lm.explain import explain_next
    from seqlab.tasks.lm.model import LanguageModel

    lm = LanguageModel.load(model)
    for e in explain_next(lm, prompts, [next_token] * len(prompts), method, steps, window):
        if as_json:
            print(json.dumps(e.to_dict(), ensure_ascii=False))
            continue
        header = f"next [bold]{escape(repr(e.target))}[/] (p = {e.extra['probability']:.3f})"
        show(console, e, header, top)


@lm_app.command("evaluate")
@user_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="language-model bundle or its run folder")],
    data: Annotated[str, typer.Argument(help="text file, read as the training corpus was")],
    out: Annotated[str | None, typer.Option(help="output folder")] = None,
) -> None:
    """Score a saved language model on a text file: nats, perplexity, bits per token."""
    from seqlab.tasks.lm.workflow import evaluate_lm

    out_dir = Path(out) if out else Path("runs") / f"evaluate-{Path(data).stem}"
    s = evaluate_lm(model, data, out_dir)
    console.print(f"{s['tokens']:,} tokens ({s['unknown_tokens']:,} unknown to the model): "
                  f"{s['loss']:.4f} nats/token, perplexity {s['perplexity']:.3f}, "
                  f"{s['bits_per_token']:.3f} bits/token\nmetrics: {out_dir / 'metrics.json'}")


@lm_app.command("demo")
@user_errors
def demo(
    output_dir: Annotated[str, typer.Option(help="where the run folder goes")] = "runs",
) -> None:
    """Train an autocomplete model on the search-query sample that ships with seqlab."""
    from importlib.resources import files

    from seqlab.tasks.lm.model import LanguageModel

    sample = Path(str(files("seqlab") / "samples" / "search_queries.txt"))
    console.print(f"sample: {sample} (1,600 search queries, one per line; synthetic, "
                  "written for seqlab)")
    config = apply_overrides(LMConfig(), {
        "corpus.path": str(sample), "corpus.documents": "lines", "model.cell": "gru",
        "model.num_layers": 1, "model.hidden_size": 128, "model.embedding_dim": 32,
        "model.dropout": 0.1, "bptt": 64, "training.max_epochs": 30,
        "training.patience": 4, "training.lr": 5e-3, "name": "lm-demo",
        "output_dir": output_dir})
    _train(config, resume=False, force=True, quiet=False)
    lm = LanguageModel.load(config.run_dir)
    for prefix in ("san f", "how to m", "flights to l"):
        found = ", ".join(f"{c.text!r} {c.probability:.2f}" for c in lm.complete(prefix, n=3))
        console.print(f"complete {prefix!r}: {found}", highlight=False)


lm_app.command("info")(bundle_info)
add_shared_verbs(lm_app, "lm")
