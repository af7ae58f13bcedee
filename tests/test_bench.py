"""The benchmark harness: the same split and scoring for every system, honest measurements, a readable table."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

from bench import harness, report
from bench.datasets import Dataset, datasets

TITANIC = datasets()["titanic"]


def _split(tmp_path, dataset: Dataset) -> harness.Split:
    return harness.prepare(dataset, tmp_path / dataset.name)


def test_split_is_fixed_stratified_and_without_the_target_in_the_test_file(tmp_path):
    first, again = _split(tmp_path, TITANIC), harness.prepare(TITANIC, tmp_path / "again")
    assert first.train.read_bytes() == again.train.read_bytes()
    test = pd.read_csv(first.test)
    assert TITANIC.target not in test.columns and len(test) == len(first.truth)
    train = pd.read_csv(first.train)
    shares = [frame.mean() for frame in (train[TITANIC.target], first.truth)]
    assert shares[0] == pytest.approx(shares[1], abs=0.01)


def test_regression_score_is_mse_with_its_standard_error(tmp_path):
    dataset = Dataset("toy", "", {}, "y", "Regression", "MSE")
    truth = pd.Series(np.linspace(0, 1, 50))
    split = harness.Split(dataset, tmp_path, tmp_path, truth, 100)
    predicted = truth + np.random.default_rng(0).normal(0, 0.1, 50)
    scored = harness.score(split, pd.DataFrame({"prediction": predicted}))
    assert scored["value"] == pytest.approx(metrics.mean_squared_error(truth, predicted))
    assert 0 < scored["se"] < scored["value"]


def test_binary_score_is_f1_of_the_sorted_last_label_with_auc(tmp_path):
    dataset = Dataset("toy", "", {}, "y", "BinaryClassification", "F1")
    truth = pd.Series(["bad", "good", "good", "bad", "good", "good"] * 10)
    proba_good = np.tile([0.2, 0.9, 0.4, 0.6, 0.8, 0.7], 10)
    predictions = pd.DataFrame({"prediction": np.where(proba_good > 0.5, "good", "bad"),
                                "proba_bad": 1 - proba_good, "proba_good": proba_good})
    scored = harness.score(harness.Split(dataset, tmp_path, tmp_path, truth, 100), predictions)
    assert scored["value"] == pytest.approx(metrics.f1_score(truth, predictions["prediction"], pos_label="good"))
    assert scored["auc"] == pytest.approx(metrics.roc_auc_score(truth == "good", proba_good))
    assert scored["se"] > 0


def test_measure_sees_the_memory_of_the_whole_process_tree(tmp_path):
    child = "import numpy as np, time; a = np.ones(200 * 2**20 // 8); time.sleep(1.5)"
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {child!r}], check=True)"
    measured = harness._measure([sys.executable, "-c", parent], tmp_path / "log", limit=60)
    assert measured["exit_code"] == 0
    assert measured["peak_rss_mb"] > 200
    assert measured["wall_s"] >= 1.5
    assert measured["cpu_s"] >= 0 and measured["other_cpu_cores"] >= 0


def test_a_run_over_its_limit_is_killed_and_reported(tmp_path):
    measured = harness._measure([sys.executable, "-c", "import time; time.sleep(30)"], tmp_path / "log", limit=1)
    assert measured["exit_code"] != 0 and measured["wall_s"] < 10


def test_our_runner_follows_the_protocol_and_keeps_the_budget(tmp_path):
    split = _split(tmp_path, TITANIC)
    record = harness.run(harness.SYSTEMS["autopilot_local"], split, 15, tmp_path / "run")
    assert not record.get("error"), record.get("error")
    assert 0.5 < record["value"] <= 1 and 0.5 < record["auc"] <= 1
    assert record["fit_s"] <= 15 * 1.02 + 1
    assert 0 < record["time_to_first_s"] < record["fit_s"]
    assert record["n_models"] >= 1 and record["best_model"].startswith("bench-")


def test_results_file_keeps_one_record_per_run_and_the_table_shows_ratios(tmp_path):
    path = tmp_path / "results.json"
    results = harness.load_results(path)
    base = {"dataset": "paris", "metric": "MSE", "n_test": 4305, "se": 0.002, "wall_s": 60.0}
    runs = [("flaml", 60, 0.080), ("autogluon_medium", 60, 0.074), ("autopilot_local", 60, 0.0777),
            ("autopilot_local", 60, 0.0740), ("lightgbm_untuned", None, 0.0801)]
    for system, budget, value in runs:
        harness.save_record(path, results, base | {"system": system, "budget_s": budget, "value": value})
    assert len(harness.load_results(path)["records"]) == 4  # the second autopilot_local run replaced the first
    assert harness.has_record(results, "flaml", "paris", 60) and not harness.has_record(results, "flaml", "paris", 300)
    table = report.render(harness.load_results(path))
    ours = next(line for line in table.splitlines() if "**autopilot_local**" in line)
    assert "| 0.0740 ± 0.0020 | 1.000 |" in ours  # 0.0740 / AutoGluon's 0.0740
    flaml = next(line for line in table.splitlines() if "| flaml |" in line)
    assert f"| {0.080 / 0.074:.3f} |" in flaml
