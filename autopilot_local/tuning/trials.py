"""One trial: what it is scored on, what it reports, and running it in forked children wherever it is claimed.

A trial fits one algorithm with one set of hyperparameters on a dpp's cached matrices, on every fold (or on the
training rows, scored on the holdout), and scores it with every metric of the problem type. The `Executor` runs
the trials a process claims from the job's queue, ``slots`` at once in `forks.ForkPool` children: a trial over
MaxRuntimePerTrainingJobInSeconds, or past the job's deadline, is killed outright.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..forks import ForkPool, error_text
from ..metrics import all_scores, score
from ..model import FoldEnsemble, in_fold_prediction, predict_raw
from ..vocabulary import COMPLETED, FAILED, REGRESSION, STOPPED, candidate_name, objective_direction
from .algorithms import ALGORITHMS
from .queue import BEAT, Entry, TrialQueue, this_worker

# Trial k is asked when trials 0..k-TRIALS_IN_FLIGHT are told. Four keep two workers busy while one runs a slow
# trial, and cost the sampler little: it misses at most the three latest results.
TRIALS_IN_FLIGHT = 4
DEADLINE_REASON = "stopped: the job reached MaxAutoMLJobRuntimeInSeconds"


def algorithm_name(candidate: str) -> str:
    """The algorithm of a candidate label: ``"dpp0-xgboost"`` -> ``"xgboost"``."""
    return candidate.split("-", 1)[1]


@dataclass
class DataPlan:
    """How candidates are scored: k-fold over the training rows, or a holdout validation set.

    Parameters
    ----------
    y_train : numpy.ndarray
        Encoded labels of the training rows.
    folds : list of (numpy.ndarray, numpy.ndarray), optional
        ``(fit rows, scored rows)`` of each fold for k-fold scoring; None for a holdout.
    y_valid : numpy.ndarray, optional
        Encoded labels of the holdout (or validation file) rows.
    n_classes : int, default 0
        The number of classes (0 for regression).
    """

    y_train: np.ndarray
    folds: list | None = None
    y_valid: np.ndarray | None = None
    n_classes: int = 0

    @property
    def kind(self) -> str:
        """How candidates are scored, in words."""
        return f"{len(self.folds)}-fold cross-validation" if self.folds else "holdout"


@dataclass
class Settings:
    """What a tuning run may do.

    Parameters
    ----------
    problem_type, objective : str
        The job's resolved problem type and objective metric.
    max_trials : int
        MaxCandidates.
    deadline : float, optional
        ``time.time()`` after which no trial may run (MaxAutoMLJobRuntimeInSeconds, less the job's other stages).
    per_trial_limit : float, optional
        MaxRuntimePerTrainingJobInSeconds.
    workers : int, default 1
        Trials this process runs at once.
    seed : int, default 0
        Seeds the sampler and every model.
    stop_file : str, optional
        When this file appears the tuning stops (StopAutoMLJob).
    trials_in_flight : int, default TRIALS_IN_FLIGHT
        Trial k is asked knowing the results of trials 0..k-trials_in_flight, so at most that many run at once
        across every worker, and a seed reproduces the search whatever the timing.
    """

    problem_type: str
    objective: str
    max_trials: int
    deadline: float | None = None
    per_trial_limit: float | None = None
    workers: int = 1
    seed: int = 0
    stop_file: str | None = None
    trials_in_flight: int = TRIALS_IN_FLIGHT

    @property
    def direction(self) -> str:
        """``"Minimize"`` or ``"Maximize"``: the objective's direction."""
        return objective_direction(self.objective)

    def better(self, value: float, than: float | None) -> bool:
        """Whether objective ``value`` beats ``than`` (anything beats None)."""
        if than is None:
            return True
        return value < than if self.direction == "Minimize" else value > than


@dataclass
class TrialResult:
    """One trial as the leaderboard lists it: its candidate, hyperparameters, status and scores."""

    number: int
    candidate: str  # "dpp0-xgboost"
    hyperparameters: dict
    status: str
    objective: float | None = None
    fold_objectives: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)  # every reported metric on the validation predictions
    train_metrics: dict = field(default_factory=dict)  # the same on the rows the models were fitted on
    failure_reason: str = ""
    started: float = 0.0
    ended: float = 0.0

    @property
    def dpp(self) -> str:
        """The candidate's dpp: ``"dpp0"`` of ``"dpp0-xgboost"``."""
        return self.candidate.split("-", 1)[0]

    @property
    def algorithm(self) -> str:
        """The candidate's algorithm: ``"xgboost"`` of ``"dpp0-xgboost"``."""
        return algorithm_name(self.candidate)

    @property
    def seconds(self) -> float:
        """How long the trial ran, in seconds."""
        return self.ended - self.started

    def candidate_name(self, job_name: str) -> str:
        """A unique, stable name that says which dpp and algorithm the candidate used ("<job>-dpp3-xgboost-007-…"),
        the job's name shortened where AWS's 64 characters require."""
        digest = hashlib.sha1(json.dumps([job_name, self.number, self.hyperparameters], sort_keys=True).encode())
        return candidate_name(job_name, f"-{self.dpp}-{self.algorithm}-{self.number:03d}-{digest.hexdigest()[:8]}")

    def to_dict(self) -> dict:
        """The result as JSON-ready data, one key per field."""
        return asdict(self)


