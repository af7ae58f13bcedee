"""The model performance report: its metrics are scikit-learn's on the candidate's own validation predictions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import classification_frame, regression_frame
from sklearn import metrics as skm

from autopilot_local import explain
from autopilot_local.cli import main
from autopilot_local.config import JobConfig
from autopilot_local.files import JobFolder, read_json
from autopilot_local.job import run_job
from autopilot_local.predict import load_best_model
from autopilot_local.reports import performance, treeshap
from autopilot_local.vocabulary import BINARY, MULTICLASS, REGRESSION

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
    assert {m["name"]: m["train_value"] for m in report["metrics"]}["F1"] == _candidate_metric(best, "F1", "Train")
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
    train_mse = _candidate_metric(best, "MSE", "Train")  # the one model's error on the rows it was fitted on
    model = load_best_model(config.job_dir)
    frame = regression_frame(n=600)
    assert train_mse == pytest.approx(skm.mean_squared_error(frame["price"], model.predict(frame)), rel=1e-6)


def _candidate_metric(candidate: dict, name: str, scored_on: str) -> float:
    (value,) = [m["Value"] for m in candidate["CandidateProperties"]["CandidateMetrics"]
                if m["StandardMetricName"] == name and m["Set"] == scored_on]
    return value


@pytest.mark.parametrize("mode", ["HYPERPARAMETER_TUNING", "ENSEMBLING"])
def test_every_candidate_reports_train_and_validation_metrics(tmp_path, mode):
    """Train metrics score each row by the models fitted on it: better than out of fold, where a model
    never saw the row."""
    path = tmp_path / "homes.csv"
    regression_frame(n=500).to_csv(path, index=False)
    config = JobConfig(data=str(path), target="price", output_dir=str(tmp_path / "jobs"), job_name="homes",
                       mode=mode, algorithms=("xgboost",), max_candidates=3, seed=0)
    run_job(config)
    candidates = read_json(JobFolder(config.job_dir, config.job_name).candidates_json)["Candidates"]
    assert candidates
    for candidate in candidates:
        metrics = candidate["CandidateProperties"]["CandidateMetrics"]
        assert {m["Set"] for m in metrics} == {"Train", "Validation"}
        assert {m["StandardMetricName"] for m in metrics if m["Set"] == "Train"} == \
            {m["StandardMetricName"] for m in metrics if m["Set"] == "Validation"}
        validation = _candidate_metric(candidate, "MSE", "Validation")
        assert validation == candidate["FinalAutoMLJobObjectiveMetric"]["Value"]
        assert _candidate_metric(candidate, "MSE", "Train") < validation


def _planted(n: int = 800, seed: int = 0) -> pd.DataFrame:
    """A target made of a strong column, a weaker one and a category; one column is pure noise."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"strong": rng.normal(size=n), "weak": rng.normal(size=n), "noise": rng.normal(size=n),
                          "kind": rng.choice(["a", "b", "c"], n)})
    frame["y"] = 2 * frame["strong"] + 0.7 * frame["weak"] + (frame["kind"] == "a") + rng.normal(0, 0.1, n)
    return frame


@pytest.fixture(scope="module")
def planted_jobs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("explain")
    regression, binary = root / "planted.csv", root / "planted-binary.csv"
    _planted().to_csv(regression, index=False)
    frame = _planted()
    frame["y"] = np.where(frame["y"] > 0.3, "high", "low")
    frame.to_csv(binary, index=False)
    settings = {
        "xgboost": dict(data=regression, algorithms=("xgboost",)),
        "mlp": dict(data=regression, algorithms=("mlp",)),
        "lightgbm-binary": dict(data=binary, mode="ENSEMBLING", algorithms=("lightgbm",)),
        "linear-learner": dict(data=regression, algorithms=("linear-learner",)),
        "linear-binary": dict(data=binary, algorithms=("linear-learner",)),
        "forest-binary": dict(data=binary, mode="ENSEMBLING", algorithms=("randomforest", "extra-trees")),
    }
    jobs = {}
    for name, extra in settings.items():
        config = JobConfig(target="y", output_dir=str(root / "jobs"), job_name=name, max_candidates=2, seed=0,
                           **{k: str(v) if k == "data" else v for k, v in extra.items()})
        run_job(config)
        jobs[name] = config.job_dir
    return jobs


def _members(model):
    """(weight, fold model, its input matrix) for every model inside a tuned or an ENSEMBLING model."""
    matrices = model.transform(_planted(300, seed=9).drop(columns="y"))
    estimator = model.estimator
    if hasattr(estimator, "weights"):
        bagged = [(weight, *estimator.models[name][:2]) for name, weight in estimator.weights.items()]
    else:
        bagged, matrices = [(1.0, estimator, None)], {None: matrices}
    return [(weight / len(b.models), fold, matrices[view]) for weight, b, view in bagged for fold in b.models]


