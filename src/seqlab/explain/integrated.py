"""Integrated gradients through Captum, on one or more layers at once.

A model is explained as one differentiable function ``forward(*inputs, *extra) → [B, k]``
whose ``layers`` (embedding layers, or an identity that feature values pass through)
have their outputs moved along a straight line from their value at the baseline inputs
to their value at the real inputs. Captum's :class:`~captum.attr.LayerIntegratedGradients`
integrates the gradient along that line; its completeness error (the sum of the
attributions minus ``f(x) − f(baseline)``) is returned with the attributions.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

# Gauss–Legendre points per explanation: completeness errors measured on emotion in
# benchmarks/explain_faithfulness.py; the server caps what a request may ask for
DEFAULT_STEPS = 50
MAX_STEPS = 500


@dataclass
class Integrated:
    """Each layer's attributions (shaped like its output, one row per input), and per row
    the explained output at the inputs (``values``), at the baselines (``references``)
    and the completeness error (``deltas``)."""

    layers: list[torch.Tensor]
    values: list[float]
    references: list[float]
    deltas: list[float]


def integrated_gradients(forward: Callable[..., torch.Tensor], layers: Sequence[nn.Module],
                         inputs: tuple[torch.Tensor, ...], baselines: tuple[torch.Tensor, ...],
                         targets: Sequence[int], steps: int = DEFAULT_STEPS) -> Integrated:
    """Integrated gradients of ``forward(*inputs)[row, targets[row]]`` on ``layers``."""
    from captum.attr import LayerIntegratedGradients

    with warnings.catch_warnings():  # "multiple layers": ours never feed one another
        warnings.simplefilter("ignore", UserWarning)
        explainer = LayerIntegratedGradients(forward, list(layers))
    attributions, delta = explainer.attribute(
        inputs, baselines=baselines, target=list(targets), n_steps=steps,
        return_convergence_delta=True)
    per_layer = [a[0] if isinstance(a, (tuple, list)) else a for a in attributions]
    rows = torch.arange(len(targets))
    index = torch.as_tensor(list(targets))
    with torch.no_grad():
        values = forward(*inputs)[rows, index].tolist()
        references = forward(*baselines)[rows, index].tolist()
    return Integrated([a.detach() for a in per_layer], values, references,
                      delta.detach().tolist())
