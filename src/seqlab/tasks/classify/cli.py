"""``seqlab classify train|evaluate|predict|explain|info|demo|export`` (and, as classification's
short form, ``seqlab train`` …): text classifiers from the shell."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from seqlab.cli import common as opt
from seqlab.cli.common import (
    console,
    rows_progress,
    split_names,
    user_errors,
)
from seqlab.cli.datasets import fetch_for_demo, known_dataset
from seqlab.cli.verbs import add_shared_verbs
from seqlab.config import apply_overrides, read_yaml_mapping
from seqlab.errors import SeqlabError
from seqlab.tasks.classify.config import RunConfig, load_config, parse_config

classify_app = typer.Typer(no_args_is_help=True, help="Text classification: a label per "
                           "text; the recurrent model and TF-IDF, blended on validation.")


def _train(config: RunConfig, resume: bool, force: bool, quiet: bool) -> None:
    from seqlab.cli.progress import RichProgress, train_with_progress
    from seqlab.tasks.classify.workflow import train_run
    from seqlab.training.distributed import world

    if not world().is_main:  # another process of a distributed run: it trains, rank 0 speaks
        train_run(config, resume=resume, overwrite=force)
        return
    outcome = train_with_progress(
        RichProgress(console, config.training.monitor), "seqlab train", train_run, config,
        resume, force, quiet)
    m = outcome.test_metrics
    # without --quiet the baseline line was printed with the run's other notes
    against = "".join(f"\n{line}" for line in outcome.baseline.lines()) \
        if outcome.baseline and quiet else ""
    console.print(
        f"[bold green]done[/]: test accuracy {m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f}, "
        f"weighted-F1 {m['weighted_f1']:.4f}{against}\nmodel: {outcome.model_path}\n"
        f"report: {outcome.run_dir / 'report.html'}", highlight=False,
    )


def default_run_name(config: RunConfig, latest: bool = False, stem: str | None = None) -> str:
    """The run name when none is given: ``<stem>-<kind>`` (the stem of the data file
    unless given), then ``-2``, ``-3`` …, the first not yet taken in the output folder (so
    a second run never collides with the first); with ``latest``, the last one taken (the
    run ``--resume`` continues)."""
    stem = stem or Path(config.data.train or "run").name.split(".")[0] or "run"
    base = f"{stem}-{config.model.kind}"
    folder = Path(config.output_dir)
    previous = base
    for n in range(1, 10_000):
        name = base if n == 1 else f"{base}-{n}"
        if not (folder / name).exists():
            return previous if latest else name
        previous = name
    raise SeqlabError(f"{folder}: no free run name like {base}-N; pass --name")


@classify_app.command()
@user_errors
def train(
    data: Annotated[str | None, typer.Argument(
        help="labeled training file, or a known dataset (seqlab datasets list)")] = None,
    val: Annotated[str | None, typer.Option(help="validation file (else split from DATA)")] = None,
    test: Annotated[str | None, typer.Option(help="test file (else split from DATA)")] = None,
    config: opt.ConfigFile = None, name: opt.RunName = None, output_dir: opt.OutputDir = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv|tsv|jsonl|parquet|lines")] = None,
    text_column: Annotated[str | None, typer.Option(help="column holding the text")] = None,
    label_column: Annotated[str | None, typer.Option(help="column holding the label")] = None,
    label_names: Annotated[str | None, typer.Option(
        help="names for integer labels 0..k-1, comma-separated")] = None,
    encoding: opt.Encoding = None,
    separator: Annotated[str | None, typer.Option(help="separator of `lines` files")] = None,
    preprocessing: Annotated[str | None, typer.Option(
        help="preset: default|minimal|none|aggressive (steps: in the config)")] = None,
    kind: Annotated[str | None, typer.Option(
        help="ensemble (default)|recurrent|averaged|averaged-mlp|tfidf|bow|minilm|"
             "minilm-finetune")] = None,
    cell: opt.Cell = None,
    embedding: opt.Embedding = None, vectors: opt.Vectors = None,
    freeze_embeddings: opt.FreezeEmbeddings = None,
    embedding_dim: opt.EmbeddingDim = None, hidden_size: opt.HiddenSize = None,
    layers: opt.Layers = None,
    bidirectional: Annotated[bool | None, typer.Option(
        "--bidirectional/--unidirectional")] = None,
    dropout: Annotated[float | None, typer.Option()] = None,
    pooling: Annotated[str | None, typer.Option(help="last|mean|max|attention")] = None,
    max_length: Annotated[int | None, typer.Option(help="tokens kept per text")] = None,
    min_freq: Annotated[int | None, typer.Option(help="minimum token count for the vocab")] = None,
    epochs: opt.Epochs = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    lr: Annotated[float | None, typer.Option(help="learning rate")] = None,
    patience: Annotated[int | None, typer.Option(help="early-stopping patience")] = None,
    monitor: Annotated[str | None, typer.Option(
        help="validation metric: macro_f1|accuracy|weighted_f1|loss")] = None,
    class_weights: Annotated[str | None, typer.Option(help="none|balanced")] = None,
    max_minutes: opt.MaxMinutes = None,
    precision: opt.Precision = None,
    threads: Annotated[int | None, typer.Option(help="torch threads")] = None,
    seed: opt.Seed = None,
    tensorboard: Annotated[bool | None, typer.Option(
        "--tensorboard", help="write TensorBoard events to the run folder")] = None,
    mlflow: Annotated[bool | None, typer.Option("--mlflow", help="log to MLflow")] = None,
    baseline: Annotated[bool | None, typer.Option(
        "--baseline/--no-baseline",
        help="also fit TF-IDF + logistic regression and report the model beside it")] = None,
    nproc: opt.NProc = None,
    settings: opt.Settings = None,
    resume: opt.Resume = False, force: opt.Force = False, quiet: opt.Quiet = False,
) -> None:
    """Train a classifier on DATA; write a run folder with model, metrics and report."""
    given = read_yaml_mapping(config) if config else {}
    named = name is not None or "name" in given
    base = parse_config(given, str(config)) if config else RunConfig()
    flags = known_dataset(RunConfig, {
        "name": name, "output_dir": output_dir, "seed": seed,
        "data.train": data, "data.val": val, "data.test": test, "data.format": fmt,
        "data.text_column": text_column, "data.label_column": label_column,
        "data.label_names": split_names(label_names), "data.encoding": encoding,
        "data.separator": separator, "preprocessing": preprocessing,
        "model.kind": kind, "model.cell": cell, "model.embedding_dim": embedding_dim,
        **opt.embedding_overrides(embedding, vectors, freeze_embeddings),
        "model.hidden_size": hidden_size, "model.num_layers": layers,
        "model.bidirectional": bidirectional, "model.dropout": dropout,
        "model.pooling": pooling, "vocab.max_length": max_length, "vocab.min_freq": min_freq,
        "training.max_epochs": epochs, "training.batch_size": batch_size, "training.lr": lr,
        "training.patience": patience, "training.monitor": monitor,
        "training.class_weights": class_weights, "training.max_minutes": max_minutes,
        "training.precision": precision, "training.threads": threads,
        "tracking.tensorboard": tensorboard, "tracking.mlflow": mlflow, "baseline": baseline,
        **opt.key_values(settings, "--set"),
    }, "data.train")
    resolved = apply_overrides(base, flags)
    if not named:  # a known dataset names the run after itself, a file after its stem
        stem = data if data and flags["data.train"] != data else None
        resolved = apply_overrides(resolved, {"name": default_run_name(resolved, resume, stem)})
    opt.launch_processes(nproc, resolved.name)
    _train(resolved, resume, force, quiet)


@classify_app.command()
@user_errors
def evaluate(
    model: Annotated[str, typer.Argument(help="model bundle (.safetensors) or run folder")],
    data: Annotated[str, typer.Argument(help="labeled file to evaluate on")],
    out: Annotated[str | None, typer.Option(help="output folder")] = None,
    fmt: Annotated[str | None, typer.Option("--format")] = None,
    text_column: Annotated[str | None, typer.Option()] = None,
    label_column: Annotated[str | None, typer.Option()] = None,
    label_names: Annotated[str | None, typer.Option()] = None,
    encoding: Annotated[str, typer.Option()] = "utf-8",
    separator: Annotated[str, typer.Option()] = ";",
) -> None:
    """Score a saved model on a labeled file: metrics, confusion matrix, report."""
    from seqlab.tasks.classify.workflow import evaluate_file

    out_dir = Path(out) if out else Path("runs") / f"evaluate-{Path(data).stem}"
    metrics = evaluate_file(model, data, out_dir, fmt, text_column, label_column,
                            split_names(label_names), encoding, separator)
    table = Table("class", "precision", "recall", "F1", "support", title=f"{data}")
    for label, m in metrics["per_class"].items():
        table.add_row(label, f"{m['precision']:.4f}", f"{m['recall']:.4f}", f"{m['f1']:.4f}",
                      str(m["support"]))
    console.print(table)
    console.print(f"accuracy {metrics['accuracy']:.4f}  macro-F1 {metrics['macro_f1']:.4f}  "
                  f"weighted-F1 {metrics['weighted_f1']:.4f}\nreport: {out_dir / 'report.html'}")


@classify_app.command()
@user_errors
def predict(
    model: Annotated[str, typer.Argument(help="model bundle (.safetensors) or run folder")],
    texts: Annotated[list[str] | None, typer.Argument(help="texts to classify")] = None,
    file: Annotated[str | None, typer.Option(
        help="a file of texts of any size (CSV, TSV, JSONL, Parquet, .gz), read in chunks")
    ] = None,
    out: Annotated[str | None, typer.Option(
        help="where --file's predictions go (.csv, .tsv, .jsonl, .parquet, .gz)")] = None,
    text_column: Annotated[str | None, typer.Option()] = None,
    fmt: Annotated[str | None, typer.Option("--format")] = None,
    encoding: Annotated[str, typer.Option()] = "utf-8",
    chunk_rows: Annotated[int, typer.Option(help="rows read and predicted at a time")]
    = 10_000,
    jobs: Annotated[int, typer.Option(help="worker processes for --file")] = 1,
    resume: Annotated[bool, typer.Option(
        "--resume", help="continue an interrupted --file run where it stopped")] = False,
    force: Annotated[bool, typer.Option("--force", help="replace an existing --out")] = False,
) -> None:
    """Print the label and probabilities of each text, or label a whole file."""
    from seqlab.tasks.classify.estimators import load_classifier
    from seqlab.tasks.classify.workflow import predict_file

    if file:
        if not out:
            raise SeqlabError("--file needs --out, the file to write the predictions to")
        with rows_progress(f"predicting {file}") as progress:
            n = predict_file(model, file, out, fmt, text_column, encoding, chunk_rows, jobs,
                             resume, force, progress)
        console.print(f"{n:,} predictions written to {out}")
        return
    if not texts:
        raise SeqlabError("give one or more texts, or --file with --out")
    clf = load_classifier(model)
    proba = clf.predict_proba(texts)
    table = Table("text", "label", *clf.labels_)
    for text, row in zip(texts, proba, strict=True):
        table.add_row(text[:60], f"[bold]{clf.labels_[row.argmax()]}[/]",
                      *(f"{p:.3f}" for p in row))
    console.print(table)


@classify_app.command()
@user_errors
def explain(
    model: Annotated[str, typer.Argument(help="model bundle (.safetensors) or run folder")],
    texts: Annotated[list[str], typer.Argument(help="texts to explain")],
    label: Annotated[str | None, typer.Option(
        help="the label to explain (default: the predicted one)")] = None,
    method: Annotated[str, typer.Option(
        help="auto|ig|weights|occlusion (auto: ig for recurrent models and the ensemble, "
             "weights for TF-IDF/BoW, occlusion for MiniLM)")] = "auto",
    steps: opt.ExplainSteps = 50,
    window: opt.ExplainWindow = 1,
    top: opt.ExplainTop = 5,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON, one object per text")]
    = False,
) -> None:
    """Show which words drove the prediction: the text coloured by each word's part
    (green towards the label, red away), the sum check, and the top words."""
    import json

    from rich.markup import escape

    from seqlab.explain.explanation import show
    from seqlab.tasks.classify.estimators import load_classifier
    from seqlab.tasks.classify.explain import explain_many

    clf = load_classifier(model)
    explanations = explain_many(clf, texts, [label] * len(texts), method, steps, window)
    for e in explanations:
        if as_json:
            print(json.dumps(e.to_dict(), ensure_ascii=False))
            continue
        p = e.extra["probabilities"][e.target]
        show(console, e, f"[bold]{escape(e.target)}[/] (p = {p:.3f})", top)


# The demo's example sentences with the label a reader would give them, scored in front
# of the user: the real emotion data's style (lower case, "i feel …"), and the sample's.
EMOTION_EXAMPLES = (
    ("i feel so happy and grateful for my friends today", "joy"),
    ("i am furious that they lied to me again", "anger"),
    ("i feel terrified about what the doctor will say tomorrow", "fear"),
    ("i feel so lonely and miserable since she left", "sadness"),
    ("i was amazed when he remembered my birthday", "surprise"),
    ("i feel so much love and tenderness for my little girl", "love"),
)
SAMPLE_EXAMPLES = (
    ("i feel so happy and grateful today", "joy"),
    ("this makes me furious", "anger"),
    ("i am terrified of what comes next", "fear"),
)


@classify_app.command()
@user_errors
def demo(
    output_dir: Annotated[str, typer.Option(help="where the run folder goes")] = "runs",
    quiet: Annotated[bool, typer.Option(help="no progress output")] = False,
    offline: Annotated[bool, typer.Option(
        "--offline", help="train on the shipped sample; do not try the network")] = False,
) -> None:
    """Train the default on the emotion tweets (fetched once, 2 MB; a minute or so), or
    offline on the small sample shipped with seqlab; show the baseline beside the model,
    the report, and example sentences scored."""
    from seqlab.tasks.classify.estimators import load_classifier

    real = fetch_for_demo("emotion", offline)
    if real:
        console.print(
            f"demo: the emotion tweets (16,000 train, 2,000 validation, 2,000 test) in "
            f"{real.folder}. To keep to a minute or so it trains one recurrent member (its "
            "epochs capped at a minute) with the TF-IDF baseline; [bold]seqlab train "
            "emotion[/] trains the full default (three members, about three minutes).",
            highlight=False)
        config = apply_overrides(RunConfig(), {
            **real.train_overrides(), "model.members": 1, "training.max_minutes": 1.0,
            "seed": 13, "name": "demo"})
        examples = EMOTION_EXAMPLES
    else:
        console.print(
            "demo: training on the 300-sentence sample shipped with seqlab. With so little "
            "data the model is weak (about half its test sentences right): it shows the "
            "workflow, not a useful model. With network access, [bold]seqlab demo[/] "
            "trains on the real emotion data.", highlight=False)
        config = load_config(files("seqlab") / "samples" / "demo.yaml")
        config = apply_overrides(config, {
            "data.train": str(files("seqlab") / "samples" / "emotion_sample.txt")})
        examples = SAMPLE_EXAMPLES
    config = apply_overrides(config, {"output_dir": output_dir})
    _train(config, resume=False, force=True, quiet=quiet)
    clf = load_classifier(config.run_dir / "model.safetensors")
    texts = [text for text, _ in examples]
    table = Table("example", "expected", "predicted", "probability", "", title="examples")
    right = 0
    for (text, expected), row in zip(examples, clf.predict_proba(texts), strict=True):
        predicted = clf.labels_[row.argmax()]
        right += predicted == expected
        table.add_row(text, expected, predicted, f"{row.max():.2f}",
                      "[green]right[/]" if predicted == expected else "[red]wrong[/]")
    console.print(table)
    console.print(f"{right} of {len(examples)} examples right", highlight=False)


@classify_app.command()
@user_errors
def info(model: Annotated[str, typer.Argument(help="model bundle or run folder")]) -> None:
    """Show what a model bundle holds: labels, settings, preprocessing, metrics."""
    from seqlab.tasks.classify.estimators import load_classifier

    clf = load_classifier(model)
    console.print(f"model: {clf.describe()}")
    console.print(f"labels: {', '.join(clf.labels_)}")
    console.print(f"vocabulary: {clf.fit_info_.get('vocab_size', '?')} entries; "
                  f"parameters: {clf.n_parameters_:,}")
    console.print(f"preprocessing: {clf.pipeline_.describe()}")
    console.print(f"settings: {clf.get_params()}")
    if clf.metrics_:
        console.print(f"metrics: {clf.metrics_}")


@classify_app.command()
@user_errors
def export(
    model: Annotated[str, typer.Argument(help="model bundle or run folder")],
    fmt: opt.ExportFormat = "onnx",
    out: opt.ExportOut = None,
) -> None:
    """Export a model to ONNX (dynamic batch and length) with its preprocessing as JSON."""
    out_dir = opt.onnx_export_folder(model, fmt, out)
    from seqlab.tasks.classify.onnx_export import export_onnx

    result = export_onnx(model, out_dir)
    console.print(f"exported to {result.folder}/ (model.onnx, preprocessing.json); onnxruntime "
                  f"matches PyTorch within {result.max_abs_difference:.1e} on "
                  f"{result.texts_checked} texts")




add_shared_verbs(classify_app, "classify")
