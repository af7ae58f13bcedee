"""ENSEMBLING mode: honest out-of-fold predictions, greedy weights, sample weights, the job's files and notebook."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import classification_frame, regression_frame
from sklearn.model_selection import KFold
from test_notebooks import _execute, _notebook, _printed
from test_resume import CLI

from autopilot_local import ensembling, job
from autopilot_local.cli import main
from autopilot_local.config import JobConfig
from autopilot_local.ensembling.bagging import fit_bagged
from autopilot_local.ensembling.families import FAMILIES
from autopilot_local.ensembling.selection import greedy_weights
from autopilot_local.errors import InputError
from autopilot_local.files import JobFolder, load_model, read_json
from autopilot_local.job import candidate_model_file, run_job
from autopilot_local.metrics import score
from autopilot_local.model import predict_raw
from autopilot_local.notebooks import candidate
from autopilot_local.predict import load_best_model
from autopilot_local.vocabulary import BINARY, ENSEMBLING, HYPERPARAMETER_TUNING, REGRESSION

FOLDS = list(KFold(5, shuffle=True, random_state=0).split(np.zeros(500)))


def _lookup_table(problem_type: str, n: int = 500):
    """A feature that names each row (a random key) and a target that is pure noise: a model can learn the
    target from the key for the rows it saw (perfect in fold) and nothing for the others (useless out of fold)."""
    rng = np.random.default_rng(0)
    key = rng.permutation(n).astype(float).reshape(-1, 1)
    y = rng.normal(size=n) if problem_type == REGRESSION else rng.integers(0, 2, n)
    return key, y


@pytest.mark.parametrize("family", ["lightgbm", "xgboost", "randomforest", "extra-trees", "linear-learner", "nn-torch",
                                    pytest.param("catboost", marks=pytest.mark.skipif(
                                        not FAMILIES["catboost"].available(), reason="the catboost extra"))])
@pytest.mark.parametrize("problem_type", [REGRESSION, BINARY])
def test_out_of_fold_predictions_never_see_their_own_rows(family, problem_type):
    X, y = _lookup_table(problem_type)
    n_classes = 0 if problem_type == REGRESSION else 2
    metric = "R2" if problem_type == REGRESSION else "AUC"
    model, oof, inside = fit_bagged(FAMILIES[family], FAMILIES[family].portfolio[0], X, y, None, FOLDS,
                                    problem_type, n_classes, seed=0)
    out_of_fold = score(metric, y, oof)
    assert out_of_fold < (0.05 if metric == "R2" else 0.6)  # what a model that never saw the row can do
    if family in ("randomforest", "extra-trees"):  # they memorise the keys: in fold the feature is near perfect
        np.testing.assert_array_equal(inside, model.predict_raw(X))  # fitted once, on every row
        assert score(metric, y, inside) > (0.2 if metric == "R2" else 0.95)
    else:  # each row's in-fold prediction averages the fold models fitted on it
        seen = [fit_rows for fit_rows, _ in FOLDS]
        row = seen[0][0]
        fold_models = [m for m, rows in zip(model.models, seen) if row in rows]
        expected = np.mean([predict_raw(m, X[row:row + 1], problem_type, n_classes) for m in fold_models], axis=0)
        np.testing.assert_allclose(inside[row:row + 1], expected, rtol=1e-12)


def test_stacking_and_ensembles_stay_out_of_fold():
    """Level 2 reads level 1's out-of-fold predictions, and the ensembles weigh out-of-fold predictions: no score
    on the leaderboard may beat what the noise allows, although the forests memorise every key."""
    X, y = _lookup_table(REGRESSION)
    plan = [ensembling.ModelSpec(name, 0, 1) for name in ("lightgbm", "xgboost", "extra-trees", "randomforest")]
    plan += [ensembling.ModelSpec("lightgbm", 0, 2), ensembling.ModelSpec("extra-trees", 0, 2)]
    data = ensembling.Data(views={"trees": X, "dense": X}, y=y, folds=FOLDS)
    outcome = ensembling.run(data, plan, ensembling.Settings(REGRESSION, "R2"))
    scores = {r.name: r.objective for r in outcome.results}
    assert {"ExtraTrees-BAG-L2", "WeightedEnsemble-L2", "WeightedEnsemble-L3"} <= set(scores)
    assert max(scores.values()) < 0.05, scores
    # forests' out-of-bag predictions come from trees grown on every row: level 2 must not stack on them
    assert outcome.stack_inputs == ["LightGBM-BAG-L1", "XGBoost-BAG-L1"]


def test_greedy_weights_are_non_negative_sum_to_one_and_never_lose_to_the_best_model():
    rng = np.random.default_rng(1)
    y = rng.normal(size=2000)
    a, b = y + rng.normal(0, 1, 2000), y + rng.normal(0, 1, 2000)  # independent errors: the blend halves them
    bad = y + rng.normal(0, 10, 2000)  # its errors are a hundred times larger: not worth a round
    weights = greedy_weights([a, b, bad], y, "MSE")
    assert np.all(weights >= 0) and weights.sum() == pytest.approx(1.0)
    assert weights[2] == 0 and weights[0] == pytest.approx(0.5, abs=0.1)
    blended = score("MSE", y, weights[0] * a + weights[1] * b + weights[2] * bad)
    assert blended < 0.6 * min(score("MSE", y, a), score("MSE", y, b))
    perfect = greedy_weights([bad, y.copy(), a], y, "MSE")
    assert perfect.tolist() == [0.0, 1.0, 0.0]


@pytest.fixture(scope="module")
def regression_job(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensembling")
    path = root / "homes.csv"
    regression_frame(n=700).to_csv(path, index=False)
    config = JobConfig(data=str(path), target="price", output_dir=str(root / "jobs"), job_name="homes-ensemble",
                       mode=ENSEMBLING, max_candidates=6, seed=0)
    return config, run_job(config)


def test_an_ensembling_job_lists_every_base_model_and_ensemble(regression_job):
    config, described = regression_job
    assert described["AutoMLJobStatus"] == "Completed"
    assert described["AutoMLProblemTypeConfig"]["TabularJobConfig"]["Mode"] == ENSEMBLING
    board = pd.read_csv(config.job_dir / "leaderboard.csv")
    plan = ensembling.default_plan(config.algorithms_for(ENSEMBLING), 6)
    expected = {f"homes-ensemble-{s.name}" for s in plan} | {"homes-ensemble-WeightedEnsemble-L2",
                                                              "homes-ensemble-WeightedEnsemble-L3"}
    assert set(board["candidate_name"]) == expected
    assert (board["status"] == "Completed").all()
    assert list(board["objective_value"]) == sorted(board["objective_value"])  # MSE, best first
    for weights in board["weights"].dropna():
        values = np.array(list(json.loads(weights).values()))
        assert np.all(values > 0) and values.sum() == pytest.approx(1.0)
    stacked = board.loc[board["level"] == 2, "stacked_on"].dropna()
    assert len(stacked) and all(json.loads(s) for s in stacked)
    listed = read_json(config.job_dir / "candidates.json")["Candidates"]
    assert [c["CandidateName"] for c in listed] == list(board["candidate_name"])
    best = described["BestCandidate"]
    assert best["CandidateName"] == board["candidate_name"][0]
    assert len(best["InferenceContainers"]) == 1  # ensembling: one container, as Autopilot's


def test_the_ensemble_predicts_raw_rows_with_its_out_of_fold_quality(regression_job):
    config, described = regression_job
    model = load_best_model(config.job_dir)
    fresh = regression_frame(n=400, seed=7)
    mse = score("MSE", fresh["price"].to_numpy(), model.predict(fresh.drop(columns="price")))
    reported = described["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["Value"]
    assert mse < 3 * reported  # the out-of-fold score is an honest estimate
    assert mse < 0.1 * np.var(fresh["price"])


def test_every_candidate_can_be_deployed_and_is_put_together_without_fitting(regression_job, monkeypatch):
    """Each completed candidate lists its InferenceContainers, as in Autopilot; a candidate other than the best gets
    its model from the base models the job kept, so its out-of-fold score holds on fresh rows. Put together the
    same way, the best predicts as its saved model (to the last bits of a sum taken in another order)."""
    config, described = regression_job
    listed = read_json(config.job_dir / "candidates.json")["Candidates"]
    assert all(len(c["InferenceContainers"]) == 1 for c in listed)
    for stage in ("prepare", "fit_transforms"):  # no data is read or transformed again, no model fitted
        monkeypatch.setattr(job, stage, None)
    fresh = regression_frame(n=400, seed=7)
    rows, truth = fresh.drop(columns="price"), fresh["price"].to_numpy()
    for other in listed[1:]:
        path = candidate_model_file(config.job_dir, other["CandidateName"])
        assert path.resolve() == Path(other["InferenceContainers"][0]["ModelDataUrl"]).resolve()
        model = load_model(path)
        assert model.name == other["CandidateName"]
        assert score("MSE", truth, model.predict(rows)) < 3 * other["FinalAutoMLJobObjectiveMetric"]["Value"]
    best = described["BestCandidate"]["CandidateName"]
    saved = load_best_model(config.job_dir)
    board = {row["candidate_name"]: row for row in csv.DictReader(open(config.job_dir / "leaderboard.csv"))}
    rebuilt = job._ensembled_candidate(JobFolder(config.job_dir), board[best])
    np.testing.assert_allclose(rebuilt.predict(rows), saved.predict(rows), rtol=1e-12)


def test_the_candidate_notebook_documents_and_reproduces_the_ensemble(regression_job):
    config, described = regression_job
    path = _notebook(config, candidate.NAME)
    executed = _execute(path)
    printed = _printed(executed)
    assert "Every score the same as the job's: yes" in printed
    best = described["BestCandidate"]
    assert f"Best: {best['CandidateName'].split('-', 2)[2]}" in printed
    text = "".join(c.source for c in executed.cells if c.cell_type == "markdown")
    assert "Stacking Layer" in text and "Tuning" not in text


def test_a_resumed_ensembling_job_keeps_its_finished_models(regression_job, tmp_path):
    config, described = regression_job
    folder = JobFolder(config.job_dir, config.job_name)
    saved = {p.name: p.stat().st_mtime_ns for p in folder.base_models.glob("*.joblib")}
    assert len(saved) == 6
    from autopilot_local.stages import prepare

    data = prepare(config)
    from autopilot_local.job import Job
    from autopilot_local.progress import Reporter

    job = Job(config, Reporter())
    done = job._fitted_models()
    assert set(done) == {s.name for s in data.plan}
    outcome = ensembling.run(ensembling.Data(views={}, y=data.y, folds=[]), data.plan,
                             ensembling.Settings(REGRESSION, "MSE"), done=done)
    assert outcome.best.objective == described["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["Value"]
    assert {p.name: p.stat().st_mtime_ns for p in folder.base_models.glob("*.joblib")} == saved


def _start_ensembling(data, output, name):
    command = CLI + ["run", str(data), "--target", "price", "--output", str(output), "--job-name", name,
                     "--mode", "ENSEMBLING", "--max-candidates", "8", "--quiet"]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")
def test_a_killed_ensembling_job_resumes_to_the_scores_of_an_unbroken_run(tmp_path):
    data = tmp_path / "homes.csv"
    regression_frame(n=600).to_csv(data, index=False)
    process = _start_ensembling(data, tmp_path, "killed")
    models = tmp_path / "killed" / "ensembling" / "models"
    deadline = time.time() + 120
    while time.time() < deadline and len(list(models.glob("*.joblib"))) < 3:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the job and every model it had forked
    process.wait()
    kept = {p.name: p.stat().st_mtime_ns for p in models.glob("*.joblib")}
    assert 3 <= len(kept) < 8
    assert main(["resume", str(tmp_path / "killed"), "--quiet"]) == 0
    assert read_json(tmp_path / "killed" / "job.json")["AutoMLJobStatus"] == "Completed"
    assert {name: mtime for name, mtime in ((p.name, p.stat().st_mtime_ns) for p in models.glob("*.joblib"))
            if name in kept} == kept  # finished before the kill: kept, not trained again
    unbroken = _start_ensembling(data, tmp_path, "unbroken")
    assert unbroken.wait(timeout=300) == 0, unbroken.stdout.read().decode()
    boards = [pd.read_csv(tmp_path / name / "leaderboard.csv") for name in ("killed", "unbroken")]
    for board in boards:
        board["candidate_name"] = board["candidate_name"].str.split("-", n=1).str[1]
    columns = ["candidate_name", "objective_value", "weights", "stacked_on"]
    pd.testing.assert_frame_equal(boards[0][columns], boards[1][columns])


def _corrupted(n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    frame = pd.DataFrame({"x": x, "noise": rng.normal(size=n), "y": 3 * x + rng.normal(0, 0.3, n)})
    corrupt = rng.random(n) < 0.3
    frame.loc[corrupt, "y"] = 60 - 3 * frame.loc[corrupt, "x"]  # the opposite slope on a third of the rows
    frame["w"] = np.where(corrupt, 0.0, 1.0)
    return frame


def test_zero_weights_take_a_corrupted_subset_out_of_the_fit(tmp_path):
    weighted, unweighted = tmp_path / "weighted.csv", tmp_path / "unweighted.csv"
    _corrupted(800, 0).to_csv(weighted, index=False)
    _corrupted(800, 0).drop(columns="w").to_csv(unweighted, index=False)  # the weights would tell the rows apart
    clean = _corrupted(400, 1)
    clean = clean[clean["w"] > 0]
    errors = {}
    for weight, path in (("w", weighted), (None, unweighted)):
        config = JobConfig(data=str(path), target="y", output_dir=str(tmp_path / "jobs"), mode=ENSEMBLING,
                           job_name=f"weighted-{bool(weight)}", sample_weight=weight, max_candidates=3, seed=0)
        described = run_job(config)
        model = load_best_model(config.job_dir)
        assert model.feature_columns == ["x", "noise"]  # the weight column is no feature
        errors[weight] = score("MSE", clean["y"].to_numpy(), model.predict(clean))
        reported = described["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["Value"]
        if weight:  # scored on the weighted rows: the clean ones
            assert reported < 1.0
    assert errors["w"] < 0.5 and errors["w"] < errors[None] / 20


def test_auto_picks_the_mode_by_size_and_records_it(tmp_path):
    config = JobConfig(data="x.csv", target="y", mode="AUTO")
    assert config.resolved_mode(10 * 2**20) == ENSEMBLING
    assert config.resolved_mode(200 * 2**20) == HYPERPARAMETER_TUNING
    assert config.algorithms_for(ENSEMBLING)[0] == "lightgbm"
    weighted = JobConfig(data="x.csv", target="y", mode="AUTO", sample_weight="w")
    with pytest.raises(InputError, match="ENSEMBLING mode only"):
        weighted.resolved_mode(200 * 2**20)
    path = tmp_path / "small.csv"
    classification_frame(n=600).to_csv(path, index=False)
    auto = JobConfig(data=str(path), target="label", output_dir=str(tmp_path / "jobs"), job_name="auto",
                     mode="AUTO", max_candidates=2)
    described = run_job(auto)
    assert described["AutoMLProblemTypeConfig"]["TabularJobConfig"]["Mode"] == ENSEMBLING
    assert read_json(auto.job_dir / "request.json")["AutoMLProblemTypeConfig"]["TabularJobConfig"]["Mode"] == "AUTO"


def test_a_request_carries_mode_and_sample_weight_both_ways():
    config = JobConfig(data="a.csv", target="y", job_name="w", mode=ENSEMBLING, sample_weight="w",
                       algorithms=("lightgbm", "extra-trees"))
    again = JobConfig.from_request(config.to_request())
    assert (again.mode, again.sample_weight, again.algorithms) == (ENSEMBLING, "w", ("lightgbm", "extra-trees"))
    v1 = {"AutoMLJobName": "w", "InputDataConfig": [{"DataSource": {"S3DataSource": {"S3Uri": "a.csv"}},
                                                     "TargetAttributeName": "y", "SampleWeightAttributeName": "w"}],
          "AutoMLJobConfig": {"Mode": "ENSEMBLING"}}
    assert JobConfig.from_request(v1).sample_weight == "w"


@pytest.mark.parametrize("settings, message", [
    ({"mode": HYPERPARAMETER_TUNING, "sample_weight": "w"}, "ENSEMBLING mode only"),
    ({"mode": HYPERPARAMETER_TUNING, "algorithms": ("lightgbm",)}, "not available in HYPERPARAMETER_TUNING"),
    ({"mode": ENSEMBLING, "algorithms": ("mlp",)}, "not available in ENSEMBLING"),
    ({"mode": ENSEMBLING, "storage": "postgresql://u@h/db"}, "one machine"),
    ({"mode": "FAST"}, "not one of"),
])
def test_settings_that_do_not_fit_the_mode_are_refused(settings, message):
    with pytest.raises(InputError, match=message):
        JobConfig(data="a.csv", target="y", **settings)


@pytest.mark.parametrize("value, shown", [("-1", "'-1'"), ("", "a missing value"), ("heavy", "'heavy'")])
def test_a_bad_sample_weight_names_its_row_and_exits_2(tmp_path, capsys, value, shown):
    frame = regression_frame(n=600)
    frame["w"] = "1"
    frame.loc[41, "w"] = value
    path = tmp_path / "weights.csv"
    frame.to_csv(path, index=False)
    code = main(["run", str(path), "--target", "price", "--mode", "ENSEMBLING", "--sample-weight", "w",
                 "--output", str(tmp_path / "jobs"), "--quiet"])
    error = capsys.readouterr().err
    assert code == 2 and "row 42" in error and "'w'" in error and shown in error
    assert not (tmp_path / "jobs").exists()
