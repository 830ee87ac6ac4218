"""What every command shares: the consoles, the one-line error handling, and the options
and config resolution of every task's `train`."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from seqlab.errors import SeqlabError

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")

console = Console()
errors = Console(stderr=True)


_OS_FIXES: dict[type[OSError], str] = {
    NotADirectoryError: ": a part of that path is a file, not a folder; choose another "
                        "--output-dir or --name",
    IsADirectoryError: ": that is a folder; give a file",
    PermissionError: ": no permission; choose a path you can write to",
    FileNotFoundError: ": check the path",
}


def user_errors(fn: F) -> F:
    """Turn seqlab's own errors and file errors into one line and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SeqlabError as err:
            errors.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except OSError as err:
            where = f" ({err.filename})" if err.filename else ""
            fix = _OS_FIXES.get(type(err), "")
            errors.print(f"[bold red]error:[/] {err.strerror or err}{where}{fix}",
                         highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def key_values(items: list[str] | None, option: str) -> dict[str, Any]:
    """`KEY=VALUE` strings (values read as YAML: numbers, booleans, lists) as a dict."""
    import yaml

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SeqlabError(f"{option} {item!r}: write KEY=VALUE, e.g. model.cell=gru")
        out[key.strip()] = yaml.safe_load(value)
    return out


def split_names(value: str | None) -> list[str] | None:
    """``"a, b,c"`` → ``["a", "b", "c"]`` (empty names dropped); None stays None."""
    return [name.strip() for name in value.split(",") if name.strip()] if value else None


# The options every task's `train` takes, spelled once.
ConfigFile = Annotated[Path | None, typer.Option("--config", help="YAML config; flags override it")]
Settings = Annotated[list[str] | None, typer.Option(
    "--set", help="KEY=VALUE for any config key, e.g. training.lr=0.003 (repeatable)")]
RunName = Annotated[str | None, typer.Option("--name", help="run name (folder in --output-dir)")]
OutputDir = Annotated[str | None, typer.Option("--output-dir", help="where run folders go")]
Seed = Annotated[int | None, typer.Option("--seed")]
Epochs = Annotated[int | None, typer.Option("--epochs", help="maximum epochs")]
MaxMinutes = Annotated[float | None, typer.Option("--max-minutes", help="training time budget")]
Precision = Annotated[str | None, typer.Option(
    "--precision", help="auto|float32|bfloat16; auto: bfloat16 where the CPU has AMX or "
    "AVX-512 BF16")]
Resume = Annotated[bool, typer.Option("--resume", help="continue the run's last checkpoint")]
ExportFormat = Annotated[str, typer.Option("--format", help="export format: onnx")]
ExportOut = Annotated[str | None, typer.Option(
    help="output folder (default: MODEL's folder/onnx)")]
Force = Annotated[bool, typer.Option("--force", help="replace an existing run folder")]
Quiet = Annotated[bool, typer.Option("--quiet", help="no progress output")]
NProc = Annotated[int | None, typer.Option(
    "--nproc", min=1, help="train as N processes on this machine (torch.distributed, gloo); "
    "for several machines launch torchrun yourself (README)")]
# what every `explain` command takes beside its method
ExplainSteps = Annotated[int, typer.Option(help="integrated gradients' steps")]
ExplainWindow = Annotated[int, typer.Option(help="tokens occlusion takes out at a time")]
ExplainTop = Annotated[int, typer.Option(help="tokens listed each way")]
Cell = Annotated[str | None, typer.Option("--cell", help="rnn|lstm|gru")]
Layers = Annotated[int | None, typer.Option("--layers", help="stacked recurrent layers")]
HiddenSize = Annotated[int | None, typer.Option("--hidden-size")]
EmbeddingDim = Annotated[int | None, typer.Option("--embedding-dim")]
Embedding = Annotated[str | None, typer.Option(
    "--embedding", help="where embeddings start: learned|word2vec|fasttext|pretrained")]
Vectors = Annotated[str | None, typer.Option(
    "--vectors", help="pretrained vector file (word2vec, GloVe, fastText); implies "
    "--embedding pretrained")]
FreezeEmbeddings = Annotated[bool | None, typer.Option(
    "--freeze-embeddings/--fine-tune-embeddings",
    help="keep start vectors fixed, or train them with the model")]


def embedding_overrides(embedding: str | None, vectors: str | None,
                        freeze: bool | None) -> dict[str, Any]:
    """The ``model.embedding`` keys that ``--embedding``, ``--vectors`` and
    ``--freeze-embeddings`` set (``None``: left as the config has it)."""
    return {"model.embedding.type": "pretrained" if vectors else embedding,
            "model.embedding.path": vectors,
            "model.embedding.update": None if freeze is None else
            ("frozen" if freeze else "fine-tune")}
Encoding = Annotated[str | None, typer.Option("--encoding", help="file encoding, e.g. latin-1")]


SHARED_TRAIN_OPTIONS = {
    "config": (ConfigFile, None), "settings": (Settings, None), "epochs": (Epochs, None),
    "max_minutes": (MaxMinutes, None), "precision": (Precision, None), "name": (RunName, None),
    "output_dir": (OutputDir, None), "seed": (Seed, None), "resume": (Resume, False),
    "force": (Force, False), "quiet": (Quiet, False), "nproc": (NProc, None),
}


def launch_processes(nproc: int | None, name: str) -> None:
    """With ``--nproc N`` (N > 1): run this very command as N processes of one
    distributed run, all with the run name ``name``, and exit with their status."""
    import sys

    from seqlab.training.distributed import launch, without_option, world

    if not nproc or nproc == 1:
        return
    if world().distributed:
        raise SeqlabError("--nproc starts the processes itself; under torchrun leave it out")
    argv = without_option(without_option(sys.argv[1:], "--nproc"), "--name")
    raise typer.Exit(launch(nproc, [*argv, "--name", name]))


def train_command(app: typer.Typer, config_class: type[Any],
                  run: Callable[[Any, bool, bool, bool], None],
                  required: tuple[str, str]) -> Callable[[F], F]:
    """Register a function as ``app``'s `train` command. The function takes the task's own
    options and returns them as dotted config keys; the command adds the options every
    task's `train` has (``--config``, ``--set``, ``--epochs``, ``--max-minutes``,
    ``--precision``, ``--name``, ``--output-dir``, ``--seed``, ``--resume``, ``--force``,
    ``--quiet``, ``--nproc``),
    resolves the config (YAML, then flags, then ``--set``), checks that the ``required``
    key (dotted key, message) is set, and calls ``run(config, resume, force, quiet)``.
    Under torchrun (or ``--nproc``) the processes after rank 0 train beside it silently."""
    import inspect

    from seqlab.cli.datasets import known_dataset
    from seqlab.config import apply_overrides, flatten_dotted, read_yaml_mapping, validate_model
    from seqlab.engine.task import task_for_config
    from seqlab.training.distributed import world

    def register(flags: F) -> F:
        def train(**options: Any) -> None:
            shared = {key: options.pop(key) for key in SHARED_TRAIN_OPTIONS}
            path = shared["config"]
            config = validate_model(config_class, read_yaml_mapping(path), str(path)) \
                if path else config_class()
            key, message = required
            config = apply_overrides(config, {
                **known_dataset(config_class, flags(**options), key),
                "name": shared["name"], "output_dir": shared["output_dir"],
                "seed": shared["seed"], "training.max_epochs": shared["epochs"],
                "training.max_minutes": shared["max_minutes"],
                "training.precision": shared["precision"],
                **key_values(shared["settings"], "--set")})
            if not flatten_dotted(config.model_dump(mode="json")).get(key):
                raise SeqlabError(message)
            launch_processes(shared["nproc"], config.name)
            if not world().is_main:  # rank 0 reports; the others only train beside it
                task_for_config(config_class).train(config, resume=shared["resume"],
                                                    overwrite=shared["force"])
                return
            run(config, shared["resume"], shared["force"], shared["quiet"])

        own = inspect.signature(flags, eval_str=True)
        extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                   annotation=annotation)
                 for name, (annotation, default) in SHARED_TRAIN_OPTIONS.items()]
        train.__signature__ = own.replace(  # type: ignore[attr-defined]
            parameters=[p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
                        for p in own.parameters.values()] + extra, return_annotation=None)
        train.__doc__, train.__name__ = flags.__doc__, "train"
        app.command("train")(user_errors(train))
        return flags

    return register


