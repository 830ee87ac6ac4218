"""``seqlab seq2seq train|evaluate|predict|ensemble|export|demo``: encoder–decoder models for
translation and other sequence-to-sequence problems."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any

import typer

from seqlab.cli import common as opt
from seqlab.cli.common import console, train_command, user_errors
from seqlab.cli.verbs import add_shared_verbs, bundle_info
from seqlab.config import apply_overrides
from seqlab.errors import ConfigError
from seqlab.tasks.seq2seq.config import Seq2SeqConfig

seq2seq_app = typer.Typer(no_args_is_help=True, help="Sequence to sequence: translation and "
                          "other pairs; an encoder–decoder RNN with attention, beam search.")
Target = Annotated[str | None, typer.Option(
    "--target", help="the target file, line-aligned with the source file")]
SourceColumn = Annotated[str | None, typer.Option(
    "--source-column", help="a table's source column [default: source]")]
TargetColumn = Annotated[str | None, typer.Option(
    "--target-column", help="a table's target column [default: target]")]


def _train(config: Seq2SeqConfig, resume: bool, force: bool, quiet: bool) -> None:
    """Train, then print the model beside its baselines."""
    from rich.table import Table

    from seqlab.cli.progress import RichProgress, train_with_progress
    from seqlab.tasks.seq2seq.workflow import train_seq2seq

    outcome = train_with_progress(
        RichProgress(console, config.training.monitor), "seqlab seq2seq train",
        train_seq2seq, config, resume, force, quiet)
    part = "test" if "test" in outcome.leaderboard[0] else "val"
    table = Table("model", "BLEU", "chrF", "exact match", "char error rate",
                  title=f"{'test' if part == 'test' else 'validation'} (beam search)")
    for row in outcome.leaderboard:
        s = row[part]
        table.add_row(row["model"], f"{s['bleu']:.2f}", f"{s['chrf']:.2f}",
                      f"{s['exact_match']:.4f}", f"{s['char_error_rate']:.4f}")
    console.print(table)
    console.print(f"model: {outcome.model_path}\nreport: {outcome.run_dir / 'report.html'}")


@train_command(seq2seq_app, Seq2SeqConfig, lambda *args: _train(*args), (
    "data.train", "give the pairs: seqlab seq2seq train pairs.tsv, or train.de --target "
    "train.en"))
def train(
    data: Annotated[str | None, typer.Argument(
        help="a table of pairs (CSV/TSV/JSONL/Parquet, or source<TAB>target lines), or the "
             "source file of two")] = None,
    target: Target = None, source_column: SourceColumn = None,
    target_column: TargetColumn = None, encoding: opt.Encoding = None,
    val: Annotated[str | None, typer.Option(help="validation pairs (or source file)")] = None,
    val_target: Annotated[str | None, typer.Option()] = None,
    test: Annotated[str | None, typer.Option(help="test pairs, scored once")] = None,
    test_target: Annotated[str | None, typer.Option()] = None,
    level: Annotated[str | None, typer.Option(help="spaced (default), word or char tokens")] = None,
    subwords: Annotated[int | None, typer.Option(
        help="learn this many BPE subwords per side instead")] = None,
    attention: Annotated[str | None, typer.Option(
        help="none, additive (Bahdanau), dot or general (Luong)")] = None,
    cell: opt.Cell = None, layers: opt.Layers = None, hidden_size: opt.HiddenSize = None,
    embedding_dim: opt.EmbeddingDim = None,
    beam_width: Annotated[int | None, typer.Option(help="1: greedy")] = None,
    ablation: Annotated[bool | None, typer.Option(
        "--ablation/--no-ablation", help="also train without attention, for the report")]
    = None,
) -> dict[str, Any]:
    """Train an encoder–decoder on DATA; validation BLEU picks the epoch."""
    return {"data.train": data, "data.train_target": target,
            "data.source_column": source_column, "data.target_column": target_column,
            "data.encoding": encoding, "data.val": val, "data.val_target": val_target,
            "data.test": test, "data.test_target": test_target, "data.level": level,
            "data.subwords": subwords, "model.attention": attention, "model.cell": cell,
            "model.num_layers": layers, "model.hidden_size": hidden_size,
            "model.embedding_dim": embedding_dim, "decode.beam_width": beam_width,
            "ablation": ablation}


@seq2seq_app.command("evaluate")
@user_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="seq2seq bundle or its run folder")],
    data: Annotated[str, typer.Argument(help="pairs, or the source file of two")],
    target: Target = None, source_column: SourceColumn = None,
    target_column: TargetColumn = None,
    out: Annotated[str | None, typer.Option(help="output folder")] = None,
    beam_width: Annotated[int | None, typer.Option(help="default: the model's")] = None,
) -> None:
    """Score a saved model on pairs: BLEU, chrF, exact match, error rates."""
    from seqlab.tasks.seq2seq.workflow import evaluate_seq2seq

    out_dir = Path(out) if out else Path("runs") / f"evaluate-{Path(data).stem}"
    columns = {k: v for k, v in (("source_column", source_column),
                                 ("target_column", target_column)) if v}
    s = evaluate_seq2seq(model, data, target, out_dir, beam_width, columns)
    sources = f" ({s['sources']:,} distinct sources, each right if it matches any of its " \
        "targets)" if s["sources"] < s["pairs"] else ""
    console.print(f"{s['pairs']:,} pairs{sources}: BLEU {s['bleu']:.2f}, chrF {s['chrf']:.2f}, "
                  f"exact match {s['exact_match']:.4f}, token error rate "
                  f"{s['token_error_rate']:.4f}, char error rate {s['char_error_rate']:.4f}"
                  f"\n{s['bleu_signature']}\noutputs: {out_dir / 'outputs.tsv'}")


@seq2seq_app.command("predict")
@user_errors
def predict(
    model: Annotated[str, typer.Argument(help="seq2seq bundle or its run folder")],
    texts: Annotated[list[str], typer.Argument(help="texts to translate")],
    beam_width: Annotated[int | None, typer.Option(help="default: the model's")] = None,
    n_best: Annotated[int, typer.Option(help="outputs per text")] = 1,
) -> None:
    """Print the best outputs of each text, with their scores."""
    from seqlab.tasks.seq2seq.model import Seq2Seq

    loaded = Seq2Seq.load(model)
    found = loaded.translate_n_best(texts, beam_width, n_best)
    for text, outputs, cut in zip(texts, found, loaded.tokens_cut(texts), strict=True):
        console.print(f"{text!r}", markup=False, highlight=False)
        if cut:
            console.print(f"  (the last {cut} tokens were not read: the model reads "
                          f"{loaded.config.data.max_tokens})", markup=False, highlight=False)
        for o in outputs:
            console.print(f"  {o.score:8.4f}  {o.text}", markup=False, highlight=False)


@seq2seq_app.command("ensemble")
@user_errors
def ensemble(
    models: Annotated[list[str], typer.Argument(
        help="two or more seq2seq bundles or run folders, trained on the same pairs")],
    out: Annotated[str, typer.Option(help="the ensemble's bundle file")],
    val: Annotated[str | None, typer.Option(
        help="pairs to score each model and the ensemble on (validation, never test)")]
    = None,
    val_target: Annotated[str | None, typer.Option(help="the target file beside --val")]
    = None,
    beam_width: Annotated[int | None, typer.Option(help="default: the first model's")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="replace an existing --out")] = False,
) -> None:
    """Join models into one that decodes with all of them; --val scores each and it.

    At each step the ensemble's next-token distribution is the mean of the models'."""
    from rich.table import Table

    from seqlab.tasks.seq2seq.workflow import ensemble_seq2seq

    if Path(out).exists() and not force:
        raise ConfigError(f"{out} exists; give another --out, or --force to replace it")
    rows = ensemble_seq2seq(models, out, val, val_target, beam_width)
    if rows:
        table = Table("model", "exact match", "token error rate", "BLEU", "chrF",
                      title=f"{val} (beam search)")
        for row in rows:
            table.add_row(row["model"], f"{row['exact_match']:.4f}",
                          f"{row['token_error_rate']:.4f}", f"{row['bleu']:.2f}",
                          f"{row['chrf']:.2f}")
        console.print(table)
    console.print(f"ensemble of {len(models)} models: {out}")


@seq2seq_app.command("export")
@user_errors
def export(
    model: Annotated[str, typer.Argument(help="seq2seq bundle or its run folder")],
    fmt: opt.ExportFormat = "onnx",
    out: opt.ExportOut = None,
) -> None:
    """Export the encoder and one decoder step to ONNX, with the vocabularies as JSON."""
    out_dir = opt.onnx_export_folder(model, fmt, out)
    from seqlab.tasks.seq2seq.onnx_export import export_seq2seq

    result = export_seq2seq(model, out_dir)
    console.print(f"exported to {result.folder}/ (encoder.onnx, decoder_step.onnx, "
                  f"seq2seq.json); onnxruntime gives PyTorch's outputs on "
                  f"{result.texts_checked} texts, scores within "
                  f"{result.max_score_difference:.1e}")


@seq2seq_app.command("demo")
@user_errors
def demo(
    output_dir: Annotated[str, typer.Option(help="where the run folder goes")] = "runs",
) -> None:
    """Learn to write dates in ISO form from the sample that ships with seqlab (a minute)."""
    from seqlab.tasks.seq2seq.model import Seq2Seq

    sample = Path(str(files("seqlab") / "samples" / "dates.tsv"))
    console.print(f"sample: {sample} (3,000 dates written out in words or numbers, with the "
                  "ISO date; synthetic, written for seqlab)")
    config = apply_overrides(Seq2SeqConfig(), {
        "data.train": str(sample), "data.val_fraction": 0.1, "data.test_fraction": 0.1,
        "model.hidden_size": 128, "model.embedding_dim": 64, "model.dropout": 0.1,
        "training.max_epochs": 12, "training.lr": 0.003, "training.batch_size": 32,
        "ablation": False, "name": "seq2seq-demo", "output_dir": output_dir})
    _train(config, resume=False, force=True, quiet=False)
    model = Seq2Seq.load(config.run_dir)
    examples = ["the twenty-first of march nineteen eighty-four", "dec 25, 2031"]
    for text, output in zip(examples, model.translate(examples), strict=True):
        console.print(f"  {text!r} → [bold]{output}[/]", highlight=False)


seq2seq_app.command("info")(bundle_info)
add_shared_verbs(seq2seq_app, "seq2seq")
