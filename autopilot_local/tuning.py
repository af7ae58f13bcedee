"""Multi-algorithm hyperparameter tuning: one Optuna study over (candidate pipeline, hyperparameters).

Each dpp's features are computed once before tuning, so a trial only fits the model. Trials run in forked
child processes: the cached matrices are shared copy-on-write, a trial over MaxRuntimePerTrainingJobInSeconds or
past the job's deadline is killed outright, and a crash in native code costs one trial, not the job.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import wait

import numpy as np
import optuna
from scipy import sparse

from .algorithms import ALGORITHMS, predict_raw
from .config import REGRESSION, objective_direction
from .forks import FORK, error_text
from .metrics import all_scores, score
from .trial_queue import BEAT, POLL, Entry, TrialQueue, this_worker

CANDIDATE_PARAM = "candidate"
MAX_CANDIDATE_NAME = 64
COMPLETED, FAILED, STOPPED = "Completed", "Failed", "Stopped"
# Trial k is asked when trials 0..k-SIGHT are told. Four keeps two workers busy while one runs a slow trial, and
# costs the sampler little: it misses at most the three latest results.
SIGHT = 4


@dataclass
class DataPlan:
    """How candidates are scored: k-fold over the training rows, or a holdout validation set."""

    y_train: np.ndarray  # encoded labels
    folds: list | None = None  # [(train_index, valid_index)] for k-fold; None for holdout
    y_valid: np.ndarray | None = None
    n_classes: int = 0

    @property
    def kind(self) -> str:
        return f"{len(self.folds)}-fold cross-validation" if self.folds else "holdout"


@dataclass
class Settings:
    problem_type: str
    objective: str
    max_trials: int
    deadline: float | None = None  # time.time() after which no trial may run
    per_trial_limit: float | None = None
    workers: int = 1
    seed: int = 0
    stop_file: str | None = None  # when this file appears the tuning stops (StopAutoMLJob)
    sight: int = SIGHT  # trial k is asked knowing trials 0..k-sight: at most `sight` trials run at once

    @property
    def direction(self) -> str:
        return objective_direction(self.objective)

    def better(self, value: float, than: float | None) -> bool:
        if than is None:
            return True
        return value < than if self.direction == "Minimize" else value > than


@dataclass
class TrialResult:
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
        return self.candidate.split("-", 1)[0]

    @property
    def algorithm(self) -> str:
        return _algorithm_name(self.candidate)

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    def candidate_name(self, job_name: str) -> str:
        """A unique, stable name that says which dpp and algorithm the candidate used ("<job>-dpp3-xgboost-007-…").

        AWS caps candidate names at 64 characters; a long job name is shortened, as Autopilot shortens it.
        """
        digest = hashlib.sha1(json.dumps([job_name, self.number, self.hyperparameters], sort_keys=True).encode())
        rest = f"-{self.dpp}-{self.algorithm}-{self.number:03d}-{digest.hexdigest()[:8]}"
        return job_name[: MAX_CANDIDATE_NAME - len(rest)].rstrip("-") + rest

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Outcome:
    trials: list
    best: TrialResult | None
    best_model: object | None  # the best trial's fitted model (a FoldEnsemble)
    stop_reason: str  # "MaxCandidatesReached" | "MaxAutoMLJobRuntimeReached" | "Stopped"


class FoldEnsemble:
    """The best trial's models, one per fold, averaged: Autopilot's k-fold candidates predict this way."""

    def __init__(self, models, problem_type: str, n_classes: int):
        self.models = models
        self.problem_type = problem_type
        self.n_classes = n_classes

    def predict_raw(self, X) -> np.ndarray:
        return np.mean([predict_raw(m, X, self.problem_type, self.n_classes) for m in self.models], axis=0)


def in_fold_prediction(models: list, fit_rows: list, X, problem_type: str, n_classes: int) -> np.ndarray:
    """Each training row's prediction by the models fitted on it, averaged: what the train metrics score, the
    in-sample counterpart of the out-of-fold prediction."""
    total, count = None, np.zeros(X.shape[0])
    for model, rows in zip(models, fit_rows):
        part = predict_raw(model, X[rows], problem_type, n_classes)
        if total is None:
            total = np.zeros((X.shape[0],) + part.shape[1:])
        total[rows] += part
        count[rows] += 1
    return total / count.reshape((-1,) + (1,) * (total.ndim - 1))


def signature(matrices) -> list:
    """A few numbers that say whether two machines computed the same (train, valid) matrices, up to rounding:
    per matrix its shape, missing cells, sum, sum of squares and a fixed random projection."""
    numbers: list = []
    for matrix in matrices:
        if matrix is None:
            numbers.append(None)
            continue
        rows, columns = matrix.shape
        random = np.random.default_rng(0)
        left, right = random.standard_normal(rows), random.standard_normal(columns)
        missing = total = squares = projection = 0.0
        for start in range(0, rows, 8192):  # in slices, so a dense copy never costs more than a few MB
            part = matrix[start:start + 8192]
            if sparse.issparse(part):
                part = sparse.csr_matrix(part, dtype=float, copy=True)
                missing += float(np.isnan(part.data).sum())
                part.data = np.nan_to_num(part.data)
                values = part.data
            else:
                part = np.asarray(part, dtype=float)
                missing += float(np.isnan(part).sum())
                part = values = np.nan_to_num(part)
            total, squares = total + float(values.sum()), squares + float((values**2).sum())
            projection += float(left[start:start + 8192] @ (part @ right))
        numbers.append([rows, columns, missing, total, squares, projection])
    return numbers


def same_signature(ours: list, theirs: list) -> bool:
    pairs = list(zip(ours, theirs))
    return len(ours) == len(theirs) and all(
        (a is None and b is None) or (a is not None and b is not None and np.allclose(a, b, rtol=1e-6, atol=1e-6))
        for a, b in pairs
    )


def create_study(storage, name: str, settings: Settings, candidates: list[str]) -> optuna.Study:
    """The job's study, with one enqueued default trial per candidate so every pipeline is tried early.

    Candidates are screened algorithm by algorithm, in `ALGORITHMS` order: the quick XGBoost screens come first,
    so the first candidate finishes within seconds and the portfolio (see `_Runner`) can pick its pipeline early.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = "minimize" if settings.direction == "Minimize" else "maximize"
    study = optuna.create_study(storage=storage, study_name=name, sampler=_sampler(settings, len(candidates), 0),
                                direction=direction)
    for candidate in sorted(candidates, key=lambda c: list(ALGORITHMS).index(_algorithm_name(c))):
        algorithm = ALGORITHMS[_algorithm_name(candidate)]
        defaults = {_param_key(algorithm.name, k): v for k, v in algorithm.defaults.items()}
        study.enqueue_trial({CANDIDATE_PARAM: candidate} | defaults)
    return study


