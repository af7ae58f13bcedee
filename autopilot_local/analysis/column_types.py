"""Autopilot's feature types (numeric, categorical, text, datetime) inferred from the values, and columns to leave out.

Where Autopilot is weak we do better: ISO date strings are datetimes (Autopilot read them as text), money and percent
strings are numbers, and row indexes, identifiers and URLs unique per row are excluded instead of used as features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import InputError
from ..parsing import coerce_numeric, iso_date_fraction, numeric_fraction, parse_datetimes
from ._common import missing_mask, present_text, sample_positions

NUMERIC, CATEGORICAL, TEXT, DATETIME, EXCLUDED = "numeric", "categorical", "text", "datetime", "excluded"
FEATURE_TYPES = (NUMERIC, CATEGORICAL, TEXT, DATETIME)

ALL_MISSING, CONSTANT, ROW_INDEX = "all missing", "constant", "row index"
ID_LIKE, ID_LIKE_URL = "ID-like (unique per row)", "ID-like (URL)"

# Share of non-missing values that must parse for a string column to count as numbers or dates.
PARSE_SHARE = 0.9
# A single value with at least this share of missing rows is a presence flag (categorical), not a constant.
FLAG_MIN_MISSING_SHARE = 0.01
# Unique share (distinct / non-missing) from which a non-text string column, or an integer column named like an id
# ("id", "host_id", "listingId"), is an identifier. Any other integer column must be unique on 99 % of at least
# 1000 rows: on fewer rows, unique counts and measures (square feet) are plausible features.
ID_UNIQUE_SHARE = 0.95
INT_ID_UNIQUE_SHARE, INT_ID_MIN_ROWS = 0.99, 1000
ID_MIN_VALUES = 20
# URLs point at one thing each (a listing, a picture, a host's page): with at least this unique share they are
# identifiers; fewer distinct URLs (a handful of sources) are categories. URLs are never text.
URL_UNIQUE_SHARE = 0.1
# Text: at least TEXT_MIN_WORDS words per value on average and TEXT_MIN_UNIQUE_SHARE distinct values; or short,
# mostly unique phrases (listing names); or long passages however often repeated; or JSON-like lists with many
# distinct combinations.
TEXT_MIN_WORDS, TEXT_MIN_UNIQUE_SHARE = 3.0, 0.1
SHORT_TEXT_MIN_WORDS, SHORT_TEXT_UNIQUE_SHARE = 2.0, 0.5
LONG_TEXT_MIN_WORDS, LONG_TEXT_MIN_UNIQUE = 8.0, 20
LIST_MIN_UNIQUE = 20

_INDEX_NAME = re.compile(r"^(unnamed: ?\d+|rownames|index|level_0|)$", re.IGNORECASE)
_ID_NAME = re.compile(r"(^|[_\W])(id|Id|ID|key|uuid|guid)$|^(id|Id|ID)[_\W]|[a-z]Id$|[A-Z]ID$")
_URL = r"^\s*(https?://|www\.)\S+\s*$"
_LIST = r"^\s*[\[{].*[\]}]\s*$"
_WORD = r"[^\W\d_]{2,}"
_MONTH = r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_DATE_LIKE = (
    r"^\s*((mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+)?("
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}"
    r"|\d{1,2}[-/.]\d{1,2}[-/.](\d{4}|\d{2})"
    rf"|\d{{1,2}}[\s-]+{_MONTH}[\s,-]+\d{{2,4}}"
    rf"|{_MONTH}[\s-]+\d{{1,2}}(st|nd|rd|th)?[\s,-]+\d{{2,4}}"
    r")([\sT]+\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([ap]\.?m\.?)?)?\s*(z|utc|gmt|[+-]\d{2}:?\d{2})?\s*$"
)


@dataclass(frozen=True)
class ColumnTypes:
    """Feature columns per type, in the frame's column order, and the excluded columns with the reason."""

    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    datetime: tuple[str, ...] = ()
    excluded: dict[str, str] = field(default_factory=dict, hash=False)

    def of(self, column: str) -> str:
        """The type name of ``column``, or "excluded"; KeyError for a column that is not a feature (the target)."""
        for name in FEATURE_TYPES:
            if column in getattr(self, name):
                return name
        if column in self.excluded:
            return EXCLUDED
        raise KeyError(f"column {column!r} is neither a feature nor excluded")

    @property
    def features(self) -> tuple[str, ...]:
        """All feature columns, grouped by type."""
        return self.numeric + self.categorical + self.text + self.datetime

    def to_dict(self) -> dict:
        """JSON-able form: lists per type and the excluded mapping."""
        out = {name: list(getattr(self, name)) for name in FEATURE_TYPES}
        out[EXCLUDED] = dict(self.excluded)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> ColumnTypes:
        """Inverse of :meth:`to_dict`."""
        return cls(
            **{name: tuple(data.get(name, ())) for name in FEATURE_TYPES},
            excluded=dict(data.get(EXCLUDED, {})),
        )


