"""The cells and poolings a config may name, each with the factory that builds it.

Torch is imported when a module is built, not when a name is checked, so reading and
validating a config never loads it. A new cell is added with ``@CELLS.register("name")``
on a factory ``(input_size, hidden_size) -> nn.Module`` that behaves like
``nn.LSTM(batch_first=True)``; a new pooling with ``@POOLINGS.register("name")`` on a
factory ``(state_size) -> nn.Module`` whose ``forward`` takes an
:class:`~seqlab.nn.encoder.EncoderOutput`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from seqlab.registry import Registry

CellFactory = Callable[[int, int], Any]
PoolingFactory = Callable[[int], Any]
CELLS: Registry[CellFactory] = Registry("cell")
POOLINGS: Registry[PoolingFactory] = Registry("pooling")


@CELLS.register("rnn")
def _rnn(input_size: int, hidden_size: int) -> Any:
    from torch import nn

    return nn.RNN(input_size, hidden_size, batch_first=True, nonlinearity="tanh")


@CELLS.register("lstm")
def _lstm(input_size: int, hidden_size: int) -> Any:
    from torch import nn

    return nn.LSTM(input_size, hidden_size, batch_first=True)


@CELLS.register("gru")
def _gru(input_size: int, hidden_size: int) -> Any:
    from torch import nn

    return nn.GRU(input_size, hidden_size, batch_first=True)


def _pooling(class_name: str) -> PoolingFactory:
    def make(size: int) -> Any:
        from seqlab.nn import pooling

        return getattr(pooling, class_name)(size)

    return make


for _name, _class in (("last", "LastPooling"), ("mean", "MeanPooling"), ("max", "MaxPooling"),
                      ("attention", "AttentionPooling")):
    POOLINGS.register(_name)(_pooling(_class))
