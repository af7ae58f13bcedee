"""The model performance report: its metrics are scikit-learn's on the candidate's own validation predictions."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import classification_frame, regression_frame
from sklearn import metrics as skm

from autopilot_local.artifacts import JobFolder, read_json
from autopilot_local.config import BINARY, MULTICLASS, REGRESSION, JobConfig
from autopilot_local.job import run_job
from autopilot_local.reports import performance

RNG = np.random.default_rng(0)


def _metrics(report: dict) -> dict:
    return {m["name"]: m["value"] for m in report["metrics"]}


def test_regression_metrics_are_scikit_learns():
    y = RNG.normal(10, 3, 500)
    prediction = y + RNG.normal(0, 1, 500)
    report = performance.build("c", REGRESSION, "MSE", y, prediction)
    expected = {"MSE": skm.mean_squared_error(y, prediction), "MAE": skm.mean_absolute_error(y, prediction),
                "R2": skm.r2_score(y, prediction), "RMSE": np.sqrt(skm.mean_squared_error(y, prediction))}
    assert _metrics(report) == pytest.approx(expected, rel=1e-12)
    spread = {m["name"]: m["standard_deviation"] for m in report["metrics"]}
    assert all(0 < s < abs(expected[name]) for name, s in spread.items())
    assert report["job_details"]["rows_evaluated"] == 500
    assert report["residuals"]["mean"] == pytest.approx(float(np.mean(y - prediction)))


def test_binary_metrics_curves_and_threshold_are_scikit_learns():
    y = RNG.integers(0, 2, 800)
    positive = np.clip(0.3 * y + RNG.uniform(0, 0.7, 800), 0, 1)
    prediction = np.column_stack([1 - positive, positive])
    weights = RNG.uniform(0.5, 2, 800)
    report = performance.build("c", BINARY, "F1", y, prediction, labels=("no", "yes"), sample_weight=weights)
    chosen = (positive > 0.5).astype(int)
    w = {"sample_weight": weights}
    expected = {
        "F1": skm.f1_score(y, chosen, **w), "Accuracy": skm.accuracy_score(y, chosen, **w),
        "AUC": skm.roc_auc_score(y, positive, **w), "BalancedAccuracy": skm.balanced_accuracy_score(y, chosen, **w),
        "Precision": skm.precision_score(y, chosen, **w), "Recall": skm.recall_score(y, chosen, **w),
        "LogLoss": skm.log_loss(y, prediction, **w),
    }
    assert _metrics(report) == pytest.approx(expected, rel=1e-12)
    assert report["threshold"] == 0.5 and report["labels"] == ["no", "yes"]
    assert report["confusion_matrix"] == skm.confusion_matrix(y, chosen).tolist()
    assert report["roc"]["auc"] == pytest.approx(skm.roc_auc_score(y, positive))
    assert report["precision_recall"]["auprc"] == pytest.approx(skm.average_precision_score(y, positive))
    assert report["gain"]["share_of_positives"][-1] == pytest.approx(1.0)
    assert report["lift"]["lift"][0] > 1.5  # the first decile holds far more positives than a random tenth


def test_multiclass_metrics_are_scikit_learns():
    y = RNG.integers(0, 3, 600)
    prediction = RNG.dirichlet([1, 1, 1], 600)
    prediction[np.arange(600), y] += 0.5
    prediction /= prediction.sum(axis=1, keepdims=True)
    report = performance.build("c", MULTICLASS, "Accuracy", y, prediction, labels=("a", "b", "c"))
    chosen = prediction.argmax(axis=1)
    expected = {
        "Accuracy": skm.accuracy_score(y, chosen), "BalancedAccuracy": skm.balanced_accuracy_score(y, chosen),
        "F1macro": skm.f1_score(y, chosen, average="macro"),
        "PrecisionMacro": skm.precision_score(y, chosen, average="macro"),
        "RecallMacro": skm.recall_score(y, chosen, average="macro"), "LogLoss": skm.log_loss(y, prediction),
    }
    assert _metrics(report) == pytest.approx(expected, rel=1e-12)
    assert np.asarray(report["confusion_matrix"]).sum() == 600


@pytest.mark.parametrize("mode", ["HYPERPARAMETER_TUNING", "ENSEMBLING"])
def test_a_job_reports_its_best_candidates_own_validation_score(tmp_path, mode):
    frame = classification_frame(n=600, classes=("<script>alert(1)</script>", "$yes$"))
    path = tmp_path / "churn.csv"
    frame.to_csv(path, index=False)
    config = JobConfig(data=str(path), target="label", output_dir=str(tmp_path / "jobs"), job_name="churn",
                       mode=mode, max_candidates=4, seed=0)
    described = run_job(config)
    best = described["BestCandidate"]
    folder = JobFolder(config.job_dir, config.job_name).model_insights(best["CandidateName"])
    report = read_json(folder / "report.json")
    assert _metrics(report)["F1"] == best["FinalAutoMLJobObjectiveMetric"]["Value"]  # the same predictions
    assert report["job_details"]["rows_evaluated"] == 600
    assert report["job_details"]["evaluated_on"] == "out of fold, 5-fold cross-validation"
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page  # class labels are text, never markup
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(images) == 5 and all(src.startswith("data:image/png;base64,") for src in images)  # offline


def test_a_regression_job_with_a_validation_file_reports_on_it(tmp_path):
    train, valid = tmp_path / "train.csv", tmp_path / "valid.csv"
    regression_frame(n=600).to_csv(train, index=False)
    regression_frame(n=300, seed=5).to_csv(valid, index=False)
    config = JobConfig(data=str(train), target="price", output_dir=str(tmp_path / "jobs"), job_name="homes",
                       validation_data=str(valid), max_candidates=3, seed=0)
    best = run_job(config)["BestCandidate"]
    report = read_json(JobFolder(config.job_dir, config.job_name).model_insights(best["CandidateName"])
                       / "report.json")
    assert report["job_details"]["rows_evaluated"] == 300
    assert _metrics(report)["MSE"] == best["FinalAutoMLJobObjectiveMetric"]["Value"]
    assert json.dumps(report, allow_nan=False)  # plain JSON: no NaN
    assert pd.notna(report["residuals"]["standard_deviation"])
