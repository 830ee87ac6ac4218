"""``seqlab datasets list|info|download``: the known public datasets, fetched once into
the data home and checked on every use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from seqlab.cli.common import console, notice, user_errors

if TYPE_CHECKING:
    from seqlab.datasets import Fetched

datasets_app = typer.Typer(no_args_is_help=True, help="Known public datasets: list them, "
                           "see where they come from, download them once.")


def known_dataset(config_class: type[Any], overrides: dict[str, Any],
                  data_key: str) -> dict[str, Any]:
    """``overrides`` with a known dataset's name at ``data_key`` (``seqlab tag train
    conll2003``) replaced by its files, fetched into the data home on first use."""
    from seqlab.datasets import train_overrides
    from seqlab.engine.task import task_for_config

    return train_overrides(task_for_config(config_class).name, overrides, data_key,
                           notify=notice)


def fetch_for_demo(name: str, offline: bool) -> Fetched | None:
    """A demo's known dataset, fetched (once) into the data home; None, with a one-line
    note of why, where it cannot be (no network, ``--offline``)."""
    from seqlab.datasets.store import FetchError, fetch

    if offline:
        return None
    try:
        return fetch(name, notify=notice)
    except FetchError as err:
        console.print(f"[bold yellow]offline[/]: could not fetch {name} ({err.reason}).",
                      highlight=False)
        return None


Mirror = Annotated[str | None, typer.Option(
    help="fetch from this URL or folder (laid out like the shared data folder) instead; "
         "default: $SEQLAB_DATA_MIRROR")]


@datasets_app.command("list")
@user_errors
def list_datasets() -> None:
    """Every known dataset with its task, size and licence."""
    from seqlab.datasets import DATASETS
    from seqlab.datasets.catalog import size_text
    from seqlab.datasets.store import cached, data_home

    table = Table("name", "task", "size", "here", "licence", title=f"data home: {data_home()}")
    for name in DATASETS:
        dataset = DATASETS.get(name)
        table.add_row(name, dataset.task, size_text(dataset.size),
                      "yes" if cached(name) else "", dataset.licence)
    console.print(table)
    console.print("seqlab datasets info NAME: source and checksums · seqlab datasets "
                  "download NAME · or train on it at once: seqlab train emotion")


@datasets_app.command()
@user_errors
def info(name: Annotated[str, typer.Argument(help="a dataset name (seqlab datasets list)")]
         ) -> None:
    """Where a dataset comes from, its licence, its files and checksums, how to train."""
    from seqlab.datasets import DATASETS
    from seqlab.datasets.catalog import size_text
    from seqlab.datasets.store import data_home, train_command

    dataset = DATASETS.get(name)
    console.print(f"[bold]{dataset.name}[/]: {dataset.summary}", highlight=False)
    console.print(f"task: {dataset.task} · size: {size_text(dataset.size)}\n"
                  f"source: {dataset.source}\nlicence: {dataset.licence}", highlight=False)
    if dataset.note:
        console.print(f"note: {dataset.note}", highlight=False)
    table = Table("file", "from", "sha256")
    for source in dataset.sources:
        table.add_row(source.file, source.url, source.sha256 or "(not pinned)")
    for item in dataset.prepared:
        table.add_row(item.file, f"prepared ({dataset.prepare})",
                      item.sha256 or "(recorded when written)")
    console.print(table)
    console.print(f"kept in: {data_home() / dataset.home_folder}\n"
                  f"train: {train_command(dataset.task)} {dataset.name}", highlight=False)


@datasets_app.command()
@user_errors
def download(
    names: Annotated[list[str], typer.Argument(help="dataset names (seqlab datasets list)")],
    mirror: Mirror = None,
) -> None:
    """Fetch datasets into the data home (skipped where already there and intact)."""
    from seqlab.datasets import fetch
    from seqlab.datasets.store import train_command

    for name in names:
        fetched = fetch(name, mirror, notify=notice)
        console.print(f"[bold green]{name}[/]: {fetched.folder} (every file matches its "
                      f"checksum) · train: {train_command(fetched.dataset.task)} {name}",
                      highlight=False)
