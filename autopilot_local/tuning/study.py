"""Multi-algorithm hyperparameter tuning: one Optuna study over (candidate pipeline, hyperparameters).

Each dpp's features are computed once before tuning, so a trial only fits the model. This process asks the
sampler and tells it every result, in trial order; the trials themselves run wherever a worker claims them from
the job's queue (`trials.Executor`): in this process's forked children and in any worker that joined the job.
"""

from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass

import optuna

from ..vocabulary import COMPLETED, MAX_CANDIDATES_REACHED, MAX_RUNTIME_REACHED, STOPPED
from .algorithms import ALGORITHMS
from .queue import BEAT, POLL, TrialQueue
from .trials import DEADLINE_REASON, DataPlan, Executor, Settings, TrialResult, algorithm_name, evaluate

CANDIDATE_PARAM = "candidate"


@dataclass
class Outcome:
    """What a tuning run ends with: every trial in trial order, the best one and its fitted model, and why it
    ended (MaxCandidatesReached, MaxAutoMLJobRuntimeReached or Stopped)."""

    trials: list
    best: TrialResult | None
    best_model: object | None  # the best trial's fitted fold models (a FoldEnsemble)
    stop_reason: str


def create_study(storage, name: str, settings: Settings, candidates: list[str]) -> optuna.Study:
    """The job's study, with one enqueued default trial per candidate so every pipeline is tried early.

    Candidates are screened algorithm by algorithm, in `ALGORITHMS` order: the quick XGBoost screens come first,
    so the first candidate finishes within seconds and the portfolio (see `_Runner`) can pick its pipeline early.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    direction = "minimize" if settings.direction == "Minimize" else "maximize"
    study = optuna.create_study(storage=storage, study_name=name, sampler=_sampler(settings, len(candidates), 0),
                                direction=direction)
    for candidate in sorted(candidates, key=lambda c: list(ALGORITHMS).index(algorithm_name(c))):
        algorithm = ALGORITHMS[algorithm_name(candidate)]
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
        _, best_model = evaluate(candidates[best.candidate], best.candidate, best.hyperparameters, plan, settings)
    return Outcome(runner.results, runner.best, best_model, runner.stop_reason)


class _Runner:
    """Asks and tells trials in a sliding window; the queue's workers run them.

    When trial k is asked, exactly trials 0..k-trials_in_flight have been told (in trial order), whatever finished
    early: every suggestion sees the same history whatever the timing and however many workers run, so a seed and
    a trial budget reproduce the study. Within that rule a trial is asked and queued as soon as it may be.
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
        present = {algorithm_name(label) for label in self.labels}
        self.portfolio = [(a.name, config) for a in ALGORITHMS.values() if a.name in present for config in a.portfolio]
        self.executor = Executor(queue, candidates, plan, settings, settings.workers, best_value=self._best_value)
        self.asked: list = []  # (trial, candidate, params) in trial order
        self.finished: dict = {}  # position -> (result, model), not yet told
        self.results, self.best, self.best_model = [], None, None
        self.stop_reason = MAX_CANDIDATES_REACHED
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
                    self._tell_up_to(position - self.settings.trials_in_flight)
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
                elsewhere = len(self.asked) - len(self.results) - len(self.finished) > self.executor.running
                for position, result, model in self.executor.collect(timeout=POLL if elsewhere else 1.0):
                    self._finish(position, result, model)
                self._poll_queue()
                self._beat()
        except KeyboardInterrupt:
            self.executor.stop()
            self.stop_reason = STOPPED
        self._tell_up_to(len(self.asked) - 1)
        if self.stop_reason == STOPPED:
            return
        if self.deadline_hit or (len(self.results) < self.settings.max_trials and self._past_deadline()):
            self.stop_reason = MAX_RUNTIME_REACHED

    def _past_deadline(self) -> bool:
        return self.settings.deadline is not None and time.time() >= self.settings.deadline

    def _stop_requested(self) -> bool:
        return self.settings.stop_file is not None and os.path.exists(self.settings.stop_file)

    def _may_ask(self) -> bool:
        position = len(self.asked)
        return (
            position < self.settings.max_trials
            and all(p in self.finished for p in range(len(self.results), position - self.settings.trials_in_flight + 1))
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
        for position in range(len(self.results), len(self.asked)):
            if position not in local:
                _, candidate, params = self.asked[position]
                now = time.time()
                self._finish(position, TrialResult(position, candidate, params, STOPPED, failure_reason=DEADLINE_REASON,
                                                   started=now, ended=now), None)

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
        # each candidate's best objective over exactly trials 0..position-trials_in_flight, whatever the timing
        best: dict = {}
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


def _param_key(algorithm: str, name: str) -> str:
    # Algorithms share some hyperparameter names (learning_rate, wd) with different ranges: keep them apart.
    return f"{algorithm}.{name}"


def _suggest(trial: optuna.Trial, labels: list[str]) -> tuple[str, dict]:
    candidate = trial.suggest_categorical(CANDIDATE_PARAM, labels)
    algorithm = ALGORITHMS[algorithm_name(candidate)]
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
    prefix = _param_key(algorithm_name(candidate), "")
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
