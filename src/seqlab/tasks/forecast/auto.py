"""Frequency- and length-aware defaults: the window settings left unset (``auto``) are
chosen from the series, and the run states each choice and why.

- ``window.horizon``: by frequency, 12 months, 24 hours, 7 days, 5 business days, and as
  in the M4 competition 6 years, 8 quarters, 13 weeks; one season for other frequencies
  with one, else 6; at most an eighth of the series.
- ``window.lookback``: two seasons where the series has one, else three horizons; at most
  a quarter of the series, and never shorter than the horizon where it fits.
- ``window.folds``: the most rolling test origins (one horizon apart, at most
  ``MAX_FOLDS``) whose held-out part is at most a quarter of the series and that leave
  the training part at least ``MIN_TRAIN_WINDOWS`` windows.
- ``window.stride``: 1, or the step that keeps the training windows near
  ``MAX_TRAIN_WINDOWS`` on long series (hourly data over years).
- ``model.members``: 5 seeds below 1,000 training windows, 3 below 10,000, else 1.

A series too short for even one fold gets one, and the split check then names what is
missing (``windows.SplitPlan.check``).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from seqlab.config import apply_overrides
from seqlab.tasks.forecast.windows import SplitPlan

HORIZONS = {"Y": 6, "A": 6, "Q": 8, "M": 12, "W": 13, "D": 7, "B": 5, "h": 24, "H": 24}
DEFAULT_HORIZON = 6
MAX_FOLDS = 8
MIN_TRAIN_WINDOWS = 10
MAX_TRAIN_WINDOWS = 10_000
MEMBERS = ((1_000, 5), (10_000, 3))

Choice = dict[str, Any]


def natural_horizon(freq: str | None, season: int) -> tuple[int, str]:
    """The horizon a frequency suggests before the series' length is considered."""
    if freq:
        code = pd.tseries.frequencies.to_offset(freq).rule_code.split("-")[0]
        if code.startswith("B") and len(code) > 1:  # business months, quarters: as months
            code = code[1:]
        steps = HORIZONS.get(code) or HORIZONS.get(code[:1])
        if steps:
            return steps, f"frequency {freq}"
    if season > 1:
        return season, f"one season ({season} steps)"
    return DEFAULT_HORIZON, "no frequency or season"


def _train_windows(n: int, lookback: int, horizon: int, folds: int, step: int,
                   stride: int = 1) -> int:
    return len(SplitPlan(n, lookback, horizon, folds, step, stride).train_origins)


def choose_window(n: int, freq: str | None, season: int,
                  given: dict[str, int | None]) -> dict[str, Choice]:
    """Values for the window keys ``given`` as ``None`` (auto), with the reasons."""
    out: dict[str, Choice] = {}
    horizon = given.get("horizon")
    if horizon is None:
        natural, why = natural_horizon(freq, season)
        horizon = max(1, min(natural, n // 8))
        out["horizon"] = {"value": horizon, "why": why + (
            "" if horizon == natural else f", cut to an eighth of the {n} points")}
    lookback = given.get("lookback")
    if lookback is None:
        wanted = 2 * season if season > 1 else 3 * horizon
        lookback = max(1, min(wanted, max(horizon, n // 4)))
        why = "two seasons" if season > 1 else "three horizons"
        out["lookback"] = {"value": lookback, "why": why + (
            "" if lookback == wanted else f", cut to fit the {n} points")}
    step = given.get("fold_step") or horizon
    folds = given.get("folds")
    if folds is None:
        folds = 1
        for k in range(MAX_FOLDS, 0, -1):
            if horizon + (k - 1) * step <= n / 4 and \
                    _train_windows(n, lookback, horizon, k, step) >= MIN_TRAIN_WINDOWS:
                folds = k
                break
        out["folds"] = {"value": folds, "why": (
            f"{folds} test origins one horizon apart: the most (up to {MAX_FOLDS}) that hold "
            f"out at most a quarter of the series and leave {MIN_TRAIN_WINDOWS}+ training "
            "windows")}
    if given.get("stride") is None:
        windows = max(1, _train_windows(n, lookback, horizon, folds, step))
        stride = max(1, math.ceil(windows / MAX_TRAIN_WINDOWS))
        out["stride"] = {"value": stride, "why": f"{windows:,} training windows" + (
            f"; every {stride}th keeps about {MAX_TRAIN_WINDOWS:,}" if stride > 1 else "")}
    return out


def choose_members(train_windows: int) -> Choice:
    """How many seeds each network averages, for this many training windows."""
    for below, members in MEMBERS:
        if train_windows < below:
            return {"value": members, "why": f"{train_windows:,} training windows "
                    f"(< {below:,}): {members} seeds averaged"}
    return {"value": 1, "why": f"{train_windows:,} training windows: one network"}


def resolve(config: Any, n: int, freq: str | None, season: int) -> tuple[Any, dict[str, Choice]]:
    """``config`` with every ``auto`` window key and ``model.members`` filled in for a
    series of ``n`` points, and the choices by dotted key."""
    w = config.window
    given = {key: None if value == "auto" else value for key, value in (
        ("horizon", w.horizon), ("lookback", w.lookback), ("folds", w.folds),
        ("stride", w.stride), ("fold_step", w.fold_step))}
    choices = {f"window.{key}": choice
               for key, choice in choose_window(n, freq, season, given).items()}
    config = apply_overrides(config, {key: c["value"] for key, c in choices.items()})
    if config.model.members == "auto":
        w = config.window
        windows = _train_windows(n, w.lookback, w.horizon, w.folds, w.step, w.stride)
        choices["model.members"] = choose_members(windows)
        config = apply_overrides(config, {"model.members": choices["model.members"]["value"]})
    return config, choices
