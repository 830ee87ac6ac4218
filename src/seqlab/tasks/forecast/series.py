"""Read a time series from a table and make it regular, saying what was fixed.

The result is a :class:`Series`: a time-ordered frame whose first column is the target
and whose other columns are numeric covariates (categorical ones one-hot encoded), at a
regular frequency where one can be found. Duplicated timestamps are averaged, missing
steps inserted, and gaps filled by linear interpolation; each of these is counted in
``notes``. Anything that cannot be fixed is a :class:`DataError` naming the row.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seqlab.data.readers import EXTENSIONS, format_suffix, pick_column, read_table
from seqlab.errors import DataError

TIME_COLUMN_NAMES = ("date", "datetime", "timestamp", "time", "ds", "month", "period", "day",
                     "year")
# season lengths of pandas frequencies, by the frequency's base name
SEASONS = {"MS": 12, "ME": 12, "M": 12, "QS": 4, "QE": 4, "Q": 4, "W": 52, "D": 7, "B": 5,
           "h": 24, "H": 24, "min": 60, "YS": 1, "YE": 1, "Y": 1}
_YEAR_MONTH = re.compile(r"^\s*(\d{1,3})-(\d{1,2})\s*$")  # "1-01": month 1 of year 1


@dataclass
class Series:
    """A time-ordered frame: the target first, then numeric covariates."""

    frame: pd.DataFrame
    target: str
    freq: str | None
    season: int
    source: str
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    @property
    def values(self) -> np.ndarray:
        """``[N, F]`` float32, target in column 0."""
        return self.frame.to_numpy(dtype=np.float32)

    @property
    def y(self) -> np.ndarray:
        return self.frame[self.target].to_numpy(dtype=np.float64)

    def future_index(self, steps: int) -> pd.Index:
        """The time stamps of the next ``steps`` points (positions if there is no freq)."""
        index = self.frame.index
        if isinstance(index, pd.DatetimeIndex) and self.freq:
            return pd.date_range(index[-1], periods=steps + 1, freq=self.freq)[1:]
        start = int(index[-1]) + 1 if not isinstance(index, pd.DatetimeIndex) else len(index)
        return pd.RangeIndex(start, start + steps)


def _rows(frame: pd.DataFrame) -> list[int]:
    """File row numbers (1 = first data row after the header)."""
    if "__line__" in frame.columns:
        return [int(n) for n in frame["__line__"]]
    return list(range(2, len(frame) + 2))  # the header is line 1


def _parse_time(frame: pd.DataFrame, columns: list[str], path: Path) -> pd.Series:
    rows = _rows(frame)
    if len(columns) > 1:  # e.g. year, month, day, hour
        parts = frame[columns].rename(columns=str.lower)
        try:
            return pd.to_datetime(parts, errors="raise")
        except (ValueError, TypeError) as err:
            raise DataError(f"{path}: columns {', '.join(columns)} do not form dates ({err}); "
                            "name them year, month, day (hour, minute)") from None
    raw = frame[columns[0]]
    if pd.api.types.is_numeric_dtype(raw):
        if raw.isna().any():
            bad = rows[int(np.flatnonzero(raw.isna().to_numpy())[0])]
            raise DataError(f"{path}: row {bad}: no value in time column {columns[0]!r}")
        return raw.astype("int64")  # plain step numbers
    text = raw.astype(str)
    year_month = text.str.match(_YEAR_MONTH)
    if year_month.all():  # "Y-MM" with a small year: read as months of years 2000+Y
        parts = text.str.extract(_YEAR_MONTH).astype(int)
        return pd.to_datetime({"year": 2000 + parts[0], "month": parts[1], "day": 1})
    parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    if parsed.isna().any():
        first = int(np.flatnonzero(parsed.isna().to_numpy())[0])
        raise DataError(
            f"{path}: row {rows[first]}: {columns[0]!r} value {text.iloc[first]!r} is not a "
            f"date or time, so the rows cannot be put in time order. Fix that row, or pick "
            f"another --time-column.")
    return parsed


LARGEST = float(np.finfo(np.float32).max)  # the networks compute in float32


def out_of_range(values: np.ndarray) -> int | None:
    """The flat position of the first value that is NaN, infinite or beyond float32's
    range (about ±3.4e38), or None."""
    bad = ~np.isfinite(values) | (np.abs(np.nan_to_num(values)) > LARGEST)
    return int(np.flatnonzero(bad)[0]) if bad.any() else None


def _numeric(frame: pd.DataFrame, column: str, path: Path, role: str) -> pd.Series:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    blank = raw.isna() | raw.astype(str).str.strip().isin(["", "NA", "NaN", "nan", "null"])
    bad = values.isna() & ~blank
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: row {_rows(frame)[first]}: {role} column {column!r} holds "
            f"{str(raw.iloc[first])[:40]!r}, not a number ({int(bad.sum())} such rows). "
            f"Fix them, or choose a numeric --target.")
    at = out_of_range(values.fillna(0.0).to_numpy(dtype=np.float64))
    if at is not None:
        raise DataError(
            f"{path}: row {_rows(frame)[at]}: {role} column {column!r} holds "
            f"{str(raw.iloc[at])[:40]!r}: values must be finite numbers within ±3.4e38. "
            "Fix that row, or leave it empty to be interpolated.")
    return values.astype("float64")


def _encode_covariate(frame: pd.DataFrame, column: str, path: Path) -> pd.DataFrame:
    raw = frame[column]
    numeric = pd.to_numeric(raw, errors="coerce")
    if numeric.notna().sum() >= 0.95 * raw.notna().sum():
        return pd.DataFrame({column: _numeric(frame, column, path, "covariate")})
    levels = sorted(str(v) for v in raw.dropna().unique())
    if len(levels) > 50:
        raise DataError(f"{path}: covariate {column!r} is text with {len(levels)} distinct "
                        "values; give numeric covariates or a category with at most 50 values")
    return pd.DataFrame({f"{column}={level}": (raw.astype(str) == level).astype("float64")
                         for level in levels})


def season_of(freq: str | None) -> int:
    """The season length a frequency implies (12 for monthly, 24 for hourly, …); 1 if none."""
    if not freq:
        return 1
    offset = pd.tseries.frequencies.to_offset(freq)
    return SEASONS.get(offset.rule_code.split("-")[0], 1) if offset.n == 1 else 1


def _infer_freq(index: pd.DatetimeIndex) -> str | None:
    with warnings.catch_warnings():  # pandas 3 warns that the return type will change
        warnings.simplefilter("ignore")
        found = pd.infer_freq(index)
    return found if found is None or isinstance(found, str) else found.freqstr


def _regularize(data: pd.DataFrame, freq: str | None, notes: list[str]) -> tuple[
        pd.DataFrame, str | None]:
    if not isinstance(data.index, pd.DatetimeIndex):
        full = pd.RangeIndex(int(data.index.min()), int(data.index.max()) + 1)
        if len(full) != len(data):
            notes.append(f"{len(full) - len(data)} missing steps inserted and interpolated")
        return data.reindex(full), None
    if freq is None and len(data) >= 3:
        freq = _infer_freq(data.index)
    if freq is None:
        step = pd.Series(data.index).diff().mode().iloc[0]
        grid = pd.date_range(data.index[0], data.index[-1], freq=step)
        if len(grid) - len(data) > 0.1 * len(data):
            notes.append("no regular frequency (e.g. trading days): the rows are used in "
                         "order as they are; pass --freq to impose one")
            return data, None
        freq = _infer_freq(pd.date_range(data.index[0], periods=3, freq=step)) or str(step)
    try:
        grid = pd.date_range(data.index[0], data.index[-1], freq=freq)
    except ValueError as err:
        raise DataError(f"frequency {freq!r} is not a pandas frequency ({err})") from None
    off_grid = len(data.index.difference(grid))
    if off_grid:
        raise DataError(f"{off_grid} time stamps do not fall on the {freq!r} grid starting at "
                        f"{data.index[0]}; pass the right --freq")
    if len(grid) != len(data):
        notes.append(f"{len(grid) - len(data)} missing {freq} steps inserted and interpolated")
    return data.reindex(grid), freq


def _fill_gaps(data: pd.DataFrame, target: str, notes: list[str]) -> pd.DataFrame:
    known = data[target].notna().to_numpy()
    if not known.any():
        raise DataError(f"target column {target!r} has no values")
    first, last = int(np.argmax(known)), len(known) - int(np.argmax(known[::-1]))
    if first or last < len(data):
        notes.append(f"{first + len(data) - last} leading/trailing rows without a target "
                     "dropped")
    data = data.iloc[first:last]
    missing = int(data.isna().to_numpy().sum())
    if missing:
        notes.append(f"{missing} missing values filled by linear interpolation")
        data = data.interpolate(method="linear", limit_direction="both")
    return data


def series_from_frame(frame: pd.DataFrame, source: str, time_column: str | None = None,
                      target: str | None = None, covariates: list[str] | None = None,
                      freq: str | None = None, season: int | None = None) -> Series:
    """Build a :class:`Series` from a table; see the module docstring for what is fixed."""
    path = Path(source)
    columns = [str(c) for c in frame.columns if c != "__line__"]
    if time_column:
        time_cols = [c.strip() for c in time_column.split(",")]
        for name in time_cols:
            pick_column(frame, name, (), "time", path)
    else:
        lowered = {c.lower(): c for c in columns}
        found = next((lowered[n] for n in TIME_COLUMN_NAMES if n in lowered), None)
        time_cols = [found] if found else []
    if target is None:
        others = [c for c in columns if c not in time_cols]
        numeric = others if len(others) == 1 else [
            c for c in others if pd.to_numeric(frame[c], errors="coerce").notna().mean() > 0.9]
        if len(numeric) != 1:
            raise DataError(f"{path}: say which column to forecast with --target; the columns "
                            f"are: {', '.join(columns)}")
        target = numeric[0]
    target = pick_column(frame, target, (), "target", path, "--target")
    data = pd.DataFrame({target: _numeric(frame, target, path, "target")})
    for name in covariates or []:
        pick_column(frame, name, (), "covariate", path)
        data = data.join(_encode_covariate(frame, name, path))
    notes: list[str] = []
    if time_cols:
        stamps = _parse_time(frame, time_cols, path)
        data.index = pd.Index(stamps.to_numpy(), name="+".join(time_cols))
        if not data.index.is_monotonic_increasing:
            notes.append("rows sorted by time")
            data = data.sort_index(kind="stable")
        duplicated = int(data.index.duplicated().sum())
        if duplicated:
            notes.append(f"{duplicated} rows with a repeated time stamp averaged")
            data = data.groupby(level=0).mean()
    else:
        notes.append("no time column: rows are taken in file order")
        data.index = pd.RangeIndex(len(data))
    data, freq = _regularize(data, freq, notes)
    data = _fill_gaps(data, target, notes)
    return Series(frame=data, target=target, freq=freq,
                  season=season or season_of(freq), source=source, notes=notes)


def read_series(path: str | Path, time_column: str | None = None, target: str | None = None,
                covariates: list[str] | None = None, freq: str | None = None,
                season: int | None = None, encoding: str = "utf-8") -> Series:
    """Read CSV/TSV/JSONL/Parquet into a :class:`Series`."""
    frame = read_table(path, encoding=encoding)
    return series_from_frame(frame, str(path), time_column, target, covariates, freq, season)


Panel = dict[str, Series]  # series by id, in the order they came
TABLES = ("csv", "tsv", "jsonl", "parquet")  # the formats a folder's series may come in


def read_panel(path: str | Path, series_column: str | None = None,
               time_column: str | None = None, target: str | None = None,
               covariates: list[str] | None = None, freq: str | None = None,
               season: int | None = None, encoding: str = "utf-8") -> Panel:
    """Several series: a long-format file whose ``series_column`` names each row's series,
    or a folder of files (one series each, named by the file). Without either, the one
    series in ``path``, under its target's name. Every series is read and made regular on
    its own; they must share a frequency, and each needs at least two points."""
    path = Path(path)
    if path.is_dir():
        files = sorted(f for f in path.iterdir()
                       if f.is_file() and EXTENSIONS.get(format_suffix(f).lower()) in TABLES)
        if not files:
            raise DataError(f"{path}: the folder holds no data files (.csv, .tsv, .jsonl, "
                            ".parquet, or these gzipped)")
        panel = {_file_id(f): read_series(f, time_column, target, covariates, freq, season,
                                          encoding) for f in files}
    elif series_column:
        frame = read_table(path, encoding=encoding)
        column = pick_column(frame, series_column, (), "series id", path, "--series-column")
        ids = frame[column].fillna("").astype(str).str.strip()
        if (ids == "").any():
            row = _rows(frame)[int(np.flatnonzero((ids == "").to_numpy())[0])]
            raise DataError(f"{path}: row {row}: no series id in column {column!r}; give "
                            "every row its series")
        panel = {}
        for sid, rows in frame.groupby(ids, sort=False):
            if len(rows) < 2:
                _too_short(path, str(sid), len(rows))
            panel[str(sid)] = series_from_frame(
                rows.drop(columns=column), f"{path} (series {sid})", time_column, target,
                covariates, freq, season)
    else:
        one = read_series(path, time_column, target, covariates, freq, season, encoding)
        return {one.target: one}
    _check_panel(panel, path)
    return panel


def _file_id(path: Path) -> str:
    """``sales_a`` for ``sales_a.csv`` and ``sales_a.csv.gz``."""
    return Path(path.name.removesuffix(".gz")).stem


def _too_short(path: Path, sid: str, points: int) -> None:
    raise DataError(f"{path}: series {sid!r} has {points} point{'s' * (points != 1)}; every "
                    "series needs at least two (leave it out, or give it more history)")


def _check_panel(panel: Panel, path: Path) -> None:
    for sid, series in panel.items():
        if len(series) < 2:
            _too_short(path, sid, len(series))
    first_id, first = next(iter(panel.items()))
    for sid, series in panel.items():
        if (series.freq, series.season) != (first.freq, first.season):
            raise DataError(
                f"{path}: series {first_id!r} is {first.freq or 'without a frequency'} "
                f"(season {first.season}) but {sid!r} is {series.freq or 'without one'} "
                f"(season {series.season}); one model reads series of one frequency. Train "
                "them apart, or pass --freq to put them on one grid")
        if series.columns != first.columns:
            raise DataError(f"{path}: series {first_id!r} has columns {first.columns} but "
                            f"{sid!r} has {series.columns}; give every series the same ones")
