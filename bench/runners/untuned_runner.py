"""The "no AutoML" line: generic column typing plus a default XGBoost or LightGBM model.

`python bench/runners/untuned_runner.py TASK.json` with system `xgboost_untuned` or `lightgbm_untuned`. Every typing
decision is made on the training frame alone and then applied to both frames:

- t/f columns -> 1.0/0.0; YYYY-MM-DD dates -> days since 1970-01-01; money, percent and number text -> float;
- other text columns with at most 100 distinct values -> categorical (levels = the training values, sorted; unseen
  test values become missing); the rest is free text and dropped, as are empty and constant columns.

XGBoost gets the categoricals as ordinal codes (OrdinalEncoder), LightGBM as pandas category dtype. Both use their
library defaults apart from threads and seed, and for classification the label codes of `_protocol.class_labels`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import _protocol as protocol
import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.preprocessing import OrdinalEncoder

PACKAGES = ("xgboost-cpu", "xgboost", "lightgbm", "scikit-learn", "pandas", "numpy")
MAX_LEVELS = 100
MATCH_SHARE = 0.95
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
NUMBER = re.compile(r"[$€£]?-?[\d,]*\.?\d+%?")
NUMBER_JUNK = re.compile(r"[$€£,%\s]")
EPOCH = pd.Timestamp("1970-01-01")


@dataclass(frozen=True)
class Typing:
    """Per-column kind decided on train: bool, date, number, numeric, category (with its levels) or dropped."""

    kinds: dict[str, str]
    levels: dict[str, list[str]]

    @property
    def categoricals(self) -> list[str]:
        return [c for c, k in self.kinds.items() if k == "category"]

    def summary(self) -> str:
        counts = pd.Series(self.kinds).value_counts()
        return ", ".join(f"{kind} {n}" for kind, n in counts.items())


def share_matching(values: pd.Series, pattern: re.Pattern[str]) -> float:
    """Share of values the pattern matches whole: a few odd cells must not stop a column from being parsed."""
    return float(values.map(lambda v: pattern.fullmatch(v) is not None).mean())


def decide(X: pd.DataFrame) -> Typing:
    """Each training column's kind, from its dtype and, for text, its values (rules in the module docstring)."""
    kinds: dict[str, str] = {}
    levels: dict[str, list[str]] = {}
    for name, column in X.items():
        if not protocol.is_text(column):
            kinds[name] = "numeric" if column.notna().any() else "dropped"
            continue
        values = column.dropna().astype(str).str.strip()
        distinct = values.unique()
        if len(distinct) <= 1:
            kinds[name] = "dropped"
        elif set(distinct) <= {"t", "f"}:
            kinds[name] = "bool"
        elif share_matching(values, DATE) >= MATCH_SHARE:
            kinds[name] = "date"
        elif share_matching(values, NUMBER) >= MATCH_SHARE:
            kinds[name] = "number"
        elif len(distinct) <= MAX_LEVELS:
            kinds[name] = "category"
            levels[name] = sorted(distinct)
        else:
            kinds[name] = "dropped"
    return Typing(kinds, levels)


def apply(typing: Typing, X: pd.DataFrame) -> pd.DataFrame:
    """The typed frame: numeric columns as float, categoricals as pandas category with the training levels."""
    out: dict[str, pd.Series] = {}
    for name, kind in typing.kinds.items():
        if kind == "numeric":
            out[name] = pd.to_numeric(X[name], errors="coerce").astype(float)
            continue
        text = X[name].astype("string").str.strip()
        if kind == "bool":
            out[name] = text.map({"t": 1.0, "f": 0.0}).astype(float)
        elif kind == "date":
            out[name] = (pd.to_datetime(text, format="%Y-%m-%d", errors="coerce") - EPOCH).dt.days.astype(float)
        elif kind == "number":
            out[name] = pd.to_numeric(text.str.replace(NUMBER_JUNK, "", regex=True), errors="coerce").astype(float)
        elif kind == "category":
            out[name] = pd.Series(pd.Categorical(text.astype(object), categories=typing.levels[name]), index=X.index)
    return pd.DataFrame(out, index=X.index)


def as_objects(X: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as plain objects with NaN for missing, the input OrdinalEncoder expects."""
    return X.astype(object).where(X.notna(), np.nan)


def ordinal_encoder(typing: Typing, X: pd.DataFrame) -> OrdinalEncoder:
    """Codes in the order of the training levels; missing and unseen values both become NaN, which XGBoost handles."""
    encoder = OrdinalEncoder(
        categories=[typing.levels[c] for c in typing.categoricals],
        handle_unknown="use_encoded_value",
        unknown_value=np.nan,
        encoded_missing_value=np.nan,
    )
    return encoder.fit(as_objects(X[typing.categoricals]))


def encode(typing: Typing, X: pd.DataFrame, encoder: OrdinalEncoder | None) -> pd.DataFrame:
    """The frame the model sees: with an encoder, categoricals are replaced by their ordinal codes."""
    if encoder is None:
        return X
    X = X.copy()
    X[typing.categoricals] = encoder.transform(as_objects(X[typing.categoricals]))
    return X.astype(float)


def model_for(task: protocol.Task) -> xgb.XGBModel | lgb.LGBMModel:
    if task.system == "xgboost_untuned":
        kind = xgb.XGBClassifier if task.is_classification else xgb.XGBRegressor
        return kind(tree_method="hist", n_jobs=task.n_jobs, random_state=task.seed)
    if task.system == "lightgbm_untuned":
        kind = lgb.LGBMClassifier if task.is_classification else lgb.LGBMRegressor
        return kind(n_jobs=task.n_jobs, random_state=task.seed, verbose=-1)
    raise ValueError(f"untuned_runner does not run system {task.system!r}")


def main() -> None:
    task = protocol.read_task()
    X, y, X_test = protocol.load_frames(task)
    labels = protocol.class_labels(y) if task.is_classification else None
    target = pd.Categorical(y.map(str), categories=labels).codes if labels else y.astype(float).to_numpy()
    model = model_for(task)
    ordinal = isinstance(model, xgb.XGBModel)

    started = time.perf_counter()
    typing = decide(X)
    train = apply(typing, X)
    encoder = ordinal_encoder(typing, train) if ordinal and typing.categoricals else None
    train = encode(typing, train, encoder)
    prep_s = time.perf_counter() - started
    model.fit(train, target)
    fit_s = time.perf_counter() - started

    started = time.perf_counter()
    test = encode(typing, apply(typing, X_test), encoder)
    if labels:
        proba = model.predict_proba(test)
        prediction = np.asarray(labels, dtype=object)[np.asarray(model.predict(test), dtype=int)]
    else:
        proba, prediction = None, model.predict(test)
    predict_s = time.perf_counter() - started

    protocol.write_predictions(task, prediction, proba, labels)
    encoding = "OrdinalEncoder codes" if ordinal else "pandas category dtype"
    protocol.write_info(
        task,
        fit_s=fit_s,
        predict_s=predict_s,
        time_to_first_s=fit_s,
        n_models=1,
        best_model=type(model).__name__,
        versions=protocol.versions(*PACKAGES),
        notes=(
            f"One default {type(model).__name__}; time_to_first_s = fit_s, which includes the column typing "
            f"({prep_s:.2f}s). Columns: {typing.summary()}; categoricals as {encoding}; "
            f"{train.shape[1]} features."
        ),
    )


if __name__ == "__main__":
    main()
