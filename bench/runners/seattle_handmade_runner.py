"""The hand-made pipeline of the original Autopilot comparison, replicated for the Seattle 2016-01 listings.

`python bench/runners/seattle_handmade_runner.py TASK.json` (regression on log1p(price)). It reads 20 raw columns
and builds 19 inputs: the dates host_since, first_review and last_review as days since the earliest training date;
accommodates, bathrooms, bedrooms, beds, guests_included, number_of_reviews; the number of amenities; the money
columns security_deposit, cleaning_fee and extra_people parsed; the mean of minimum_nights and maximum_nights; the
categoricals zipcode, property_type, room_type and bed_type; and the `summary` text. Numbers get median imputation
(and scaling), categoricals most-frequent imputation and one-hot encoding, the text TF-IDF plus TruncatedSVD(50);
the model is a default XGBRegressor.
"""

from __future__ import annotations

import time

import _protocol as protocol
import pandas as pd
import xgboost as xgb
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

PACKAGES = ("xgboost-cpu", "xgboost", "scikit-learn", "pandas", "numpy", "scipy")
DATES = ["host_since", "first_review", "last_review"]
COUNTS = ["accommodates", "bathrooms", "bedrooms", "beds", "guests_included", "number_of_reviews"]
MONEY = ["security_deposit", "cleaning_fee", "extra_people"]
CATEGORIES = ["zipcode", "property_type", "room_type", "bed_type"]
TEXT = "summary"
NUMERIC = [*DATES, *COUNTS, "amenities", *MONEY, "mean_num_nights"]


def money(column: pd.Series) -> pd.Series:
    """'$1,250.00' -> 1250.0; blanks and junk -> NaN."""
    return pd.to_numeric(column.astype("string").str.replace(r"[$,\s]", "", regex=True), errors="coerce").astype(float)


def amenity_count(value: object) -> int:
    """Items in an amenities set such as '{TV,"Cable TV",Internet}'; an empty or missing set counts 0."""
    if not isinstance(value, str):
        return 0
    return sum(1 for item in value.strip().strip("{}").split(",") if item.strip().strip('"'))


def features(frame: pd.DataFrame) -> pd.DataFrame:
    X = pd.DataFrame(index=frame.index)
    for name in DATES:
        X[name] = pd.to_datetime(frame[name], errors="coerce")
    for name in COUNTS:
        X[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    X["amenities"] = frame["amenities"].map(amenity_count).astype(float)
    for name in MONEY:
        X[name] = money(frame[name])
    nights = frame[["minimum_nights", "maximum_nights"]].apply(pd.to_numeric, errors="coerce")
    X["mean_num_nights"] = nights.mean(axis=1, skipna=False)
    for name in CATEGORIES:
        X[name] = protocol.as_text(frame[name])
    X[TEXT] = frame[TEXT].fillna("").astype(str)
    return X


def dates_as_days(X: pd.DataFrame, origins: dict[str, pd.Timestamp]) -> pd.DataFrame:
    X = X.copy()
    for name, origin in origins.items():
        X[name] = (X[name] - origin).dt.days.astype(float)
    return X


def pipeline(n_jobs: int, seed: int) -> Pipeline:
    columns = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            (
                "cat",
                make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                CATEGORIES,
            ),
            ("txt", make_pipeline(TfidfVectorizer(stop_words="english"), TruncatedSVD(50, random_state=42)), TEXT),
        ]
    )
    return make_pipeline(columns, xgb.XGBRegressor(n_jobs=n_jobs, random_state=seed))


def main() -> None:
    task = protocol.read_task()
    if task.is_classification:
        raise ValueError("seattle_handmade is a regression pipeline for the Seattle listings")
    X, y, X_test = protocol.load_frames(task)

    started = time.perf_counter()
    train = features(X)
    origins = {name: train[name].min() for name in DATES}
    model = pipeline(task.n_jobs, task.seed).fit(dates_as_days(train, origins), y.astype(float))
    fit_s = time.perf_counter() - started

    started = time.perf_counter()
    prediction = model.predict(dates_as_days(features(X_test), origins))
    predict_s = time.perf_counter() - started

    protocol.write_predictions(task, prediction)
    protocol.write_info(
        task,
        fit_s=fit_s,
        predict_s=predict_s,
        time_to_first_s=fit_s,
        n_models=1,
        best_model="XGBRegressor",
        versions=protocol.versions(*PACKAGES),
        notes=(
            f"Hand-made pipeline: {len(NUMERIC)} numeric and {len(CATEGORIES)} one-hot categorical inputs plus "
            "TF-IDF/SVD(50) of summary, default XGBRegressor; time_to_first_s = fit_s (feature building included)."
        ),
    )


if __name__ == "__main__":
    main()
