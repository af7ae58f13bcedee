"""Small helpers shared by the analysis modules: missing values, seeded sampling, JSON-safe values."""

from __future__ import annotations

import datetime as _dt
import math

import numpy as np
import pandas as pd


def is_stringish(series: pd.Series) -> bool:
    """True for ``object`` and string dtypes (pandas 3 ``str``), whose values need parsing to be typed."""
    return series.dtype == object or pd.api.types.is_string_dtype(series.dtype)


def missing_mask(series: pd.Series) -> np.ndarray:
    """Missing as Autopilot counts it: NaN/None/NaT, empty strings and strings of white space only."""
    mask = series.isna().to_numpy(dtype=bool, copy=True)
    if is_stringish(series) and not isinstance(series.dtype, pd.CategoricalDtype):
        blank = series.astype(str).str.strip().eq("").to_numpy(dtype=bool, na_value=False)
        mask |= blank
    return mask


def present_text(series: pd.Series) -> pd.Series:
    """The non-missing values as Python strings (object dtype, so regexes follow Python's Unicode rules)."""
    return series[~missing_mask(series)].astype(str).astype(object)


def sample_positions(n_rows: int, size: int, seed: int) -> np.ndarray:
    """Sorted positions of a seed-fixed random sample of at most ``size`` of ``n_rows`` rows."""
    if n_rows <= size:
        return np.arange(n_rows)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_rows, size=size, replace=False))


def subsample(positions: np.ndarray, size: int, seed: int) -> np.ndarray:
    """A seed-fixed sorted subset of at most ``size`` of the given positions."""
    return positions[sample_positions(len(positions), size, seed)]


def jsonable(value):
    """Return ``value`` with numpy/pandas scalars turned into Python ones and NaN/inf into None, recursively."""
    if isinstance(value, dict):
        return {str(k) if not isinstance(k, str) else k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is pd.NaT or (not isinstance(value, str) and _is_scalar_na(value)):
        return None
    if isinstance(value, (pd.Timestamp, _dt.datetime, _dt.date, np.datetime64)):
        return pd.Timestamp(value).isoformat()
    if isinstance(value, (pd.Timedelta, _dt.timedelta, np.timedelta64)):
        return str(pd.Timedelta(value))
    return str(value)


def _is_scalar_na(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def percent(part: float, whole: float) -> float:
    """``part`` as a percentage of ``whole`` (0 when ``whole`` is 0)."""
    return 100.0 * part / whole if whole else 0.0
