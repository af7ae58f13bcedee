"""The tuning engine's speed devices: early stopping, the screening order, the portfolio, parallel transforms."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from conftest import regression_frame

from autopilot_local import JobConfig, tuning
from autopilot_local.model import transform_through
from autopilot_local.stages import fit_transforms, prepare, split_rows, tuning_settings
from autopilot_local.tuning import study as tuning_study
from autopilot_local.tuning import trials
from autopilot_local.tuning.algorithms import ALGORITHMS, XGBOOST
from autopilot_local.vocabulary import COMPLETED


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "homes.csv"
    regression_frame(n=500).to_csv(path, index=False)
    config = JobConfig(data=str(path), target="price", job_name="t", max_candidates=16, workers=2)
    data = prepare(config)
    plan, train_rows, valid_rows = split_rows(data, config)
    matrices, _, failures = fit_transforms(data, train_rows, valid_rows, workers=2)
    assert not failures
    return config, data, plan, matrices


def test_parallel_transforms_give_the_sequential_matrices(prepared):
    config, data, plan, matrices = prepared
    sequential, _, _ = fit_transforms(data, np.arange(len(data.features)), None, workers=1)
    assert list(sequential) == list(matrices)  # the definitions' order, whatever finished first
    for label, (train, _) in sequential.items():
        np.testing.assert_array_equal(_dense(train), _dense(matrices[label][0]))


def test_the_model_walks_every_dpp_as_scikit_learn_transforms_it(prepared):
    """`transform_through` (the walk that spares a single row scikit-learn's container overhead) gives every dpp's
    exact output, dense or sparse, for the whole table and for one row read as an endpoint reads it."""
    _, data, _, _ = prepared
    _, transforms, _ = fit_transforms(data, np.arange(len(data.features)), None, workers=1)
    rows = data.features.head(40)
    assert len(transforms) >= 3
    for label, transform in transforms.items():
        for part in (rows, rows.iloc[[7]].reset_index(drop=True)):
            walked, expected = transform_through(transform, part), transform.transform(part)
            assert sp.issparse(walked) == sp.issparse(expected), label
            np.testing.assert_array_equal(_dense(walked), _dense(expected), err_msg=label)


def _dense(matrix) -> np.ndarray:
    return matrix.toarray() if hasattr(matrix, "toarray") else np.asarray(matrix)


def test_xgboost_rounds_are_a_cap_that_early_stopping_cuts(prepared):
    config, data, plan, matrices = prepared
    X, _ = matrices["dpp0-xgboost"]
    fit_rows, score_rows = plan.folds[0]
    settings = tuning_settings(config, data)
    params = dict(XGBOOST.defaults, num_round=1024)
    model = trials._fit(XGBOOST, X[fit_rows], plan.y_train[fit_rows], params, plan, settings,
                        (X[score_rows], plan.y_train[score_rows]))
    assert model.best_iteration < 1023  # eta 0.3 on 400 rows stops long before the cap
    assert model.get_booster().num_boosted_rounds() < 1024


def test_screens_come_first_then_the_portfolio_runs_on_the_best_screened_pipeline(prepared):
    config, data, plan, matrices = prepared
    settings = tuning_settings(config, data)
    study, queue = tuning.in_memory_study("t", settings, list(matrices))
    outcome = tuning.tune(study, queue, matrices, plan, settings)
    labels = list(matrices)
    screens = outcome.trials[: len(labels)]
    order = [list(ALGORITHMS).index(t.algorithm) for t in screens]
    assert order == sorted(order)  # quick XGBoost screens first: the first candidate is cheap
    assert sorted(t.candidate for t in screens) == sorted(labels)
    assert all(t.hyperparameters == ALGORITHMS[t.algorithm].defaults for t in screens)
    # portfolio trial k sees the results up to k less the trials in flight; among the pipelines it sees that are
    # within 1% of the best, the narrowest come first: the first two configurations go to the first two
    # pipelines, the third to the first
    width = {label: train.shape[1] for label, (train, _) in matrices.items()}
    for offset, rank in ((0, 0), (1, 1), (2, 0)):
        position = len(labels) + offset
        best = {}
        for t in outcome.trials[: position - settings.trials_in_flight + 1]:
            if t.algorithm == "xgboost" and t.status == COMPLETED:
                best[t.candidate] = min(best.get(t.candidate, np.inf), t.objective)
        top = min(best.values())
        tied = sorted((c for c in best if best[c] <= 1.01 * top), key=lambda c: (width[c], best[c]))
        rest = sorted((c for c in best if best[c] > 1.01 * top), key=best.get)
        trial = outcome.trials[position]
        assert trial.candidate == (tied + rest)[rank]
        assert trial.hyperparameters == XGBOOST.portfolio[offset]


def test_a_trial_whose_suggestion_a_kill_cut_short_is_completed_on_resume(prepared):
    config, data, plan, matrices = prepared
    settings = tuning_settings(config, data)
    settings.max_trials = len(matrices) + 1
    study, queue = tuning.in_memory_study("t", settings, list(matrices))
    outcome = tuning.tune(study, queue, matrices, plan, dataclasses.replace(settings, max_trials=len(matrices)))
    assert len(outcome.trials) == len(matrices)
    cut = study.ask()  # the next trial, killed after choosing its candidate and before its hyperparameters
    chosen = cut.suggest_categorical(tuning_study.CANDIDATE_PARAM, list(matrices))
    resumed = tuning.tune(study, queue, matrices, plan, settings)
    last = resumed.trials[-1]
    assert last.status == COMPLETED, last.failure_reason
    algorithm = ALGORITHMS[chosen.split("-", 1)[1]]
    assert last.candidate == chosen and set(last.hyperparameters) == {r.name for r in algorithm.ranges}