def in_memory_study(name: str, settings: Settings, candidates: list[str]) -> tuple[optuna.Study, TrialQueue]:
    """A study and its queue held in memory, for a run that keeps nothing (the candidate notebook's)."""
    storage = optuna.storages.InMemoryStorage()
    return create_study(storage, name, settings, candidates), TrialQueue.create(storage, name, {})


def load_study(storage, name: str) -> optuna.Study:
    """A study created by `create_study`, to be continued (the runner picks up its trials)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.load_study(storage=storage, study_name=name)


def _sampler(settings: Settings, n_candidates: int, number: int) -> optuna.samplers.TPESampler:
    """The sampler that suggests trial ``number``: seeded by the job's seed and the trial's number, so a
    suggestion depends only on the trials told before it, not on how many the process has asked (a resumed job
    or another worker suggests what the first process would have)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=(settings.seed * 1_000_003 + number) % 2**32, multivariate=True, group=True,
            n_startup_trials=max(10, n_candidates),
        )


def tune(study: optuna.Study, queue: TrialQueue, candidates: dict, plan: DataPlan, settings: Settings,
         on_result=None) -> Outcome:
    """Run trials until MaxCandidates or the deadline; ``candidates`` maps "dppN-algo" to its cached matrices.

    This process asks and tells every trial; the trials themselves run wherever a worker claims them from
    ``queue``: in this process's own forked children (``settings.workers`` at once) and in any `worker` process
    that joined the job through the storage. Trials the study already holds are kept: told ones as they are, ones
    asked but never told (the job was killed) are taken from the queue, or run again with their own
    hyperparameters. ``on_result(result, best)`` is called with each `TrialResult` as it is told, the kept ones
    first.
    """
    runner = _Runner(study, queue, candidates, plan, settings, on_result)
    runner.run()
    best_model = runner.best_model
    if runner.best is not None and best_model is None:  # run elsewhere, or told before an interruption
        best = runner.best
        _, best_model = _evaluate(candidates[best.candidate], best.candidate, best.hyperparameters, plan, settings,
                                  None)
    return Outcome(runner.results, runner.best, best_model, runner.stop_reason)


