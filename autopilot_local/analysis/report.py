"""``analyze``: the data exploration report Autopilot writes before it trains, as one JSON-able dataclass.

Cheap counts (rows, missing values, cardinality, duplicates, the target) use every row, as Autopilot reports them;
per-column statistics use a seed-fixed sample of STATS_ROWS rows and the models (prediction power, anomalies,
correlations) one of MODEL_ROWS rows, so the report takes seconds even on hundreds of thousands of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from ..errors import InputError
from ..vocabulary import BINARY, REGRESSION
from ._common import is_stringish, jsonable, percent, sample_positions, subsample
from ._values import numeric_values
from .column_types import ColumnTypes, infer_column_types
from .insights import build_insights
from .prediction_power import prediction_power
from .problem_type import (
    check_problem_type,
    class_labels,
    infer_problem_type,
    shown_label,
    valid_target_mask,
)
from .statistics import (
    CORRELATION_MAX_COLUMNS,
    anomalous_rows,
    cardinality,
    classification_target_summary,
    correlations,
    descriptive_stats,
    duplicate_rows,
    missing_percent,
    numeric_frame,
    regression_target_summary,
)

STATS_ROWS = 20000
MODEL_ROWS = 10000
SAMPLE_RECORDS = 10


@dataclass
class ExplorationReport:
    """Autopilot's data exploration report: dataset properties, target analysis, column statistics, insights.

    Every field but ``column_types`` holds JSON types only (no numpy scalars, None for NaN).
    """

    rows: int
    columns: int
    column_names: list
    target: str
    problem_type: str
    problem_type_inferred: bool
    column_types: ColumnTypes
    target_missing_rows: int
    target_missing_percent: float
    target_summary: dict
    duplicate_rows: dict
    missing: dict
    cardinality: dict
    descriptive_stats: dict
    prediction_power: dict
    correlations: dict
    anomalous_rows: list
    sample: list
    parsed_from_text: dict
    sample_sizes: dict
    seed: int
    insights: list = field(default_factory=list)

    def to_dict(self) -> dict:
        """The report as JSON types (``json.dumps`` works on it)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["column_types"] = self.column_types.to_dict()
        return jsonable(out)

    @classmethod
    def from_dict(cls, data: dict) -> ExplorationReport:
        """Inverse of :meth:`to_dict`."""
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["column_types"] = ColumnTypes.from_dict(data["column_types"])
        return cls(**values)


def analyze(df: pd.DataFrame, target: str, problem_type: str | None = None, seed: int = 0) -> ExplorationReport:
    """Explore ``df`` for predicting ``target``; infer the problem type unless given. Deterministic given ``seed``."""
    if target not in df.columns:
        raise InputError(f"target column {target!r} is not in the data (columns: {', '.join(map(str, df.columns))})")
    types = infer_column_types(df, target, sample_rows=STATS_ROWS, seed=seed)
    inferred = problem_type is None
    problem_type = infer_problem_type(df[target]) if inferred else check_problem_type(problem_type)
    valid = valid_target_mask(df[target], problem_type)
    target_summary, targets = _target_analysis(df[target], valid, problem_type)
    invalid = int((~valid).sum())
    report = ExplorationReport(
        rows=len(df),
        columns=df.shape[1],
        column_names=list(df.columns),
        target=target,
        problem_type=problem_type,
        problem_type_inferred=inferred,
        column_types=types,
        target_missing_rows=invalid,
        target_missing_percent=percent(invalid, len(df)),
        target_summary=target_summary,
        duplicate_rows=duplicate_rows(df),
        missing=missing_percent(df),
        sample=[_record(df, int(p)) for p in sample_positions(len(df), SAMPLE_RECORDS, seed)],
        parsed_from_text=_parsed_from_text(df, types),
        seed=seed,
        **_model_sections(df, types, valid, targets, problem_type, seed),
    )
    report = ExplorationReport.from_dict(report.to_dict())
    report.insights = build_insights(report)
    return report


