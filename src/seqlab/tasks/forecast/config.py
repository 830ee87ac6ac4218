"""The forecasting run's configuration, saved as ``config.yaml`` in its run folder."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from seqlab.config import (
    CellName,
    MemberCount,
    RunFolderConfig,
    StrictModel,
    TrainingConfig,
    in_registry,
    legacy_monitor,
    member_count,
)


class SeriesConfig(StrictModel):
    """Where the series is and which columns mean what."""

    path: str = Field("", description="a data file, or a folder of files (one series each)")
    series_column: str | None = Field(
        None, description="in a long-format file, the column naming each row's series: one "
        "global model is trained over all of them")
    time_column: str | None = Field(
        None, description="time column; several (year,month,day,hour) are put together")
    target: str | None = Field(None, description="the column to forecast")
    covariates: list[str] = Field(default_factory=list,
                                  description="other columns fed as inputs (past values)")
    freq: str | None = Field(None, description="pandas frequency, e.g. MS, D, h; else inferred")
    season: int | None = Field(None, ge=1, description="season length; else from freq")
    encoding: str = Field("utf-8", description="the file's text encoding, e.g. latin-1")


Auto = int | Literal["auto"]


class WindowConfig(StrictModel):
    """How the series is cut into examples, and how much of its end is held out. A key
    left at auto is chosen from the series' frequency and length (``tasks/forecast/auto``)
    and written into the run's config.yaml."""

    lookback: Auto = Field("auto", description="past steps the model reads; auto: two "
                           "seasons, or three horizons")
    horizon: Auto = Field("auto", description="future steps it predicts at once; auto: from "
                          "the frequency (12 monthly, 7 daily, 24 hourly…)")
    stride: Auto = Field("auto", description="step between training windows; auto: 1, more "
                         "on very long series")
    folds: Auto = Field("auto", description="rolling origins in the test backtest; auto: as "
                        "many as the length allows, up to 8")
    fold_step: int | None = Field(None, ge=1, description="steps between origins (horizon)")

    @field_validator("lookback", "horizon", "stride", "folds")
    @classmethod
    def _positive(cls, value: int | str) -> int | str:
        if isinstance(value, int) and value < 1:
            raise ValueError("a whole number of steps, at least 1, or auto")
        return value

    @property
    def step(self) -> int:
        return self.fold_step or int(self.horizon)


class ForecastModelConfig(StrictModel):
    """The forecasters: which kind, the encoder, output head and target handling."""

    kind: Literal["auto", "recurrent", "hybrid"] = Field(
        "auto", description="recurrent: a network on the scaled series; hybrid: a network "
        "on the series with its exponential-smoothing level and season taken out; auto: "
        "both, and validation picks among them and the statistical baselines")
    members: MemberCount = Field("auto", description="networks of each kind trained with "
                                 "seeds seed, seed+1, … and averaged; auto: 5 below 1,000 "
                                 "training windows, 3 below 10,000, else 1")
    _members = field_validator("members")(member_count)
    lookback_factors: list[float] = Field(
        default_factory=lambda: [1.0], description="member i reads window.lookback × "
        "factors[i mod their count] past steps: [1, 0.75, 0.5] mixes window lengths in the "
        "ensemble")

    @field_validator("lookback_factors")
    @classmethod
    def _factors(cls, value: list[float]) -> list[float]:
        if not value or any(not 0 < f <= 1 for f in value):
            raise ValueError("one or more factors in (0, 1], e.g. [1, 0.75, 0.5]")
        return value
    cell: CellName = "lstm"
    hidden_size: int = Field(64, ge=1)
    num_layers: int = Field(1, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="between layers and before the head")
    level: Literal["auto", "last", "seasonal", "none"] = Field(
        "auto", description="the base the network corrects: the window's last value, the "
        "value one season earlier (seasonal naive), or none; auto: seasonal where the "
        "series has a season and the lookback covers it, else last")
    loss: Literal["mse", "pinball"] = Field(
        "mse", description="mse: point forecasts, intervals from the validation errors; "
        "pinball: the networks also forecast the intervals' quantiles, trained with the "
        "pinball loss (the point forecast is the median)")
    target_transform: Literal["none", "log"] = Field(
        "none", description="log for multiplicative growth (needs positive values)")


class ForecastTrainingConfig(TrainingConfig):
    """Training, with the validation metrics that may pick the epoch."""

    # MASE: for one series MAE over a constant; over many, each series in its own units
    monitor: Literal["mae", "mase", "loss"] = "mase"
    _legacy_monitor = legacy_monitor("mase")


def _forecast_training() -> ForecastTrainingConfig:
    # small data, small models: many short epochs, early stopping on validation MASE
    # one thread: these models are too small to gain from more, and lose to the overhead
    return ForecastTrainingConfig(lr=3e-3, weight_decay=0.0, batch_size=32, max_epochs=300,
                          patience=30, clip_grad_norm=1.0, threads=1)


class ForecastConfig(RunFolderConfig):
    """Everything a forecasting run needs."""

    name: str = "forecast"
    data: SeriesConfig = Field(default_factory=SeriesConfig)
    window: WindowConfig = Field(default_factory=WindowConfig)
    model: ForecastModelConfig = Field(default_factory=ForecastModelConfig)
    training: ForecastTrainingConfig = Field(default_factory=_forecast_training)
    refit: bool = Field(True, description="after validation picks the epochs, train again "
                        "on train + validation for that many epochs (the test part stays out)")
    baselines: list[str] = Field(
        default_factory=lambda: ["naive", "seasonal_naive", "drift", "ets", "arima"])
    intervals: list[float] = Field(default_factory=lambda: [0.8, 0.95],
                                   description="prediction interval coverages")

    @field_validator("baselines")
    @classmethod
    def _baselines(cls, value: list[str]) -> list[str]:
        from seqlab.tasks.forecast.baselines import BASELINES

        return [in_registry(name, BASELINES) for name in value]

    @field_validator("intervals")
    @classmethod
    def _intervals(cls, value: list[float]) -> list[float]:
        if any(not 0 < level < 1 for level in value):
            raise ValueError("interval coverages lie between 0 and 1, e.g. 0.8")
        return sorted(value)
