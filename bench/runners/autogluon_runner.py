"""AutoGluon-Tabular with a preset, on the raw frame: `python bench/runners/autogluon_runner.py TASK.json`.

System `autogluon_medium` uses presets="medium_quality", `autogluon_best` presets="best_quality". For classification
the target is cast to str so that AutoGluon's labels are the protocol's label strings; binary F1 takes the sorted-last
label as the positive class.
"""

from __future__ import annotations

import time
from pathlib import Path

import _protocol as protocol
from autogluon.tabular import TabularPredictor

PACKAGES = (
    "autogluon.tabular",
    "autogluon.core",
    "lightgbm",
    "catboost",
    "xgboost-cpu",
    "torch",
    "fastai",
    "ray",
    "scikit-learn",
    "pandas",
    "numpy",
)
PRESETS = {"autogluon_medium": "medium_quality", "autogluon_best": "best_quality"}
PROBLEM_TYPES = {"Regression": "regression", "BinaryClassification": "binary", "MulticlassClassification": "multiclass"}
METRICS = {"mse": "mean_squared_error", "f1": "f1", "accuracy": "accuracy"}


def first_model_s(predictor: TabularPredictor, fit_started: float) -> float | None:
    """Seconds from the start of fit() until the first model of the final predictor was saved.

    AutoGluon records no wall-clock end per model, but saves each model's `model.pkl` as soon as it is fit
    (a bagged model once all its folds are), so the earliest such file's mtime marks the first finished candidate.
    """
    models = Path(predictor.path) / "models"
    saved = [(models / name / "model.pkl").stat().st_mtime for name in predictor.model_names()]
    saved = [t for t in saved if t >= fit_started]
    return min(saved) - fit_started if saved else None


def main() -> None:
    task = protocol.read_task()
    preset = PRESETS[task.system]
    X, y, X_test = protocol.load_frames(task)
    labels = protocol.class_labels(y) if task.is_classification else None
    train = X.assign(**{task.target: y.map(str) if labels else y})
    predictor = TabularPredictor(
        label=task.target,
        problem_type=PROBLEM_TYPES[task.problem_type],
        eval_metric=METRICS[task.metric],
        path=str(task.workdir / f"autogluon_{preset}"),
        positive_class=labels[-1] if task.problem_type == "BinaryClassification" else None,
    )
    fit_started = time.time()
    started = time.perf_counter()
    predictor.fit(train, time_limit=task.budget_s, presets=preset)
    fit_s = time.perf_counter() - started

    started = time.perf_counter()
    prediction = predictor.predict(X_test)
    proba = predictor.predict_proba(X_test, as_multiclass=True)[labels].to_numpy() if labels else None
    predict_s = time.perf_counter() - started

    protocol.write_predictions(task, prediction.map(str) if labels else prediction, proba, labels)
    leaderboard = predictor.leaderboard(silent=True)
    protocol.write_info(
        task,
        fit_s=fit_s,
        predict_s=predict_s,
        time_to_first_s=first_model_s(predictor, fit_started),
        n_models=len(leaderboard),
        best_model=predictor.model_best,
        versions=protocol.versions(*PACKAGES),
        notes=(
            f"presets={preset!r}. time_to_first_s: mtime of the earliest saved model.pkl of the final predictor "
            "minus the start of fit() (a bagged model counts once all its folds are saved; with best_quality's "
            "dynamic stacking the hold-out sub-fit comes first and its models are not candidates). n_models: "
            "leaderboard rows, weighted ensembles included. Own fit seconds per model: "
            + ", ".join(f"{m} ({t:.1f}s)" for m, t in zip(leaderboard["model"], leaderboard["fit_time_marginal"]))
            + "."
        ),
    )


if __name__ == "__main__":
    main()
