"""A model's name and version, as the server and exports report them."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any


def model_identity(path: str | Path) -> dict[str, Any]:
    """``name``: the run folder's (or file's) name; ``version``: the bundle's content hash.

    The version changes exactly when the model file changes, so a client can tell which
    model answered.
    """
    path = Path(path)
    file = path / "model.safetensors" if path.is_dir() else path
    name = file.parent.name if file.name == "model.safetensors" else file.stem
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12] if file.exists() else "unknown"
    return {"name": name, "version": digest}
