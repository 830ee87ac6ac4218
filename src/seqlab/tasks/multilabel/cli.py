"""``seqlab multilabel train|evaluate|predict|info|compare|tune|serve``: texts with any
number of labels each."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from seqlab.cli import common as opt
from seqlab.cli.common import console, split_names, train_command, user_errors
from seqlab.cli.verbs import add_shared_verbs, bundle_info
from seqlab.errors import SeqlabError
from seqlab.tasks.multilabel.config import MultiLabelConfig

multilabel_app = typer.Typer(no_args_is_help=True, help="Multi-label classification: any "
                             "number of labels per text; sigmoid outputs, thresholds tuned "
                             "on validation.")
Format = Annotated[str | None, typer.Option("--format", help="csv|tsv|jsonl|parquet|lines")]
TextColumn = Annotated[str | None, typer.Option(help="column holding the text")]
LabelColumn = Annotated[str | None, typer.Option(
    help="column holding each text's labels (a|b, or a JSON list)")]
LabelColumns = Annotated[str | None, typer.Option(
    help="one 0/1 column per label, comma-separated (instead of --label-column)")]
LabelSeparator = Annotated[str | None, typer.Option(
    help="between the labels in --label-column [default: |]")]


def _train(config: MultiLabelConfig, resume: bool, force: bool, quiet: bool) -> None:
    """Train, then print the model beside the baseline."""
    from rich.table import Table

    from seqlab.cli.progress import RichProgress, train_with_progress
    from seqlab.tasks.multilabel.workflow import HEADLINE, train_multilabel

    outcome = train_with_progress(
        RichProgress(console, config.training.monitor), "seqlab multilabel train",
        train_multilabel, config, resume, force, quiet)
    table = Table("test", "model", *(["TF-IDF baseline", "difference"]
                                     if outcome.baseline else []))
    for key in HEADLINE:
        row = [key.replace("_", " "), f"{outcome.test[key]:.4f}"]
        if outcome.baseline:
            base = outcome.baseline["test"][key]
            row += [f"{base:.4f}", f"{outcome.test[key] - base:+.4f}"]
        table.add_row(*row)
    console.print(table)
    console.print(f"model: {outcome.model_path}\nreport: {outcome.run_dir / 'report.html'}")


@train_command(multilabel_app, MultiLabelConfig, lambda *args: _train(*args), (
    "data.train", "give the training file: seqlab multilabel train DATA (labels like "
    "PER|LOC in a label column, or --label-columns)"))
def train(
    data: Annotated[str | None, typer.Argument(help="training file")] = None,
    val: Annotated[str | None, typer.Option(help="validation file (else split from DATA)")]
    = None,
    test: Annotated[str | None, typer.Option(help="test file (else split from DATA)")] = None,
    data_format: Format = None, text_column: TextColumn = None,
    label_column: LabelColumn = None, label_columns: LabelColumns = None,
    label_separator: LabelSeparator = None, encoding: opt.Encoding = None,
    kind: Annotated[str | None, typer.Option(help="recurrent (default) or tfidf")] = None,
    cell: opt.Cell = None, layers: opt.Layers = None, hidden_size: opt.HiddenSize = None,
    embedding_dim: opt.EmbeddingDim = None,
    baseline: Annotated[bool | None, typer.Option(
        "--baseline/--no-baseline", help="also fit the TF-IDF baseline and report it")]
    = None,
) -> dict[str, Any]:
    """Train on DATA; validation picks the epoch, then a threshold per label."""
    return {
        "data.train": data, "data.val": val, "data.test": test, "data.format": data_format,
        "data.text_column": text_column, "data.label_column": label_column,
        "data.label_columns": split_names(label_columns),
        "data.label_separator": label_separator, "data.encoding": encoding,
        "model.kind": kind, "model.cell": cell, "model.num_layers": layers,
        "model.hidden_size": hidden_size, "model.embedding_dim": embedding_dim,
        "baseline": baseline,
    }


@multilabel_app.command("predict")
@user_errors
def predict(
    model: Annotated[str, typer.Argument(help="model bundle or its run folder")],
    text: Annotated[str | None, typer.Argument(help="a text to label")] = None,
    file: Annotated[Path | None, typer.Option(help="label every text of this file")] = None,
    output: Annotated[Path | None, typer.Option(
        help="where --file's predictions go (.csv, .tsv, .jsonl, .parquet)")] = None,
    data_format: Format = None, text_column: TextColumn = None,
    encoding: opt.Encoding = None,
) -> None:
    """Label TEXT (its label set and every label's probability), or every text of --file."""
    from seqlab.tasks.multilabel.kinds import load_multilabel
    from seqlab.tasks.multilabel.workflow import predict_multilabel_file

    if (text is None) == (file is None):
        raise SeqlabError("give a text to label, or --file with --output")
    if file is not None:
        if output is None:
            raise SeqlabError("--file needs --output, the predictions file")
        n = predict_multilabel_file(model, file, output, data_format, text_column,
                                    encoding or "utf-8")
        console.print(f"wrote {n:,} predictions to {output}")
        return
    clf = load_multilabel(model)
    proba = clf.predict_proba([text or ""])[0]
    chosen = clf.predict([text or ""])[0]
    console.print(f"labels: {', '.join(chosen) if chosen else '(none)'}", highlight=False)
    for label, p, t in zip(clf.labels_, proba, clf.thresholds_, strict=True):
        console.print(f"  {label:<16} {p:.4f}  (threshold {t:.2f})", highlight=False,
                      markup=False)


@multilabel_app.command("evaluate")
@user_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="model bundle or its run folder")],
    data: Annotated[str, typer.Argument(help="file of texts with label sets")],
    out: Annotated[str | None, typer.Option(help="output folder")] = None,
    data_format: Format = None, text_column: TextColumn = None,
    label_column: LabelColumn = None, label_columns: LabelColumns = None,
    label_separator: LabelSeparator = None, encoding: opt.Encoding = None,
) -> None:
    """Score a saved model on DATA: micro/macro F1, per label, report, predictions."""
    from seqlab.config import apply_overrides
    from seqlab.tasks.multilabel.workflow import HEADLINE, evaluate_multilabel

    config = apply_overrides(MultiLabelConfig(), {
        "data.format": data_format, "data.text_column": text_column,
        "data.label_column": label_column, "data.label_columns": split_names(label_columns),
        "data.label_separator": label_separator, "data.encoding": encoding})
    out_dir = Path(out) if out else Path("runs") / f"evaluate-{Path(data).stem}"
    scores = evaluate_multilabel(model, data, out_dir, config)
    console.print(", ".join(f"{k.replace('_', ' ')} {scores[k]:.4f}" for k in HEADLINE))
    console.print(f"report: {out_dir / 'report.html'}")


