"""The data home: fetch a known dataset once, check every file's SHA-256 on every use,
and prepare the files its task reads.

Downloads go through `pooch`, which writes to a temporary file and keeps it only when its
checksum matches, so an interrupted or damaged download leaves nothing behind and the
next call starts it again. Where a file cannot be fetched (no network, a bad checksum),
one message gives the URL to fetch by hand and the path to save it as.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seqlab.artifacts import atomic_write_bytes, atomic_write_text
from seqlab.datasets.catalog import DATASETS, Dataset, Source, size_text
from seqlab.datasets.prepare import PREPARERS
from seqlab.errors import ConfigError, DataError

HOME_VARIABLE = "SEQLAB_DATA"  # the data home; else a folder in the user's cache
MIRROR_VARIABLE = "SEQLAB_DATA_MIRROR"  # a URL or folder laid out like the shared data
OFFLINE_VARIABLE = "SEQLAB_OFFLINE"  # set (to anything but 0): never touch the network
TIMEOUT = (10, 60)  # seconds to connect, and between two reads
PACKAGE_PREFIX = "package:"

Notify = Callable[[str], None]


def _silent(message: str) -> None:
    """A notify that says nothing."""


def data_home() -> Path:
    """Where datasets are kept: ``$SEQLAB_DATA``, else ``<user cache>/seqlab/datasets``."""
    if os.environ.get(HOME_VARIABLE):
        return Path(os.environ[HOME_VARIABLE]).expanduser()
    import pooch

    return Path(pooch.os_cache("seqlab")) / "datasets"


def offline() -> bool:
    return os.environ.get(OFFLINE_VARIABLE, "0") not in ("", "0")


def sha256_of(path: Path) -> str:
    """The file's SHA-256 as hex, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Fetched:
    """A dataset in the data home, every file checked."""

    dataset: Dataset
    folder: Path
    files: dict[str, Path]  # file name → path, sources and prepared files

    def train_overrides(self) -> dict[str, Any]:
        """The config overrides that train on it (``data.train`` → its path …)."""
        return {**{key: str(self.files[name]) for key, name in self.dataset.train.items()},
                 **self.dataset.options}


def fetch(name: str, mirror: str | None = None, notify: Notify = _silent) -> Fetched:
    """The dataset ``name``, fetched into the data home where a file is missing or does
    not match its checksum, and prepared for its task. ``mirror`` (else
    ``$SEQLAB_DATA_MIRROR``) is a URL or folder to fetch from instead of the sources."""
    dataset = DATASETS.get(name)
    folder = data_home() / dataset.home_folder
    folder.mkdir(parents=True, exist_ok=True)
    mirror = mirror or os.environ.get(MIRROR_VARIABLE) or None
    files = {source.file: _source(source, folder, mirror, notify) for source in dataset.sources}
    if dataset.prepared:
        files.update(_prepared(dataset, folder, files, notify))
    return Fetched(dataset, folder, files)


def cached(name: str) -> bool:
    """Whether every file of ``name`` is in the data home (not checked: see fetch)."""
    dataset = DATASETS.get(name)
    folder = data_home() / dataset.home_folder
    return all((folder / item.file).exists() for item in (*dataset.sources, *dataset.prepared)
               if not _packaged(item))


def _packaged(item: object) -> bool:
    return isinstance(item, Source) and item.url.startswith(PACKAGE_PREFIX)


