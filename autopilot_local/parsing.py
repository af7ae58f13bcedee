"""Reading numbers and dates out of raw cell values.

One place for these rules, shared by column typing (analysis), the transformers that run inside every fitted
pipeline (so raw rows at prediction time parse exactly as the training rows did) and the target's label transform.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

# "$1,000.00", "-€ 12.5", "95%", "1 234,5" are not floats to Python; they are numbers to a reader. Thousands
# separators are commas; a currency sign may lead, a percent sign may trail. "0,125" is not grouped in thousands:
# it is a decimal comma, which is not parsed here.
_NUMBER = re.compile(r"^\s*([-+]?)\s*[$€£¥]?\s*([-+]?)([1-9]\d{0,2}(?:,\d{3})+|\d*)(\.\d+)?\s*(%?)\s*$")
_ISO_DATE = re.compile(r"^\s*\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?\s*$")


def coerce_numeric(values) -> np.ndarray:
    """Return a float64 array: numbers as they are, numeric strings (money, percent, thousands) parsed, else NaN.

    Infinite values count as missing, as Autopilot's robust transformers treat anything not castable to a finite
    float.
    """
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values, dtype=object).ravel())
    if pd.api.types.is_datetime64_any_dtype(series.dtype) or isinstance(series.dtype, pd.PeriodDtype):
        return np.full(len(series), np.nan)  # a date is not a number, however pandas stores it
    if pd.api.types.is_bool_dtype(series.dtype) or pd.api.types.is_numeric_dtype(series.dtype):
        out = series.to_numpy(dtype=float, na_value=np.nan, copy=True)
    else:
        out = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan, copy=True)
        unparsed = np.isnan(out) & series.notna().to_numpy()
        if unparsed.any():
            out[unparsed] = [_parse_number(v) for v in series[unparsed]]
    out[~np.isfinite(out)] = np.nan
    return out


def _parse_number(value) -> float:
    if isinstance(value, (bool, np.bool_)):
        return float(value)
    match = _NUMBER.match(str(value))
    if match is None:
        return np.nan
    sign_a, sign_b, whole, fraction, percent = match.groups()
    if not whole and not fraction:
        return np.nan
    number = float((whole or "0").replace(",", "") + (fraction or ""))
    if "-" in (sign_a + sign_b):
        number = -number
    return number / 100.0 if percent else number


def numeric_fraction(values) -> float:
    """The share of non-missing values that parse as numbers."""
    series = pd.Series(values).dropna()
    if series.empty:
        return 0.0
    return float(np.isfinite(coerce_numeric(series)).mean())


def parse_datetimes(values) -> pd.Series:
    """Parse date and time strings to ``datetime64[ns]``; unparsable values become NaT.

    ISO 8601 strings are read strictly; anything else falls back to pandas' per-element inference.
    """
    series = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        parsed = series
    else:
        text = series.astype(object).where(series.notna(), None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
            if parsed.notna().sum() < text.notna().sum():
                fallback = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
                parsed = parsed.fillna(fallback)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(None)
    # sentinels such as 9999-12-31 (or "2,500" read as the year 500) fall outside datetime64[ns]: missing
    in_range = (parsed >= pd.Timestamp.min) & (parsed <= pd.Timestamp.max)
    return parsed.where(in_range).astype("datetime64[ns]")


def iso_date_fraction(values) -> float:
    """The share of non-missing values that are ISO 8601 dates or timestamps ("2020-05-01", "2020-05-01T10:00")."""
    series = pd.Series(values).dropna()
    if series.empty:
        return 0.0
    return float(series.astype(str).str.match(_ISO_DATE).mean())
