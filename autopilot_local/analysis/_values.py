"""Column values as the models and statistics consume them: floats, days since the epoch, strings, category codes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..parsing import coerce_numeric, parse_datetimes
from ._common import missing_mask

_NS_PER_DAY = 86_400 * 10**9


def numeric_values(series: pd.Series) -> np.ndarray:
    """Finite floats (money and percent strings parsed), NaN where missing or unparsable."""
    return coerce_numeric(series)


def datetime_days(series: pd.Series) -> np.ndarray:
    """Dates as float days since 1970-01-01, NaN where missing or unparsable."""
    parsed = parse_datetimes(series)
    days = parsed.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float) / _NS_PER_DAY
    days[parsed.isna().to_numpy()] = np.nan
    return days


def text_values(series: pd.Series) -> list[str]:
    """Strings, with missing values as empty strings."""
    text = series.astype(str).where(~missing_mask(series), "")
    return text.tolist()


def category_codes(series: pd.Series) -> np.ndarray:
    """Integer codes per distinct value; missing values share one code of their own."""
    labels = series.astype(str).where(~missing_mask(series), "\0missing")
    codes, _ = pd.factorize(labels)
    return codes