class FetchError(DataError):
    """A file of a dataset could not be fetched; ``reason`` says why in a few words."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def _by_hand(source: Source, target: Path, why: str, tried: str | None = None) -> FetchError:
    return FetchError(
        f"could not fetch {tried or source.url} ({why}). Fetch {source.url} by hand and "
        f"save it as {target}, "
        f"or set {MIRROR_VARIABLE} to a folder or URL that holds it as "
        f"{source.mirror_path}; seqlab checks its SHA-256 ({source.sha256 or 'not pinned'}) "
        "before use", why)


def _intact(path: Path, sha256: str | None) -> bool:
    return path.is_file() and (sha256 is None or sha256_of(path) == sha256)


def _source(source: Source, folder: Path, mirror: str | None, notify: Notify) -> Path:
    if _packaged(source):
        return _packaged_file(source)
    target = folder / source.file
    if _intact(target, source.sha256):
        return target
    if target.exists():
        notify(f"{target} does not match its checksum; fetching it again")
    if offline():
        raise _by_hand(source, target, f"{OFFLINE_VARIABLE} is set")
    if mirror and not mirror.startswith(("http://", "https://")):
        _copy_from_folder(Path(mirror.removeprefix("file://")) / source.mirror_path, source,
                          target)
    else:
        url = f"{mirror.rstrip('/')}/{source.mirror_path}" if mirror else source.url
        _download(url, source, target, notify)
    return target


def _copy_from_folder(path: Path, source: Source, target: Path) -> None:
    if not path.is_file():
        raise _by_hand(source, target, f"the mirror has no {path}", str(path))

    def copy_checked(temporary: Path) -> None:  # a bad copy is never renamed into place
        shutil.copyfile(path, temporary)
        if not _intact(temporary, source.sha256):
            raise _by_hand(source, target, "the mirror's copy does not match its checksum",
                           str(path))

    atomic_write_bytes(target, copy_checked)


def _download(url: str, source: Source, target: Path, notify: Notify) -> None:
    import pooch
    import requests

    pooch.get_logger().setLevel("WARNING")
    notify(f"downloading {url} ({size_text(source.size)})")
    try:
        pooch.retrieve(url, known_hash=f"sha256:{source.sha256}" if source.sha256 else None,
                       fname=source.file, path=target.parent,
                       downloader=pooch.HTTPDownloader(timeout=TIMEOUT))
    except requests.exceptions.RequestException as err:
        raise _by_hand(source, target, _failure(err, url), url) from None
    except ValueError:  # pooch: the downloaded file's hash differs; it was not kept
        raise _by_hand(source, target, "the downloaded file does not match its checksum, "
                       "so it was not kept", url) from None


def _failure(err: Exception, url: str) -> str:
    """What went wrong with a download, in a few words."""
    from urllib.parse import urlparse

    import requests

    errors = requests.exceptions
    if isinstance(err, errors.HTTPError) and err.response is not None:
        return f"the server answered HTTP {err.response.status_code}"
    if isinstance(err, errors.Timeout):
        return "no answer in time"
    if isinstance(err, errors.ChunkedEncodingError):
        return "the connection broke off in the middle of the file; nothing was kept"
    if isinstance(err, errors.ConnectionError):
        return f"could not connect to {urlparse(url).netloc}: no network?"
    return type(err).__name__


def _packaged_file(source: Source) -> Path:
    import importlib.util
    from importlib.resources import files

    spec, _, inner = source.url.removeprefix(PACKAGE_PREFIX).partition("/")
    module = spec.split("==")[0]
    if importlib.util.find_spec(module) is None:
        raise DataError(f"{source.file} comes with the {module} package: pip install {spec}")
    path = Path(str(files(module) / inner))
    if not _intact(path, source.sha256):
        raise DataError(f"{path}: the installed {module} is not {spec} (its data file does "
                        f"not match the pinned checksum); pip install {spec}")
    return path


def _prepared(dataset: Dataset, folder: Path, sources: dict[str, Path],
              notify: Notify) -> dict[str, Path]:
    """The entry's prepared files: kept where they match their checksum (pinned, or as
    recorded when they were written), else written again from the sources."""
    manifest = folder / f".{dataset.name}.prepared.json"
    recorded = json.loads(manifest.read_text()) if manifest.is_file() else {}
    paths = {item.file: folder / item.file for item in dataset.prepared}
    if all(_intact(paths[item.file], item.sha256 or recorded.get(item.file, "missing"))
           for item in dataset.prepared):
        return paths
    notify(f"preparing {dataset.name} for seqlab {dataset.task} …")
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        PREPARERS.get(dataset.prepare)(sources, Path(scratch))
        for item in dataset.prepared:
            digest = sha256_of(Path(scratch) / item.file)
            if item.sha256 and digest != item.sha256:
                raise DataError(
                    f"{dataset.name}: the prepared {item.file} does not match its checksum "
                    f"(expected {item.sha256}, got {digest}); the source file differs from "
                    "the one seqlab pins. Fetch the sources again, or report it")
            recorded[item.file] = digest
        for item in dataset.prepared:
            os.replace(Path(scratch) / item.file, paths[item.file])
    atomic_write_text(manifest, json.dumps(recorded, indent=1, sort_keys=True))
    return paths


def train_overrides(task: str, overrides: dict[str, Any], data_key: str,
                    notify: Notify = _silent) -> dict[str, Any]:
    """``overrides`` with a registered dataset name at ``data_key`` (where no file of that
    name exists) replaced by the dataset's files and settings; options the user gave
    still win."""
    value = overrides.get(data_key)
    if not isinstance(value, str) or Path(value).exists() or value not in DATASETS:
        return overrides
    dataset = DATASETS.get(value)
    if dataset.task != task:
        raise ConfigError(f"{value} is a dataset for {train_command(dataset.task)}, not "
                          f"{train_command(task)}: run {train_command(dataset.task)} {value}")
    given = {key: item for key, item in overrides.items()
             if item is not None and key != data_key}
    return {**overrides, **fetch(value, notify=notify).train_overrides(), **given}


def train_command(task: str) -> str:
    """How a task's training is spelled on the command line."""
    return "seqlab train" if task == "classify" else f"seqlab {task} train"
