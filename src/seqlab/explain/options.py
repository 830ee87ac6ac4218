"""What every task's explainer checks the same way: the method asked for, the steps of
integrated gradients, occlusion's window, and how many tokens a text is explained on."""

from __future__ import annotations

from collections.abc import Sequence

from seqlab.errors import ConfigError
from seqlab.explain.integrated import MAX_STEPS

# every method some model is explained by (``auto``: the model's first)
KNOWN_METHODS = ("ig", "weights", "occlusion")
# what a model without a token limit of its own is explained on (occlusion runs the model
# once per token)
TOKEN_LIMIT = 1000


def choose_method(method: str, allowed: Sequence[str]) -> str:
    """``method``, or ``auto``'s choice (the first of ``allowed``); a method that is
    unknown, or does not apply to the model, is an error listing those that do."""
    if method == "auto":
        return allowed[0]
    if method not in KNOWN_METHODS:
        raise ConfigError(f"unknown explanation method {method!r}; choose one of: auto, "
                          f"{', '.join(KNOWN_METHODS)}")
    if method not in allowed:
        raise ConfigError(f"method {method!r} does not apply to this model; it is explained "
                          f"by: {', '.join(allowed)}")
    return method


def check_steps_and_window(steps: int, window: int) -> None:
    """Integrated gradients takes 1 to ``MAX_STEPS`` steps; occlusion deletes at least one
    token at a time."""
    if not 1 <= steps <= MAX_STEPS:
        raise ConfigError(f"steps is {steps}; integrated gradients takes 1 to {MAX_STEPS}")
    if window < 1:
        raise ConfigError(f"window is {window}; occlusion deletes at least 1 token")
