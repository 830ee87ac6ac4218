"""Model bundles and checkpoints: tensors in safetensors, everything else JSON.

A bundle is one ``.safetensors`` file. Its tensors are the weights; its metadata holds a
JSON document under the key ``seqlab`` (format, version, config, preprocessing,
vocabulary, labels, metrics). Loading reads tensors and JSON only, never unpickles, so
opening a model cannot run code. Writing goes to a temporary file in the same folder
that is then renamed over the target, so a crash never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import safe_open

from seqlab.errors import BundleError

if TYPE_CHECKING:  # torch loads with the first bundle written or read, not on import
    import torch

FORMAT_VERSION = 1
_UMASK = os.umask(0)
os.umask(_UMASK)
META_KEY = "seqlab"


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` and rename the result to ``path`` once it is complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file atomically (temporary file, then rename)."""
    atomic_write_bytes(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


@contextmanager
def staged_folder(out: Path, names: tuple[str, ...]) -> Iterator[Path]:
    """A scratch folder inside ``out`` to write ``names`` into; they replace those in
    ``out`` only when the block ends without an error, and the scratch folder is removed
    either way, so a failed write (or a failed check of what was written) leaves ``out``
    as it was."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        yield staging
        for name in names:
            (staging / name).replace(out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def save_tensors(path: str | Path, tensors: dict[str, torch.Tensor], meta: dict[str, Any],
                 kind: str) -> None:
    """Write ``tensors`` and the JSON ``meta`` to ``path`` atomically."""
    from safetensors.torch import save_file

    header = {"format": kind, "format_version": FORMAT_VERSION, **meta}
    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    # safetensors refuses tensors that share memory (tied weights): store copies
    seen: set[int] = set()
    for key, value in tensors.items():
        if value.numel() and value.data_ptr() in seen:
            tensors[key] = value.clone()
        seen.add(value.data_ptr())
    metadata = {META_KEY: json.dumps(header)}
    atomic_write_bytes(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def bundle_kind(path: str | Path) -> str | None:
    """The ``format`` a seqlab file (or run folder) declares, without loading tensors."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.safetensors"
    try:
        with safe_open(str(path), framework="numpy") as handle:
            return json.loads((handle.metadata() or {})[META_KEY]).get("format")
    except Exception:  # missing or damaged: the loader that follows says which
        return None


def _bundle_file(path: str | Path) -> Path:
    """The bundle a path names: the file, or a run folder's ``model.safetensors``."""
    path = Path(path)
    if path.is_dir():
        candidate = path / "model.safetensors"
        if not candidate.exists():
            raise BundleError(f"{path}: no model.safetensors in this folder")
        path = candidate
    if not path.exists():
        raise BundleError(f"{path}: no such model file. Train one with `seqlab train`.")
    return path


def _read(path: str | Path, kind: str | None, tensors: bool
          ) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    path = _bundle_file(path)
    try:
        with safe_open(str(path), framework="pt" if tensors else "numpy") as handle:
            metadata = handle.metadata() or {}
            header = json.loads(metadata[META_KEY])
            if not isinstance(header, dict):
                raise ValueError("the header is not a JSON object")
            _check_header(header, kind or header.get("format"))
            keys = handle.keys() if tensors else []
            found = {key: handle.get_tensor(key) for key in keys}
    except BundleError as err:
        raise BundleError(f"{path}: {err}") from None
    except Exception as err:  # safetensors and json raise several types for damaged files
        raise BundleError(
            f"{path}: not a seqlab model bundle, or the file is damaged "
            f"({type(err).__name__}: {str(err)[:120]}). Retrain, or restore the file."
        ) from None
    return found, header


def load_tensors(path: str | Path, kind: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Read a file written by :func:`save_tensors`; any damage is a BundleError."""
    return _read(path, kind, tensors=True)


def bundle_header(path: str | Path) -> dict[str, Any]:
    """A bundle's JSON header (format, settings, metrics), without loading its tensors."""
    return _read(path, None, tensors=False)[1]


def _check_header(header: dict[str, Any], kind: str) -> None:
    """Refuse a header of another kind, or one without a usable format version."""
    if header.get("format") != kind:
        raise BundleError(f"holds a {header.get('format')!r}, not a {kind!r}")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError(f"the bundle header has no valid format_version (found {version!r}); "
                          "it was not written by seqlab or was edited. Retrain, or restore "
                          "the file.")
    if version > FORMAT_VERSION:
        raise BundleError(f"written by a newer seqlab (format {version}); upgrade seqlab")


def flatten_state(state: Any, prefix: str = "") -> tuple[dict[str, torch.Tensor], Any]:
    """Split a nested state (e.g. an optimizer's ``state_dict``) into tensors and JSON.

    Tensors are replaced by ``{"__tensor__": key}`` references; dict keys become strings
    and are restored as ints where they were ints.
    """
    import torch

    tensors: dict[str, torch.Tensor] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, torch.Tensor):
            tensors[path] = value
            return {"__tensor__": path}
        if isinstance(value, dict):
            return {"__dict__": [[k, walk(v, f"{path}.{k}")] for k, v in value.items()]}
        if isinstance(value, list | tuple):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(value)]
        return value

    return tensors, walk(state, prefix)


def unflatten_state(structure: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten_state`."""
    if isinstance(structure, dict):
        if "__tensor__" in structure:
            return tensors[structure["__tensor__"]]
        if "__dict__" in structure:
            return {k: unflatten_state(v, tensors) for k, v in structure["__dict__"]}
    if isinstance(structure, list):
        return [unflatten_state(v, tensors) for v in structure]
    return structure


def prefixed(state: dict[str, torch.Tensor], prefix: str = "model") -> dict[str, torch.Tensor]:
    """``state`` with keys ``prefix.key``: a module's weights beside other tensors in a file."""
    return {f"{prefix}.{key}": value for key, value in state.items()}


def unprefixed(tensors: dict[str, torch.Tensor], prefix: str = "model"
               ) -> dict[str, torch.Tensor]:
    """The tensors under ``prefix.``, with the prefix taken off (inverse of :func:`prefixed`)."""
    start = len(prefix) + 1
    return {key[start:]: value for key, value in tensors.items()
            if key.startswith(prefix + ".")}
