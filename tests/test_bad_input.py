"""Awkward inputs end in one clear line (exit code 2, no job folder) or run to a sensible job, never in a crash."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from test_cli_errors import _assert_clean_failure, _run

FAST = ("--max-candidates", "2", "--algorithms", "xgboost", "--allow-small")


def _frame(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "y": 3 * x1 + x2 + rng.normal(0, 0.1, n)})


def _write(tmp_path, frame: pd.DataFrame, name: str = "data.csv", **to_csv):
    path = tmp_path / name
    frame.to_csv(path, index=False, **to_csv)
    return path


def _run_job(capsys, tmp_path, path, *extra, target: str = "y") -> dict:
    """Run the CLI to the end; return the job's exploration report with its job.json under "job"."""
    code, err = _run(capsys, path, "--target", target, "--output", tmp_path / "jobs", "--job-name", "bad-input",
                     *FAST, *extra)
    assert code == 0, err
    folder = tmp_path / "jobs" / "bad-input"
    job = json.loads((folder / "job.json").read_text())
    assert job["AutoMLJobStatus"] == "Completed", job.get("FailureReason")
    [report_path] = folder.glob("sagemaker-automl-candidates/*/exploration_report.json")
    return {**json.loads(report_path.read_text()), "job": job}


def _refused(capsys, tmp_path, path, *words, target: str = "y") -> None:
    code, err = _run(capsys, path, "--target", target, "--output", tmp_path / "jobs", *FAST)
    _assert_clean_failure(code, err, tmp_path / "jobs", path.name, *words)


def _dropped_rows(job: dict) -> str:
    return " ".join(r["PartialFailureMessage"] for r in job.get("PartialFailureReasons", []))


# 1. encodings --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["cp1252", "latin-1", "utf-16"])
def test_spreadsheet_encodings_are_decoded(tmp_path, capsys, encoding):
    frame = _frame().assign(city=lambda f: np.resize(["Zürich", "Málaga", "Köln", "café"], len(f)))
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame, encoding=encoding))
    assert report["column_names"] == ["x1", "x2", "y", "city"]
    assert report["column_types"]["categorical"] == ["city"]
    assert {row["city"] for row in report["sample"]} <= {"Zürich", "Málaga", "Köln", "café"}


def test_utf16_without_byte_order_mark_is_refused(tmp_path, capsys):
    path = tmp_path / "unicode.csv"
    path.write_bytes(_frame().to_csv(index=False).encode("utf-16-le"))
    _refused(capsys, tmp_path, path, "NUL bytes", "UTF-16")


# 2. delimiters -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_other_delimiters_are_detected(tmp_path, capsys, separator):
    frame = _frame().assign(district=lambda f: np.resize(["north", "south"], len(f)))
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame, sep=separator))
    assert report["column_names"] == ["x1", "x2", "y", "district"]
    assert report["column_types"]["numeric"] == ["x1", "x2"]
    assert report["problem_type"] == "Regression"


def test_semicolon_file_with_decimal_commas(tmp_path, capsys):
    report = _run_job(capsys, tmp_path, _write(tmp_path, _frame(), sep=";", decimal=","))
    assert report["column_types"]["numeric"] == ["x1", "x2"]
    assert report["parsed_from_text"]["numeric"] == []  # read as numbers, not as "1,5" strings parsed later
    assert report["target_summary"]["count"] == 300


# 3. mixed types ------------------------------------------------------------------------------------------------

def test_mixed_numbers_and_strings_in_a_column(tmp_path, capsys):
    frame = _frame()
    frame["mixed"] = np.resize(np.array(["12", "n/a", "abc", 3.5], dtype=object), len(frame))
    junk = frame["x1"].astype(object)
    junk[::25] = "abc"  # 4 % junk in a column of numbers
    frame["mostly_numbers"] = junk
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame))
    assert report["column_types"]["categorical"] == ["mixed"]  # a third of its values are words
    assert report["column_types"]["numeric"] == ["x1", "x2", "mostly_numbers"]  # the words become missing values


# 4. inf and -inf -----------------------------------------------------------------------------------------------

def test_infinite_feature_values_are_missing(tmp_path, capsys):
    frame = _frame().astype({"x2": object})
    frame.loc[::10, "x1"] = np.inf
    frame.loc[1::10, "x1"] = -np.inf
    frame.loc[2::10, "x2"] = "Infinity"
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame))
    assert report["column_types"]["numeric"] == ["x1", "x2"]
    assert report["descriptive_stats"]["x1"]["max"] < 10  # inf is read as missing, not as a value