def evaluate(matrices, candidate: str, params: dict, plan: DataPlan, settings: Settings, best_value=None):
    """Fit and score one trial.

    Parameters
    ----------
    matrices : (train, valid)
        The candidate's dpp matrices; ``valid`` is None under k-fold scoring.
    candidate : str
        The candidate label, ``"dppN-<algorithm>"``.
    params : dict
        The algorithm's hyperparameters, by Autopilot's names.
    plan : DataPlan
        How the trial is scored.
    settings : Settings
        The tuning's settings (problem type, objective, seed).
    best_value : float, optional
        The best objective so far: the fitted models come back only from a trial that beats it.

    Returns
    -------
    (TrialResult, FoldEnsemble or None)
        A Failed result (and no model) where fitting or scoring raised.
    """
    started = time.time()
    algorithm = ALGORITHMS[algorithm_name(candidate)]
    train, valid = matrices
    models, fold_objectives = [], []
    try:
        if plan.folds:
            prediction = None
            for fit_index, score_index in plan.folds:
                model = _fit(algorithm, train[fit_index], plan.y_train[fit_index], params, plan, settings,
                             (train[score_index], plan.y_train[score_index]))
                fold_prediction = predict_raw(model, train[score_index], settings.problem_type, plan.n_classes)
                if prediction is None:
                    prediction = np.zeros((len(plan.y_train),) + fold_prediction.shape[1:])
                prediction[score_index] = fold_prediction
                fold_objectives.append(score(settings.objective, plan.y_train[score_index], fold_prediction))
                models.append(model)
            y_scored = plan.y_train
            fit_rows = [fit_index for fit_index, _ in plan.folds]
        else:
            model = _fit(algorithm, train, plan.y_train, params, plan, settings, (valid, plan.y_valid))
            prediction = predict_raw(model, valid, settings.problem_type, plan.n_classes)
            models.append(model)
            y_scored = plan.y_valid
            fit_rows = [np.arange(len(plan.y_train))]
        if not np.all(np.isfinite(prediction)):
            raise FloatingPointError("the model's predictions are not finite (diverged)")
        metrics = all_scores(settings.problem_type, y_scored, prediction)
        inside = in_fold_prediction(models, fit_rows, train, settings.problem_type, plan.n_classes)
        train_metrics = all_scores(settings.problem_type, plan.y_train, inside)
    except Exception as error:
        result = TrialResult(0, candidate, params, FAILED, failure_reason=error_text(error),
                             started=started, ended=time.time())
        return result, None
    objective = metrics[settings.objective]
    result = TrialResult(0, candidate, params, COMPLETED, objective=objective, fold_objectives=fold_objectives,
                         metrics=metrics, train_metrics=train_metrics, started=started, ended=time.time())
    if not settings.better(objective, best_value):
        return result, None  # only a trial that may become the best ships its models back
    return result, FoldEnsemble(models, settings.problem_type, plan.n_classes)


def _fit(algorithm, X, y, params: dict, plan: DataPlan, settings: Settings, scoring_rows):
    """Fit one model; an algorithm that stops early watches ``scoring_rows`` (the rows it is scored on)."""
    estimator = algorithm.build(settings.problem_type, plan.n_classes, X.shape[1], params, settings.seed)
    if settings.problem_type != REGRESSION:
        y, scoring_rows = y.astype(int), (scoring_rows[0], scoring_rows[1].astype(int))
    if algorithm.early_stopping:
        return estimator.fit(X, y, eval_set=[scoring_rows], verbose=False)
    return estimator.fit(X, y)