class _Runner:
    """Asks and tells trials in a sliding window; the queue's workers run them.

    When trial k is asked, exactly trials 0..k-sight have been told (in trial order), whatever finished early:
    every suggestion sees the same history whatever the timing and however many workers run, so a seed and a
    trial budget reproduce the study. Within that rule a trial is asked and queued as soon as it may be.
    """

    # After the screening trials (one per candidate) come the algorithms' portfolios. Screens rank pipelines
    # roughly: pipelines within TIE of the best count as tied, the narrowest (cheapest to fit) first, and the
    # first two configurations go to the two first pipelines of their algorithm, the later ones to the first,
    # as far as trial k can see.
    SPREAD = 2
    TIE = 0.01

    def __init__(self, study, queue, candidates, plan, settings, on_result):
        self.study, self.queue, self.candidates, self.plan, self.settings = study, queue, candidates, plan, settings
        self.on_result = on_result
        self.labels = list(candidates)
        present = {_algorithm_name(label) for label in self.labels}
        self.portfolio = [(a.name, config) for a in ALGORITHMS.values() if a.name in present for config in a.portfolio]
        self.executor = Executor(queue, candidates, plan, settings, settings.workers, best_value=self._best_value)
        self.asked: list = []  # (trial, candidate, params) in trial order
        self.finished: dict = {}  # position -> (result, model), not yet told
        self.results, self.best, self.best_model = [], None, None
        self.stop_reason = "MaxCandidatesReached"
        self.deadline_hit = False
        self.beaten = 0.0  # when the leader last said it is alive
        self._keep_study_trials()

    def _keep_study_trials(self) -> None:
        """Take over the trials a study already holds (a resumed job), in trial order."""
        states = optuna.trial.TrialState
        for frozen in sorted(self.study.get_trials(deepcopy=False), key=lambda t: t.number):
            if frozen.state == states.WAITING:  # enqueued, never asked: asked in turn
                continue
            told = frozen.state in (states.COMPLETE, states.FAIL)
            if not told:  # suggested again: what was stored reads back, what a kill cut short is drawn anew
                self.study.sampler = _sampler(self.settings, len(self.labels), frozen.number)
            # Optuna has no public handle on a running trial of a stored study; its id makes one
            trial = optuna.trial.Trial(self.study, frozen._trial_id)
            candidate, params = _decode(frozen.params) if told else _suggest(trial, self.labels)
            self.asked.append((trial, candidate, params))
            if told:
                result = _result_of(frozen, candidate, params)
                self.results.append(result)
                if result.status == COMPLETED and self.settings.better(result.objective, self._best_value()):
                    self.best = result
                if self.on_result:
                    self.on_result(result, self.best)
        self._poll_queue()
        queued = {e.user_attrs["position"] for e in self.queue.entries() if e.state != states.FAIL}
        for position in range(len(self.results), len(self.asked)):
            if position not in queued:  # asked, then killed before it was queued
                self._publish(position)

    def _best_value(self) -> float | None:
        return self.best.objective if self.best else None

    def run(self) -> None:
        try:
            while True:
                while self._may_ask():
                    position = len(self.asked)
                    self._tell_up_to(position - self.settings.sight)
                    self._ask(position)
                    self._publish(position)
                if self._stop_requested():
                    raise KeyboardInterrupt
                if self._past_deadline():
                    self._give_up_elsewhere()
                if len(self.results) + len(self.finished) == len(self.asked):
                    break
                if not self._past_deadline():
                    self.executor.fill()
                elsewhere = len(self.asked) - len(self.results) - len(self.finished) > len(self.executor.running)
                for position, outcome in self.executor.collect(timeout=POLL if elsewhere else 1.0):
                    self._finish(position, *outcome)
                self._poll_queue()
                self._beat()
        except KeyboardInterrupt:
            self.executor.stop()
            self.stop_reason = "Stopped"
        self._tell_up_to(len(self.asked) - 1)
        if self.stop_reason == "Stopped":
            return
        if self.deadline_hit or (len(self.results) < self.settings.max_trials and self._past_deadline()):
            self.stop_reason = "MaxAutoMLJobRuntimeReached"

    def _past_deadline(self) -> bool:
        return self.settings.deadline is not None and time.time() >= self.settings.deadline

    def _stop_requested(self) -> bool:
        return self.settings.stop_file is not None and os.path.exists(self.settings.stop_file)

    def _may_ask(self) -> bool:
        position = len(self.asked)
        return (
            position < self.settings.max_trials
            and all(p in self.finished for p in range(len(self.results), position - self.settings.sight + 1))
            and not self.deadline_hit
            and not self._past_deadline()
        )

    def _ask(self, position: int) -> None:
        self._enqueue_portfolio(position)
        self.study.sampler = _sampler(self.settings, len(self.labels), position)
        trial = self.study.ask()
        candidate, params = _suggest(trial, self.labels)
        self.asked.append((trial, candidate, params))

    def _publish(self, position: int) -> None:
        _, candidate, params = self.asked[position]
        self.queue.publish(position, candidate, params, self.settings.deadline)

    def _finish(self, position: int, result: TrialResult, model) -> None:
        if position < len(self.results) or position in self.finished:
            return  # a second result for one trial (a worker thought lost came back): the first stands
        self.finished[position] = (result, model)
        self.deadline_hit |= result.status == STOPPED

    def _poll_queue(self) -> None:
        """Take results that workers elsewhere handed in, and hand trials whose worker vanished to another."""
        now = time.time()
        for entry in self.queue.entries():
            position = entry.user_attrs["position"]
            if position < len(self.results) or position in self.finished:
                continue
            if entry.state == optuna.trial.TrialState.COMPLETE:
                self._finish(position, TrialResult(**entry.user_attrs["result"]), None)
            elif self.queue.is_stale(entry, now) and self.queue.retire(entry):
                self._publish(position)

    def _give_up_elsewhere(self) -> None:
        """Past the deadline, a trial running elsewhere counts as stopped now: the job ends on time whatever a
        remote worker does (its workers stop their trials at the same deadline)."""
        local = self.executor.positions()
        reason = "stopped: the job reached MaxAutoMLJobRuntimeInSeconds"
        for position in range(len(self.results), len(self.asked)):
            if position not in local:
                now = time.time()
                self._finish(position, TrialResult(0, "", {}, STOPPED, failure_reason=reason, started=now, ended=now),
                             None)

    def _beat(self) -> None:
        if time.time() - self.beaten >= BEAT:
            self.beaten = time.time()
            self.queue.update(leader_beat=self.beaten)

    def _enqueue_portfolio(self, position: int) -> None:
        index = position - len(self.labels)
        if not 0 <= index < len(self.portfolio):
            return
        if self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
            return  # enqueued before an interruption: asked now
        algorithm, config = self.portfolio[index]
        best: dict = {}  # candidate -> its best objective, over exactly trials 0..position-sight (not timing)
        for result in self.results:
            if result.status == COMPLETED and result.algorithm == algorithm and self.settings.better(
                result.objective, best.get(result.candidate)
            ):
                best[result.candidate] = result.objective
        ranked = sorted(best, key=best.get, reverse=self.settings.direction != "Minimize")
        if ranked:
            top = best[ranked[0]]
            tied = [c for c in ranked if abs(best[c] - top) <= self.TIE * abs(top)]
            ranked = sorted(tied, key=lambda c: self.candidates[c][0].shape[1]) + ranked[len(tied):]
            candidate = ranked[min(index if index < self.SPREAD else 0, len(ranked) - 1)]
            params = {_param_key(algorithm, k): v for k, v in config.items()}
            self.study.enqueue_trial({CANDIDATE_PARAM: candidate} | params)

    def _tell_up_to(self, last: int) -> None:
        """Tell the study the results of trials up to ``last`` in trial order, stopping at one still running."""
        while len(self.results) <= last and len(self.results) in self.finished:
            position = len(self.results)
            result, model = self.finished.pop(position)
            trial, candidate, params = self.asked[position]
            result.number, result.candidate, result.hyperparameters = trial.number, candidate, params
            _tell(self.study, trial, result)
            self.results.append(result)
            if result.status == COMPLETED and self.settings.better(result.objective, self._best_value()):
                self.best, self.best_model = result, model
            if self.on_result:
                self.on_result(result, self.best)


