"""Autopilot's words and AWS's limits, each defined once: problem types, objectives, modes, algorithms, statuses.

A leaf module: it imports nothing of the package, so every room can read it.
"""

from __future__ import annotations

# --- problem types and objective metrics -------------------------------------------------------------------------

REGRESSION = "Regression"
BINARY = "BinaryClassification"
MULTICLASS = "MulticlassClassification"
PROBLEM_TYPES = (REGRESSION, BINARY, MULTICLASS)

# Objective metrics Autopilot accepts per problem type; the first is its default.
OBJECTIVES = {
    REGRESSION: ("MSE", "MAE", "R2", "RMSE"),
    BINARY: ("F1", "Accuracy", "AUC", "BalancedAccuracy", "Precision", "Recall"),
    MULTICLASS: ("Accuracy", "BalancedAccuracy", "F1macro", "PrecisionMacro", "RecallMacro"),
}
OBJECTIVE_METRICS = frozenset(m for metrics in OBJECTIVES.values() for m in metrics)
MINIMIZED_OBJECTIVES = frozenset({"MSE", "MAE", "RMSE"})


def objective_direction(metric: str) -> str:
    """Autopilot's ``Type`` of an objective metric.

    Parameters
    ----------
    metric : str
        An objective metric's name, e.g. ``"MSE"`` or ``"F1"``.

    Returns
    -------
    str
        ``"Minimize"`` for the error metrics (MSE, MAE, RMSE), ``"Maximize"`` for every other.
    """
    return "Minimize" if metric in MINIMIZED_OBJECTIVES else "Maximize"


# --- modes and their algorithms ------------------------------------------------------------------------------------

AUTO, ENSEMBLING, HYPERPARAMETER_TUNING = "AUTO", "ENSEMBLING", "HYPERPARAMETER_TUNING"
MODES = (AUTO, ENSEMBLING, HYPERPARAMETER_TUNING)
TUNING_ALGORITHMS = ("xgboost", "linear-learner", "mlp")
ENSEMBLING_ALGORITHMS = ("lightgbm", "catboost", "xgboost", "randomforest", "extra-trees", "linear-learner",
                         "nn-torch", "fastai")
ALGORITHMS_BY_MODE = {HYPERPARAMETER_TUNING: TUNING_ALGORITHMS, ENSEMBLING: ENSEMBLING_ALGORITHMS}
AUTO_ENSEMBLING_BYTES = 100 * 2**20  # AUTO picks ENSEMBLING for data under 100 MB, as Autopilot does

# Autopilot's classification containers answer with any of these keys, chosen with SAGEMAKER_INFERENCE_OUTPUT
INFERENCE_KEYS = ("predicted_label", "probability", "probabilities", "labels")

# --- statuses ------------------------------------------------------------------------------------------------------

# AutoMLJobStatus and CandidateStatus share these values.
COMPLETED, IN_PROGRESS, FAILED, STOPPED, STOPPING = "Completed", "InProgress", "Failed", "Stopped", "Stopping"
STATUSES = (COMPLETED, IN_PROGRESS, FAILED, STOPPED, STOPPING)
TERMINAL_STATUSES = (COMPLETED, FAILED, STOPPED)
# The secondary statuses a search ends its job with (AutoMLJobSecondaryStatus); a stopped job's is STOPPED.
MAX_CANDIDATES_REACHED = "MaxCandidatesReached"
MAX_RUNTIME_REACHED = "MaxAutoMLJobRuntimeReached"

# --- Autopilot's defaults and AWS's limits ---------------------------------------------------------------------

MIN_TRAINING_ROWS = 500  # Autopilot refuses smaller training sets
CV_MAX_ROWS = 50_000  # Autopilot scores by 5-fold cross-validation up to this many rows, by holdout above
CV_FOLDS = 5
DEFAULT_MAX_CANDIDATES = 250  # the managed flow's default
MAX_CANDIDATES_LIMIT = 750
MAX_JOB_RUNTIME_LIMIT = 30 * 24 * 3600
MAX_JOB_NAME = 32  # AutoMLJobName
MAX_CANDIDATE_NAME = 64  # CandidateName
MAX_MESSAGE = 1024  # FailureReason, PartialFailureMessage

# --- the local account -----------------------------------------------------------------------------------------

ACCOUNT = "000000000000"
REGION = "local"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/autopilot-local"


def candidate_name(job_name: str, suffix: str) -> str:
    """A candidate's name: the job's, cut (as Autopilot cuts it) so that with ``suffix`` it fits AWS's 64 characters.

    Parameters
    ----------
    job_name : str
        The job's AutoMLJobName.
    suffix : str
        What names the candidate within the job, with its leading hyphen (``"-dpp3-xgboost-007-1a2b3c4d"``).
    """
    return job_name[: MAX_CANDIDATE_NAME - len(suffix)].rstrip("-") + suffix