@dataclass
class _Claim:
    """A claimed trial running in a child, and how it ends if killed at its limit."""

    entry: Entry
    status_if_killed: str
    reason_if_killed: str


class Executor:
    """Runs trials claimed from the queue in forked children, ``slots`` at once, each under its time limit, and
    hands their results in to the queue. The job's own process runs one beside its tuner; a worker runs one alone.

    Parameters
    ----------
    queue : TrialQueue
        The job's queue of trials.
    candidates : dict
        Each candidate label's cached (train, valid) matrices.
    plan : DataPlan
        How trials are scored.
    settings : Settings
        The tuning's settings.
    slots : int
        Trials run at once.
    best_value : callable, optional
        Returns the best objective so far, so that only a trial that may become the best ships its fitted models
        back; None: never ship them (a worker elsewhere, whose models the job's process refits if one wins).
    """

    def __init__(self, queue: TrialQueue, candidates: dict, plan: DataPlan, settings: Settings, slots: int,
                 best_value=None):
        self.queue, self.candidates, self.plan, self.settings = queue, candidates, plan, settings
        self.best_value = best_value
        self.pool = ForkPool(slots)
        self.worker = this_worker()
        self.beaten = time.time()

    @property
    def running(self) -> int:
        """Trials running in this process's children now."""
        return len(self.pool.running)

    def positions(self) -> set[int]:
        """The positions of the trials running here."""
        return {claim.entry.position for claim in self.pool.keys()}

    def fill(self) -> None:
        """Claim trials from the queue and start them until every slot is busy or the queue is empty."""
        while self.pool.free() > 0:
            entry = self.queue.claim(self.worker)
            if entry is None:
                return
            ships = self.best_value is not None
            limit, status, reason = _time_limit(self.settings.per_trial_limit, entry.deadline, time.time())
            self.pool.launch(_Claim(entry, status, reason), _run_claimed, self.candidates[entry.candidate], entry,
                             self.plan, self.settings, self.best_value() if ships else None, ships, limit=limit)

    def collect(self, timeout: float) -> list[tuple[int, TrialResult, object]]:
        """Wait up to ``timeout`` s for trials to end; hand in their results and return them as (position, result,
        model). A trial past its limit is killed and ends with the limit's status."""
        handed_in = []
        for finished in self.pool.collect(timeout):
            entry = finished.key.entry
            if finished.succeeded:
                result, model = finished.value
            else:
                status, reason = ((finished.key.status_if_killed, finished.key.reason_if_killed) if finished.timed_out
                                  else (FAILED, finished.error))
                result = TrialResult(entry.position, entry.candidate, entry.params, status, failure_reason=reason,
                                     started=finished.started, ended=finished.ended)
                model = None
            result.number, result.candidate, result.hyperparameters = entry.position, entry.candidate, entry.params
            if self.queue.complete(entry, result.to_dict()):  # else it was handed to another worker meanwhile
                handed_in.append((entry.position, result, model))
        if time.time() - self.beaten >= BEAT:
            self.beaten = time.time()
            self.queue.beat([claim.entry for claim in self.pool.keys()])
        return handed_in

    def stop(self) -> None:
        """Kill the trials running here."""
        self.pool.stop()


def _run_claimed(matrices, entry: Entry, plan: DataPlan, settings: Settings, best_value, ships: bool):
    result, model = evaluate(matrices, entry.candidate, entry.params, plan, settings, best_value)
    return result, model if ships else None


def _time_limit(per_trial: float | None, deadline: float | None, started: float) -> tuple[float | None, str, str]:
    """Seconds a trial started then may run, the status it gets if killed at that limit, and why."""
    to_deadline = deadline - started if deadline is not None else None
    if to_deadline is not None and (per_trial is None or to_deadline < per_trial):
        return max(to_deadline, 0.0), STOPPED, DEADLINE_REASON
    if per_trial is not None:
        return per_trial, FAILED, f"exceeded MaxRuntimePerTrainingJobInSeconds ({per_trial:g} s)"
    return None, FAILED, ""