def _algorithm_name(candidate: str) -> str:
    return candidate.split("-", 1)[1]


def _param_key(algorithm: str, name: str) -> str:
    # Algorithms share some hyperparameter names (learning_rate, wd) with different ranges: keep them apart.
    return f"{algorithm}.{name}"


def _suggest(trial: optuna.Trial, labels: list[str]) -> tuple[str, dict]:
    candidate = trial.suggest_categorical(CANDIDATE_PARAM, labels)
    algorithm = ALGORITHMS[_algorithm_name(candidate)]
    params = {}
    for r in algorithm.ranges:
        key = _param_key(algorithm.name, r.name)
        if r.integer:
            params[r.name] = trial.suggest_int(key, int(r.low), int(r.high), log=r.log)
        else:
            params[r.name] = trial.suggest_float(key, r.low, r.high, log=r.log)
    return candidate, params


def _decode(stored: dict) -> tuple[str, dict]:
    """The candidate and hyperparameters of a stored trial's parameters (the inverse of `_suggest`)."""
    candidate = stored[CANDIDATE_PARAM]
    prefix = _param_key(_algorithm_name(candidate), "")
    return candidate, {k[len(prefix):]: v for k, v in stored.items() if k.startswith(prefix)}


_RECORDED = ("status", "failure_reason", "metrics", "train_metrics", "fold_objectives", "started", "ended")