multilabel_app.command("info")(bundle_info)
add_shared_verbs(multilabel_app, "multilabel")


@multilabel_app.command("demo")
@user_errors
def demo(
    output_dir: Annotated[str, typer.Option(help="where the run folder goes")] = "runs",
) -> None:
    """Label the news sample that ships with seqlab by the entity types each sentence
    names (PER, LOC, ORG, MISC, or none), train on it, then label new sentences."""
    from importlib.resources import files

    from seqlab.config import apply_overrides
    from seqlab.tasks.multilabel.kinds import load_multilabel
    from seqlab.tasks.multilabel.labelsets import write_entity_sets

    sample = Path(str(files("seqlab") / "samples" / "news_entities.conll"))
    data = Path(output_dir) / "multilabel-demo.jsonl"
    data.parent.mkdir(parents=True, exist_ok=True)
    count = write_entity_sets(sample, data)
    console.print(f"sample: {sample} → {data}: {count} synthetic news sentences, each "
                  "labelled with the entity types it names")
    config = apply_overrides(MultiLabelConfig(), {
        "data.train": str(data), "model.members": 1, "model.hidden_size": 64,
        "model.embedding_dim": 50, "training.max_epochs": 15, "training.patience": 4,
        "training.lr": 5e-3, "name": "multilabel-demo", "output_dir": output_dir})
    _train(config, resume=False, force=True, quiet=False)
    model = load_multilabel(config.run_dir)
    console.print("new sentences (the sample's sentences follow a few templates, so "
                  "these are in its style):")
    sentences = ["Angela Merkel visited Paris on Monday .",
                 "Kwame Mensah told Reuters that prices would fall .",
                 "It rained all day on Friday ."]
    for sentence, chosen, proba in zip(sentences, model.predict(sentences),
                                       model.predict_proba(sentences), strict=True):
        odds = ", ".join(f"{label} {p:.2f}" for label, p in zip(model.labels_, proba,
                                                                strict=True))
        console.print(f"  {sentence!r} → {', '.join(chosen) if chosen else '(none)'}  "
                      f"({odds})", highlight=False, markup=False)