def _model_sections(df, types: ColumnTypes, valid, targets, problem_type: str, seed: int) -> dict:
    """The sampled sections: column statistics, prediction power, correlations, anomalous rows."""
    stats_rows = _rows(df, sample_positions(len(df), STATS_ROWS, seed))
    model_rows = _rows(df, subsample(np.flatnonzero(valid), MODEL_ROWS, seed))
    numeric = numeric_frame(_rows(df, sample_positions(len(df), MODEL_ROWS, seed)), types.numeric)
    anomalies = anomalous_rows(numeric, seed)
    power = _prediction_power(model_rows, targets, valid, problem_type, types, seed)
    return {
        "cardinality": cardinality(df, stats_rows, types.text),
        "descriptive_stats": descriptive_stats(stats_rows, types.numeric),
        "prediction_power": power,
        "correlations": correlations(_most_predictive(numeric, power, CORRELATION_MAX_COLUMNS)),
        "anomalous_rows": [{**a, "values": _record(df, a["row"])} for a in anomalies],
        "sample_sizes": {
            "statistics": len(stats_rows),
            "prediction_power": len(model_rows),
            "correlations_and_anomalies": len(numeric),
        },
    }


def _most_predictive(frame: pd.DataFrame, power: dict, limit: int) -> pd.DataFrame:
    """The ``limit`` columns of ``frame`` with the highest prediction power, in the frame's order."""
    if frame.shape[1] <= limit:
        return frame
    chosen = set(sorted(frame.columns, key=lambda c: -power.get(c, -1.0))[:limit])
    return frame[[c for c in frame.columns if c in chosen]]


def _rows(df: pd.DataFrame, positions: np.ndarray) -> pd.DataFrame:
    """The rows at ``positions``, indexed by their positions (so results name rows by position in the file)."""
    rows = df.iloc[positions]
    rows.index = positions
    return rows


def _target_analysis(target: pd.Series, valid: np.ndarray, problem_type: str) -> tuple[dict, np.ndarray]:
    """The target summary and the valid targets as model targets (floats, or class codes 0..k-1)."""
    name = target.name
    if not valid.any():
        raise InputError(f"target column {name!r} has no valid values for {problem_type}")
    if problem_type == REGRESSION:
        y = numeric_values(target)[valid]
        return regression_target_summary(y), y
    labels = class_labels(target[valid])
    summary = classification_target_summary(labels)
    if summary["n_classes"] < 2:
        only = shown_label(summary["classes"][0]["label"])
        raise InputError(
            f"target column {name!r} has a single class {only}: at least two are needed for {problem_type}"
        )
    if problem_type == BINARY and summary["n_classes"] != 2:
        raise InputError(
            f"target column {name!r} has {summary['n_classes']} classes; {BINARY} needs exactly two"
        )
    codes, _ = pd.factorize(labels.astype(str))
    return summary, codes.astype(np.int64)


def _prediction_power(sample, targets, valid, problem_type, types, seed) -> dict:
    """Prediction power on the model sample: the sample's rows are valid-target rows, so pick their targets."""
    valid_positions = np.flatnonzero(valid)
    picked = targets[np.searchsorted(valid_positions, sample.index.to_numpy())]
    features = set(types.features)
    features = sample[[c for c in sample.columns if c in features]]
    return prediction_power(features, picked, problem_type != REGRESSION, types, seed)


def _record(df: pd.DataFrame, position: int) -> dict:
    """One row as a JSON-able dict, with its position under "_row"."""
    row = df.iloc[position]
    return jsonable({"_row": position, **{column: row[column] for column in df.columns}})


def _parsed_from_text(df: pd.DataFrame, types: ColumnTypes) -> dict:
    """Columns stored as text that we read as numbers or dates."""
    return {
        "numeric": [c for c in types.numeric if is_stringish(df[c])],
        "datetime": [c for c in types.datetime if is_stringish(df[c])],
    }