def _result_of(frozen: optuna.trial.FrozenTrial, candidate: str, params: dict) -> TrialResult:
    """A told trial's `TrialResult`, as `_tell` recorded it."""
    recorded = {key: frozen.user_attrs[key] for key in _RECORDED if key in frozen.user_attrs}
    return TrialResult(frozen.number, candidate, params, objective=frozen.value, **recorded)


def _tell(study: optuna.Study, trial: optuna.Trial, result: TrialResult) -> None:
    for key in _RECORDED:
        trial.set_user_attr(key, getattr(result, key))
    if result.status == COMPLETED:
        study.tell(trial, result.objective)
    else:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)


# --- running trials --------------------------------------------------------------------------------------------



class Executor:
    """Runs trials claimed from the queue in forked children, ``slots`` at once, each under its time limit, and
    hands their results in to the queue. The job's own process runs one beside its tuner; a worker runs one alone.
    """

    def __init__(self, queue: TrialQueue, candidates: dict, plan: DataPlan, settings: Settings, slots: int,
                 best_value=None):
        self.queue, self.candidates, self.plan, self.settings, self.slots = queue, candidates, plan, settings, slots
        # the best objective so far, so that only a trial that may become the best ships its fitted models back;
        # None: never ship them (a worker elsewhere, whose models the job's process refits if one wins)
        self.best_value = best_value
        self.worker = this_worker()
        self.running: dict = {}  # receiver -> (entry, process, started, killed at, status if killed, why)
        self.done: list = []  # (entry, outcome) of trials run in this process where fork is unavailable
        self.beaten = time.time()

    def positions(self) -> set[int]:
        return {entry.position for entry, *_ in self.running.values()}

    def fill(self) -> None:
        while len(self.running) < self.slots and not self.done:
            entry = self.queue.claim(self.worker)
            if entry is None:
                return
            self._launch(entry)

    def _launch(self, entry: Entry) -> None:
        ships = self.best_value is not None
        best = self.best_value() if ships else None
        task = (self.candidates[entry.candidate], entry.candidate, entry.params, self.plan, self.settings, best)
        if FORK is None:
            self.done.append((entry, _evaluate(*task)))  # no hard limits where fork is unavailable
            return
        receiver, sender = FORK.Pipe(duplex=False)
        process = FORK.Process(target=_child, args=(sender, task, ships), daemon=True)
        process.start()
        sender.close()
        started = time.time()
        limit, status, reason = _time_limit(self.settings.per_trial_limit, entry.deadline, started)
        ends = started + limit if limit is not None else None
        self.running[receiver] = (entry, process, started, ends, status, reason)

    def collect(self, timeout: float) -> list:
        """Wait up to ``timeout`` s for trials to end; hand in their results and return them as
        (position, (result, model)) pairs. A trial past its limit is killed and ends with the limit's status."""
        ended, self.done = self.done, []
        if not self.running and not ended:
            time.sleep(timeout)
        elif self.running:
            now = time.time()
            limits = [entry[3] - now for entry in self.running.values() if entry[3] is not None]
            for receiver in wait(list(self.running), timeout=max(0.0, min([timeout, *limits]))):
                entry, process, started, *_ = self.running.pop(receiver)
                ended.append((entry, _receive(receiver, process, started)))
        now = time.time()
        for receiver, (entry, process, started, ends, status, reason) in list(self.running.items()):
            if ends is not None and now >= ends:
                process.kill()
                process.join()
                del self.running[receiver]
                result = TrialResult(0, "", {}, status, failure_reason=reason, started=started, ended=now)
                ended.append((entry, (result, None)))
        handed_in = []
        for entry, (result, model) in ended:
            result.number, result.candidate, result.hyperparameters = entry.position, entry.candidate, entry.params
            if self.queue.complete(entry, result.to_dict()):  # else it was handed to another worker meanwhile
                handed_in.append((entry.position, (result, model)))
        if time.time() - self.beaten >= BEAT:
            self.beaten = time.time()
            self.queue.beat([entry for entry, *_ in self.running.values()])
        return handed_in

    def stop(self) -> None:
        for _, process, *_ in self.running.values():
            process.kill()
        self.running.clear()