def infer_column_types(df: pd.DataFrame, target: str, sample_rows: int = 20000, seed: int = 0) -> ColumnTypes:
    """Type every column but ``target``; parsing-based rules look at a seed-fixed sample of ``sample_rows`` rows.

    Uniqueness, constancy and row-index checks read the whole column (cheap and exact).
    """
    if target not in df.columns:
        raise InputError(f"target column {target!r} is not in the data (columns: {', '.join(map(str, df.columns))})")
    duplicated = df.columns[df.columns.duplicated()]
    if len(duplicated):
        raise InputError(f"column names must be unique; repeated: {', '.join(map(str, duplicated.unique()))}")
    sample = df.iloc[sample_positions(len(df), sample_rows, seed)]
    by_type: dict[str, list[str]] = {name: [] for name in FEATURE_TYPES}
    excluded: dict[str, str] = {}
    for column in df.columns:
        if column == target:
            continue
        kind, reason = _column_type(column, df[column], sample[column])
        if kind == EXCLUDED:
            excluded[column] = reason
        else:
            by_type[kind].append(column)
    return ColumnTypes(**{name: tuple(cols) for name, cols in by_type.items()}, excluded=excluded)


def _column_type(name, full: pd.Series, sample: pd.Series) -> tuple[str, str]:
    missing = missing_mask(full)
    present = full[~missing]
    if present.empty:
        return EXCLUDED, ALL_MISSING
    n_unique = present.nunique()
    if n_unique == 1:
        return (CATEGORICAL, "") if missing.mean() >= FLAG_MIN_MISSING_SHARE else (EXCLUDED, CONSTANT)
    dtype = full.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return DATETIME, ""
    if isinstance(dtype, pd.CategoricalDtype):
        return CATEGORICAL, ""
    if pd.api.types.is_bool_dtype(dtype):
        return NUMERIC, ""
    if pd.api.types.is_numeric_dtype(dtype):
        return _numeric_type(name, coerce_numeric(present), len(full))
    return _string_type(name, present_text(sample), present, n_unique, len(full))


def _numeric_type(name, values: np.ndarray, n_rows: int) -> tuple[str, str]:
    values = values[np.isfinite(values)]
    if not len(values) or not np.all(values == np.round(values)):
        return NUMERIC, ""
    unique_share = len(np.unique(values)) / len(values)
    if _is_row_index(name, values, unique_share, n_rows):
        return EXCLUDED, ROW_INDEX
    if len(values) < ID_MIN_VALUES:
        return NUMERIC, ""
    if _ID_NAME.search(str(name)) is not None and unique_share >= ID_UNIQUE_SHARE:
        return EXCLUDED, ID_LIKE
    if len(values) >= INT_ID_MIN_ROWS and unique_share >= INT_ID_UNIQUE_SHARE:
        return EXCLUDED, ID_LIKE
    return NUMERIC, ""


def _is_row_index(name, values: np.ndarray, unique_share: float, n_rows: int) -> bool:
    """Integers 0..n-1 or 1..n in order on every row, or an unnamed/"rownames" column of unique integers."""
    if len(values) != n_rows or unique_share < 1.0:
        return False
    if _INDEX_NAME.match(str(name)):
        return True
    return bool(values[0] in (0, 1) and np.array_equal(values, np.arange(values[0], values[0] + n_rows)))


def _string_type(name, values: pd.Series, present_full: pd.Series, n_unique: int, n_rows: int) -> tuple[str, str]:
    unique_share = n_unique / len(present_full)
    if numeric_fraction(values) >= PARSE_SHARE:
        if unique_share >= ID_UNIQUE_SHARE:
            return _numeric_type(name, coerce_numeric(present_full), n_rows)
        return NUMERIC, ""
    if _is_datetime_text(values):
        return DATETIME, ""
    if values.str.match(_URL).mean() >= PARSE_SHARE:
        return (EXCLUDED, ID_LIKE_URL) if unique_share >= URL_UNIQUE_SHARE else (CATEGORICAL, "")
    if _is_text(values, unique_share, n_unique):
        return TEXT, ""
    if unique_share >= ID_UNIQUE_SHARE and len(present_full) >= ID_MIN_VALUES:
        return EXCLUDED, ID_LIKE
    return CATEGORICAL, ""


def _is_datetime_text(values: pd.Series) -> bool:
    """ISO dates, or other strings shaped like dates (digits with date separators, month names) that parse."""
    if iso_date_fraction(values) >= PARSE_SHARE:
        return True
    if values.str.match(_DATE_LIKE, case=False).mean() < PARSE_SHARE:
        return False
    return parse_datetimes(values).notna().mean() >= PARSE_SHARE


def _is_text(values: pd.Series, unique_share: float, n_unique: int) -> bool:
    if values.str.match(_LIST).mean() >= PARSE_SHARE and n_unique >= LIST_MIN_UNIQUE:
        return True
    words = values.str.count(_WORD).mean()
    return bool(
        (words >= TEXT_MIN_WORDS and unique_share >= TEXT_MIN_UNIQUE_SHARE)
        or (words >= SHORT_TEXT_MIN_WORDS and unique_share >= SHORT_TEXT_UNIQUE_SHARE)
        or (words >= LONG_TEXT_MIN_WORDS and n_unique >= LONG_TEXT_MIN_UNIQUE)
    )
