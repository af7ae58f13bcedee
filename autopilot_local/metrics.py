"""Autopilot's objective metrics, computed with scikit-learn on encoded labels."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from .vocabulary import BINARY, MULTICLASS, OBJECTIVES, REGRESSION


def score(metric: str, y_true: np.ndarray, prediction: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Value of an Autopilot metric, each row counting by its ``sample_weight`` where given.

    ``prediction`` is the raw model output: values for regression, class probabilities (n_rows x n_classes) for
    classification. Labels are the encoded 0..k-1 codes; class 1 is the positive class of a binary problem.
    """
    w = {"sample_weight": sample_weight}
    if metric in ("MSE", "RMSE", "MAE", "R2"):
        return _regression(metric, y_true, prediction, w)
    labels = np.argmax(prediction, axis=1)
    n_classes = prediction.shape[1]
    if metric == "Accuracy":
        return float(skm.accuracy_score(y_true, labels, **w))
    if metric == "BalancedAccuracy":
        return float(skm.balanced_accuracy_score(y_true, labels, **w))
    if metric == "AUC":
        two = len(np.unique(y_true)) == 2
        return float(skm.roc_auc_score(y_true, prediction[:, 1], **w)) if two else float("nan")
    if metric == "LogLoss":
        clipped = np.clip(prediction, 1e-15, 1)  # float32 models' probabilities sum to 1 only to float32 precision
        return float(skm.log_loss(y_true, clipped / clipped.sum(axis=1, keepdims=True), labels=np.arange(n_classes),
                                  **w))
    binary = {"F1": skm.f1_score, "Precision": skm.precision_score, "Recall": skm.recall_score}
    if metric in binary:
        return float(binary[metric](y_true, labels, pos_label=1, zero_division=0, **w))
    macro = {"F1macro": skm.f1_score, "PrecisionMacro": skm.precision_score, "RecallMacro": skm.recall_score}
    if metric in macro:
        return float(macro[metric](y_true, labels, average="macro", labels=np.arange(n_classes), zero_division=0,
                                   **w))
    raise ValueError(f"unknown metric {metric!r}")


def _regression(metric: str, y_true: np.ndarray, prediction: np.ndarray, w: dict) -> float:
    if metric == "MSE":
        return float(skm.mean_squared_error(y_true, prediction, **w))
    if metric == "RMSE":
        return float(np.sqrt(skm.mean_squared_error(y_true, prediction, **w)))
    if metric == "MAE":
        return float(skm.mean_absolute_error(y_true, prediction, **w))
    return float(skm.r2_score(y_true, prediction, **w))


def reported_metrics(problem_type: str) -> tuple[str, ...]:
    """The metrics a candidate reports (CandidateMetrics), as Autopilot does per problem type."""
    if problem_type == REGRESSION:
        return OBJECTIVES[REGRESSION]
    if problem_type == BINARY:
        return OBJECTIVES[BINARY] + ("LogLoss",)
    return OBJECTIVES[MULTICLASS] + ("LogLoss",)


def all_scores(problem_type: str, y_true: np.ndarray, prediction: np.ndarray,
               sample_weight: np.ndarray | None = None) -> dict[str, float]:
    """Every metric `reported_metrics` lists for ``problem_type``, by name, each as `score` computes it."""
    return {name: score(name, y_true, prediction, sample_weight) for name in reported_metrics(problem_type)}