def test_exact_treeshap_adds_up_to_the_models_output(planted_jobs):
    """Regression: the value; binary: the average log-odds of the boosted models, or the probability of forests."""
    rows = _planted(300, seed=9).drop(columns="y")
    regression = explain(planted_jobs["xgboost"], rows)
    assert regression.method == "exact TreeSHAP" and regression.scale == "predicted value"
    model = load_best_model(planted_jobs["xgboost"])
    in_float64 = sum(treeshap.predict(treeshap.forest_of(fold, share), X) for share, fold, X in _members(model))
    assert np.abs(regression.explained - in_float64).max() < 1e-9
    assert np.abs(regression.explained - model.predict_raw(rows)).max() < 1e-5  # XGBoost sums in float32
    binary = explain(planted_jobs["lightgbm-binary"], rows)
    assert binary.method == "exact TreeSHAP" and binary.scale.startswith("log-odds of 'low'")
    margin = sum(share * fold.predict(X, raw_score=True)
                 for share, fold, X in _members(load_best_model(planted_jobs["lightgbm-binary"])))
    assert np.abs(binary.explained - margin).max() < 1e-9
    forests = explain(planted_jobs["forest-binary"], rows)
    assert forests.method == "exact TreeSHAP" and forests.scale.startswith("probability of 'low'")
    probability = load_best_model(planted_jobs["forest-binary"]).predict_raw(rows)[:, 1]
    assert np.abs(forests.explained - probability).max() < 1e-9


def test_exact_linear_shap_adds_up_to_the_models_output(planted_jobs):
    """Regression: the value; binary: the fold models' average log-odds."""
    rows = _planted(300, seed=9).drop(columns="y")
    regression = explain(planted_jobs["linear-learner"], rows)
    assert regression.method == "exact linear SHAP" and regression.scale == "predicted value"
    assert np.abs(regression.explained - load_best_model(planted_jobs["linear-learner"]).predict_raw(rows)).max() \
        < 1e-9
    binary = explain(planted_jobs["linear-binary"], rows)
    assert binary.method == "exact linear SHAP" and binary.scale.startswith("log-odds of 'low'")
    log_odds = 0.0
    for share, fold, X in _members(load_best_model(planted_jobs["linear-binary"])):
        probability = fold.predict_proba(X)[:, 1]
        log_odds = log_odds + share * np.log(probability / (1 - probability))
    assert np.abs(binary.explained - log_odds).max() < 1e-9


def test_sampled_attributions_add_up_to_the_prediction(planted_jobs):
    rows = _planted(120, seed=9).drop(columns="y")
    explanation = explain(planted_jobs["mlp"], rows)
    assert explanation.method == "sampled permutation SHAP"
    model = load_best_model(planted_jobs["mlp"])
    assert np.abs(explanation.explained - model.predict_raw(rows)).max() < 1e-9


@pytest.mark.parametrize("job", ["xgboost", "mlp", "lightgbm-binary", "linear-learner", "forest-binary"])
def test_the_planted_column_ranks_first_and_noise_gets_next_to_nothing(planted_jobs, job):
    explanation = explain(planted_jobs[job], _planted(200, seed=3).drop(columns="y"))
    importance = pd.Series(np.abs(explanation.values).mean(axis=0), index=explanation.columns)
    assert importance.idxmax() == "strong"
    assert importance["noise"] < 0.1 * importance["strong"]
    assert importance["weak"] > importance["noise"]


def test_the_job_writes_the_explainability_report_where_its_candidate_points(planted_jobs):
    described = json.loads((planted_jobs["xgboost"] / "job.json").read_text())
    locations = described["BestCandidate"]["CandidateProperties"]["CandidateArtifactLocations"]
    report = read_json(Path(locations["Explainability"]) / "report.json")
    assert report["method"] == "exact TreeSHAP"
    assert 50 <= report["rows_explained"] <= 800  # as many as the time allowed (3 s without a budget) buys
    assert report["global_importance"][0]["feature"] == "strong"
    assert (Path(locations["ModelInsights"]) / "report.html").exists()
    page = (Path(locations["Explainability"]) / "report.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == 5  # bars, beeswarm, 3 dependence


def test_explain_on_the_command_line(planted_jobs, tmp_path, capsys):
    rows = tmp_path / "rows.csv"
    _planted(50, seed=4).to_csv(rows, index=False)
    output = tmp_path / "shap.csv"
    assert main(["explain", str(planted_jobs["mlp"]), str(rows), "--output", str(output)]) == 0
    frame = pd.read_csv(output)
    assert list(frame.columns) == ["base_value", "explained", "strong", "weak", "noise", "kind"]
    assert np.allclose(frame["base_value"] + frame[["strong", "weak", "noise", "kind"]].sum(axis=1),
                       frame["explained"])
    pd.DataFrame({"strong": [1.0]}).to_csv(rows, index=False)
    assert main(["explain", str(planted_jobs["mlp"]), str(rows)]) == 2
    assert "'weak'" in capsys.readouterr().err
