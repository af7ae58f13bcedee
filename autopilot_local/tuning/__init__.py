"""Autopilot's HYPERPARAMETER_TUNING mode: one Optuna study over (candidate pipeline, algorithm, hyperparameters).

- `algorithms`: XGBoost, linear learner and MLP, with Autopilot's hyperparameter names and ranges;
- `linear_learner`: Autopilot's linear learner on numpy;
- `trials`: one trial, what it is scored on and reports, and the `Executor` that runs claimed trials in forks;
- `study`: the study, asked and told in trial order, so a seed and MaxCandidates reproduce it;
- `queue`: the job's queue of trials in Optuna's storage, which any worker on any machine claims from;
- `worker`: a worker's side of a shared job.
"""

from ..model import FoldEnsemble  # noqa: F401  (models pickled before model.py name it as this package's)
from .algorithms import ALGORITHMS, Algorithm, Range
from .queue import TrialQueue, open_storage, shown_url
from .study import Outcome, create_study, in_memory_study, load_study, tune
from .trials import TRIALS_IN_FLIGHT, DataPlan, Executor, Settings, TrialResult, evaluate
from .worker import same_signature, signature

__all__ = [
    "ALGORITHMS", "Algorithm", "Range", "TrialQueue", "open_storage", "shown_url", "Outcome", "create_study",
    "in_memory_study", "load_study", "tune", "TRIALS_IN_FLIGHT", "DataPlan", "Executor", "Settings", "TrialResult",
    "evaluate", "same_signature", "signature",
]
