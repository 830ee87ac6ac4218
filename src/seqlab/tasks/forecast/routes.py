"""``POST /forecast``: a forecaster's route on the server app.

The client sends the most recent rows of the series (at least ``min_history()``: the
lookback, or two seasons for the hybrid), the target first, then the covariates in the
model's column order, or just numbers for a series without covariates, and gets the next
``horizon`` values with their intervals. Requests that wait while the model is busy are
forecast together (:mod:`seqlab.serving.batcher`): the networks run once over all of them.
"""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from seqlab.serving.app import Mounted, ServedModel, ServeSettings
from seqlab.serving.batcher import Batcher
from seqlab.serving.identity import model_identity
from seqlab.serving.rules import refuse
from seqlab.tasks.forecast.forecaster import Forecaster
from seqlab.tasks.forecast.series import Series, out_of_range


class ForecastRequest(BaseModel):
    """The latest points of the series, oldest first."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"history": [112, 118, 132, 129, 121, 135, 148, 148, 136, 119, 104, 118]}]})
    history: list[float] | list[list[float]] = Field(
        ..., description="numbers, or rows [target, covariate…] in the model's column order")
    series: str | None = Field(
        None, max_length=200, description="which of the model's series this is; a new "
        "series (or none, for a model of many) is framed on this history alone")


def serve(settings: ServeSettings) -> ServedModel:
    """Load the forecaster once, for the server app."""

    identity = model_identity(settings.model)
    return ServedModel(identity, partial(mount, forecaster=Forecaster.load(settings.model),
                                         identity=identity, batch_series=settings.batch_texts))


def mount(app: FastAPI, lock: threading.Lock, forecaster: Any, identity: dict[str, Any],
          max_points: int = 100_000, batch_series: int = 64) -> Mounted:
    """Add ``POST /forecast`` for ``forecaster`` to ``app``; up to ``batch_series``
    waiting requests share one call of the networks."""
    columns, need = forecaster.columns_, forecaster.min_history()
    batch = Batcher(forecaster.forecast_many, batch_series, lock)

    @app.post("/forecast", responses={413: {"description": "history too long"},
                                      422: {"description": "malformed request"}})
    async def forecast(request: ForecastRequest) -> Any:
        rows = np.asarray(request.history, dtype=np.float64)
        if rows.ndim == 1:
            rows = rows[:, None]
        if len(rows) > max_points:
            return refuse(413, f"{len(rows)} points; the limit is {max_points}",
                          limit=max_points)
        if rows.shape[1] != len(columns):
            return refuse(422, f"each row needs {len(columns)} values: {columns}")
        if len(rows) < need:
            return refuse(422, f"send at least {need} points (what the model reads); "
                          f"got {len(rows)}")
        at = out_of_range(rows)
        if at is not None:
            row, column = divmod(at, rows.shape[1])
            return refuse(422, f"history[{row}] ({columns[column]}) is {rows[row, column]:g}: "
                          "send finite numbers within ±3.4e38", position=row)
        series = Series(pd.DataFrame(rows, columns=columns), forecaster.target_,
                        forecaster.freq_, forecaster.season_, "request")
        (out,) = await batch.run([(series, request.series)])
        return {"model": identity, **{k: np.asarray(v).tolist() for k, v in out.items()}}

    return Mounted(
        f"Forecaster **{identity['name']}**: the next {forecaster.horizon} values of "
        f"`{forecaster.target_}` from at least {need} rows of {columns}",
        '{"history": [numbers or rows]}',
        {"task": "forecast", "columns": columns, "target": forecaster.target_,
         "lookback": forecaster.config.window.lookback, "min_history": need,
         "horizon": forecaster.horizon, "freq": forecaster.freq_,
         "series": getattr(forecaster, "series_ids_", [])[:100],
         "metrics": getattr(forecaster, "metrics_", {}),
         "settings": forecaster.config.model_dump(mode="json")})
