"""The report's statistics: target summary, duplicates, missing values, cardinality, descriptive stats,
correlations and anomalous rows (Autopilot's data exploration report, 2023 layout)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from ..parsing import numeric_fraction
from ._common import missing_mask, percent, present_text
from ._values import numeric_values

# Autopilot's outlier definition: outside median +/- OUTLIER_RSTDS x RSTD, RSTD = std of the values clipped to
# [p5, p95].
OUTLIER_RSTDS = 5.0
TOP_CORRELATIONS = 20
# Pairwise-complete Pearson costs rows x columns^2 (5,000 columns: minutes): the report correlates the most
# predictive numeric features, at most this many.
CORRELATION_MAX_COLUMNS = 500
TOP_ANOMALIES = 5


def outlier_percent(values: np.ndarray) -> float | None:
    """Percent of finite values outside median +/- 5 x RSTD (robust std of the [p5, p95]-clipped values)."""
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = np.percentile(values, [5, 95])
    robust_std = np.std(np.clip(values, low, high))
    outside = np.abs(values - np.median(values)) > OUTLIER_RSTDS * robust_std
    return percent(int(outside.sum()), len(values))


def numeric_summary(values: np.ndarray) -> dict:
    """Count, mean, median, min, max, std, skew, excess kurtosis and outlier percent of the finite values."""
    values = values[np.isfinite(values)]
    if not len(values):
        return {"count": 0}
    series = pd.Series(values)
    return {
        "count": len(values),
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "min": float(values.min()),
        "max": float(values.max()),
        "std": float(series.std()),
        "skew": float(series.skew()),
        "kurtosis": float(series.kurt()),
        "outlier_percent": outlier_percent(values),
    }


def regression_target_summary(y: np.ndarray) -> dict:
    """Numeric summary of the valid target values, plus the count of distinct values."""
    summary = numeric_summary(y)
    summary["unique_values"] = int(len(np.unique(y[np.isfinite(y)])))
    return summary


def classification_target_summary(labels: pd.Series) -> dict:
    """Classes with counts and frequencies, most frequent first (ties by label text)."""
    counts = labels.value_counts(sort=False)
    total = int(counts.sum())
    order = sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
    classes = [{"label": label, "count": int(n), "frequency": n / total} for label, n in order]
    return {"n_classes": len(classes), "classes": classes}


def duplicate_rows(df: pd.DataFrame) -> dict:
    """Rows identical to an earlier row, as a count and a percent of all rows."""
    try:
        count = int(df.duplicated().sum())
    except TypeError:
        count = int(df.astype(str).duplicated().sum())
    return {"count": count, "percent": percent(count, len(df))}


def missing_percent(df: pd.DataFrame) -> dict:
    """Percent of missing values (NaN, empty or white space) per column."""
    return {column: percent(int(missing_mask(df[column]).sum()), len(df)) for column in df.columns}


def cardinality(df: pd.DataFrame, sample: pd.DataFrame, text_columns) -> dict:
    """Distinct non-missing values per column (all rows); for text columns also distinct words (on the sample)."""
    out = {}
    for column in df.columns:
        present = df[column][~missing_mask(df[column])]
        out[column] = {"unique_values": int(present.nunique())}
    for column in text_columns:
        out[column]["unique_words"] = _unique_words(sample[column])
    return out


def _unique_words(series: pd.Series) -> int:
    words = present_text(series).str.lower().str.findall(r"\w+")
    return len(set().union(*words.tolist())) if len(words) else 0


def descriptive_stats(sample: pd.DataFrame, numeric_columns) -> dict:
    """Per numeric column: percent of values that are numbers, mean, median, min, max, std, outlier %, skew."""
    out = {}
    for column in numeric_columns:
        series = sample[column]
        summary = numeric_summary(numeric_values(series))
        present = series[~missing_mask(series)]
        stats = {"numeric_percent": 100.0 * numeric_fraction(present) if len(present) else None}
        for key in ("mean", "median", "min", "max", "std", "outlier_percent", "skew"):
            stats[key] = summary.get(key)
        out[column] = stats
    return out


def numeric_frame(sample: pd.DataFrame, numeric_columns) -> pd.DataFrame:
    """The numeric features as floats, dropping columns with fewer than two distinct values in the sample."""
    frame = pd.DataFrame({c: numeric_values(sample[c]) for c in numeric_columns}, index=sample.index)
    return frame.loc[:, frame.nunique() > 1]


def correlations(frame: pd.DataFrame, top: int = TOP_CORRELATIONS) -> dict:
    """Pearson correlation among numeric features (pairwise complete rows), the ``top`` pairs by |r|."""
    matrix = frame.corr(method="pearson", min_periods=3).to_numpy()
    columns = list(frame.columns)
    first, second = np.triu_indices(len(columns), 1)
    r = matrix[first, second]
    keep = np.isfinite(r)
    if keep.sum() > top:  # every pair tied with the top-th strongest, so the name order below breaks ties
        keep &= np.abs(r) >= np.partition(np.abs(r[keep]), -top)[-top]
    pairs = [{"a": columns[i], "b": columns[j], "r": float(v)} for i, j, v in zip(first[keep], second[keep], r[keep])]
    pairs.sort(key=lambda pair: (-abs(pair["r"]), pair["a"], pair["b"]))
    return {"method": "pearson", "rows": len(frame), "columns": len(columns), "top_pairs": pairs[:top]}


def anomalous_rows(frame: pd.DataFrame, seed: int, top: int = TOP_ANOMALIES) -> list[dict]:
    """The ``top`` most anomalous rows by an Isolation Forest on the numeric features (negative score = anomalous).

    ``row`` is the row's position in the data; missing values are filled with the column median first.
    """
    if frame.shape[1] == 0 or len(frame) < 10:
        return []
    filled = frame.fillna(frame.median())
    forest = IsolationForest(n_estimators=100, random_state=seed).fit(filled.to_numpy())
    scores = forest.decision_function(filled.to_numpy())
    order = np.argsort(scores, kind="stable")[:top]
    return [{"row": int(frame.index[i]), "score": float(scores[i])} for i in order]