def _time_limit(per_trial: float | None, deadline: float | None, started: float) -> tuple[float | None, str, str]:
    """Seconds a trial started then may run, the status it gets if killed at that limit, and why."""
    to_deadline = deadline - started if deadline is not None else None
    if to_deadline is not None and (per_trial is None or to_deadline < per_trial):
        return max(to_deadline, 0.0), STOPPED, "stopped: the job reached MaxAutoMLJobRuntimeInSeconds"
    if per_trial is not None:
        return per_trial, FAILED, f"exceeded MaxRuntimePerTrainingJobInSeconds ({per_trial:g} s)"
    return None, FAILED, ""


def _receive(receiver, process, started: float):
    try:
        outcome = receiver.recv()
    except EOFError:
        process.join()
        reason = f"the training process died (exit code {process.exitcode})"
        return TrialResult(0, "", {}, FAILED, failure_reason=reason, started=started, ended=time.time()), None
    process.join()
    return outcome


def _child(sender, task, ships: bool) -> None:
    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")  # convergence chatter of single trials would bury the progress bar
    with threadpool_limits(1):
        try:
            result, model = _evaluate(*task)
        except BaseException as error:  # report, never hang the parent
            result, model = TrialResult(0, "", {}, FAILED, failure_reason=error_text(error)), None
    sender.send((result, model if ships else None))
    sender.close()
    os._exit(0)


def _evaluate(matrices, candidate: str, params: dict, plan: DataPlan, settings: Settings, best_value):
    """Fit and score one trial; return its result and, if it beats ``best_value``, its fitted fold models."""
    started = time.time()
    algorithm = ALGORITHMS[_algorithm_name(candidate)]
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
