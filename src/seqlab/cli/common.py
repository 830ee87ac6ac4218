"""What every command shares: the consoles and the one-line error handling."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from seqlab.errors import SeqlabError

F = TypeVar("F", bound=Callable[..., Any])

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