def test_infinite_regression_targets_are_dropped_and_reported(tmp_path, capsys):
    frame = _frame()
    frame.loc[::20, "y"] = np.inf
    frame.loc[1::30, "y"] = -np.inf
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame))
    assert "dropped 25 rows" in _dropped_rows(report["job"])


def test_infinite_class_label_is_dropped_not_a_class(tmp_path, capsys):
    frame = _frame()
    frame["y"] = (frame["x1"] > 0).astype(float)
    frame.loc[::30, "y"] = np.inf
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame))
    assert report["problem_type"] == "BinaryClassification"
    assert "dropped 10 rows" in _dropped_rows(report["job"])


def test_target_that_is_only_infinite_is_refused(tmp_path, capsys):
    frame = _frame().assign(y=np.where(np.arange(300) % 2, np.inf, -np.inf))
    _refused(capsys, tmp_path, _write(tmp_path, frame), "'y'", "infinite")


# 5. columns that are all missing -------------------------------------------------------------------------------

def test_all_missing_feature_is_excluded(tmp_path, capsys):
    frame = _frame().assign(empty=np.nan, blank="  ", na="n/a")
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame))
    assert report["column_types"]["excluded"] == {"empty": "all missing", "blank": "all missing", "na": "all missing"}


def test_all_missing_target_is_refused(tmp_path, capsys):
    _refused(capsys, tmp_path, _write(tmp_path, _frame().assign(y=np.nan)), "'y'", "every row is missing")


# 6. a categorical column with 100,000 levels -------------------------------------------------------------------

@pytest.mark.parametrize("rows, expected", [
    (100_000, "excluded"),  # unique per row: an identifier, as Autopilot treats near-unique strings
    (150_000, "categorical"),  # repeated: a category whose levels are too rare to one-hot (all-zero block)
])
def test_hundred_thousand_levels(tmp_path, capsys, rows, expected):
    rng = np.random.default_rng(0)
    x1 = rng.normal(size=rows)
    levels = np.concatenate([np.arange(100_000), rng.integers(0, 100_000, rows - 100_000)])
    codes = np.char.add("c", rng.permutation(levels).astype(str))
    frame = pd.DataFrame({"x1": x1, "code": codes, "y": 2 * x1 + rng.normal(0, 0.1, rows)})
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame))
    assert report["cardinality"]["code"]["unique_values"] == 100_000
    if expected == "excluded":
        assert report["column_types"]["excluded"] == {"code": "ID-like (unique per row)"}
    else:
        assert report["column_types"]["categorical"] == ["code"]


# 7. rare and single classes ------------------------------------------------------------------------------------

def test_single_rare_class_runs(tmp_path, capsys):
    frame = _frame(1000).assign(y="a")
    frame.loc[7, "y"] = "b"
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame), "--algorithms", "xgboost,linear-learner")
    assert report["problem_type"] == "BinaryClassification"
    assert [c["count"] for c in report["target_summary"]["classes"]] == [999, 1]


def test_rare_third_class_runs_with_xgboost(tmp_path, capsys):
    frame = _frame(1000).assign(y=lambda f: np.where(f["x1"] > 0, "a", "b"))
    frame.loc[3, "y"] = "c"
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame))
    assert report["problem_type"] == "MulticlassClassification"


def test_one_class_only_is_refused_naming_it(tmp_path, capsys):
    _refused(capsys, tmp_path, _write(tmp_path, _frame().assign(y="a")), "'y'", "single class 'a'")


# 8. dates in three formats -------------------------------------------------------------------------------------

def test_dates_in_three_formats(tmp_path, capsys):
    frame = _frame()
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(len(frame)) * 3, unit="D")
    formats = ["%Y-%m-%d", "%m/%d/%Y", "%B %d, %Y"]
    frame["when"] = [day.strftime(formats[i % 3]) for i, day in enumerate(days)]
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame))
    assert report["column_types"]["datetime"] == ["when"]
    assert report["parsed_from_text"]["datetime"] == ["when"]


# 9. a wide table -----------------------------------------------------------------------------------------------

def test_five_thousand_columns(tmp_path, capsys):
    rng = np.random.default_rng(0)
    values = rng.normal(size=(200, 5000)).round(3)
    frame = pd.DataFrame(values, columns=[f"f{i}" for i in range(5000)])
    frame["y"] = 3 * values[:, 0] + values[:, 1] + rng.normal(0, 0.1, 200)
    report = _run_job(capsys, tmp_path, _write(tmp_path, frame), "--algorithms", "linear-learner",
                      "--max-candidates", "1")
    assert len(report["column_types"]["numeric"]) == 5000
    assert report["correlations"]["columns"] == 500  # the most predictive, not 12.5 million pairs
