"""The recurrent forecaster: a window of past values → the next ``horizon`` values."""

from __future__ import annotations

import torch
from torch import nn

from seqlab.nn.encoder import RecurrentEncoder


class SequenceForecaster(nn.Module):
    """``[B, lookback, F]`` scaled values (target in column 0) → ``[B, horizon]``, or with
    ``outputs`` > 1 → ``[B, outputs, horizon]`` (quantiles: the median first).

    The target channel is read relative to the window's last value (unless ``level`` is
    ``"none"``), so the network learns changes, which carry over to levels it never saw
    in training (trends). The output is added to a base forecast: that last value
    (``"last"``), or the value one season earlier (``"seasonal"``: the network learns a
    correction to the seasonal naive forecast), or zero (``"none"``).
    """

    def __init__(self, num_features: int, horizon: int, cell: str = "lstm",
                 hidden_size: int = 64, num_layers: int = 1, dropout: float = 0.0,
                 level: str = "last", season: int = 1, outputs: int = 1) -> None:
        super().__init__()
        self.outputs, self.horizon = outputs, horizon
        self.relative = level != "none"
        self.seasonal = level == "seasonal" and season > 1
        # for step h the seasonal base reads position lookback - season + (h mod season)
        self.register_buffer("season_offsets",
                             torch.tensor([h % season - season for h in range(horizon)]),
                             persistent=False)
        self.encoder = RecurrentEncoder(num_features, hidden_size, cell, num_layers,
                                        bidirectional=False, dropout=dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.output_size, horizon * outputs)
        # training starts from the base forecast itself, not from a random correction
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        level = x[:, -1:, 0] if self.relative else torch.zeros_like(x[:, -1:, 0])
        target = x[..., :1] - level.unsqueeze(-1)
        x = torch.cat([target, x[..., 1:]], dim=-1)
        lengths = torch.full((x.size(0),), x.size(1), dtype=torch.long, device=x.device)
        out = self.encoder(x, lengths)
        base = level
        if self.seasonal:
            if x.size(1) < -int(self.season_offsets.min()):
                raise ValueError("the seasonal level needs a lookback of at least one season")
            base = target[:, x.size(1) + self.season_offsets, 0] + level
        correction = self.head(self.dropout(out.last))
        if self.outputs == 1:
            return correction + base
        return correction.view(-1, self.outputs, self.horizon) + base.unsqueeze(1)