def notice(message: str) -> None:
    """A progress note (a download, a prepare step) on stderr, unwrapped."""
    errors.print(message, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def rows_progress(title: str) -> Iterator[Callable[[int], None]]:
    """A progress line for a job counted in rows (rows done, rows per second); yields
    the function to call with the rows done so far."""
    import time

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    began = time.perf_counter()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"),
                  TextColumn("{task.completed:,.0f} rows · {task.fields[rate]}"),
                  TimeElapsedColumn(), console=errors, transient=False) as bar:
        task = bar.add_task(title, total=None, rate="")

        def update(rows: int) -> None:
            rate = rows / max(time.perf_counter() - began, 1e-9)
            bar.update(task, completed=rows, rate=f"{rate:,.0f} rows/s")

        yield update


def require_module(module: str, extra: str) -> None:
    """Fail with the install command when an optional package is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise SeqlabError(f"this command needs {module}: pip install 'seqlab[{extra}]'")


def onnx_export_folder(model: str, fmt: str, out: str | None) -> Path:
    """Where ``seqlab … export`` writes (``out``, else the model's folder/onnx), once the
    format is ONNX and its packages are installed."""
    if fmt != "onnx":
        raise SeqlabError(f"unknown export format {fmt!r}; choose one of: onnx")
    for module in ("onnx", "onnxruntime"):
        require_module(module, "onnx")
    source = Path(model)
    return Path(out) if out else (source if source.is_dir() else source.parent) / "onnx"
