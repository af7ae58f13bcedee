"""The ENSEMBLING mode's search: bagged base models, one stacking layer, greedy weighted ensembles, on a budget.

The plan is fixed before anything runs: each family's first configuration (the quick strong ones first), then
each family's second, and so on (level 1), then a few models stacked on the level-1 models' out-of-fold
predictions (level 2). Models run in forked children, ``workers`` at once. With a time budget, level 1 stops
taking new models at 70% of it so that level 2 gets its share; level 2 stacks on the level-1 models finished by
then. Without one, level 2 waits for every level-1 model, so a seed and MaxCandidates reproduce the job.
At the end two greedy ensembles weigh the models: over level 1 (``WeightedEnsemble-L2``) and over both levels
(``WeightedEnsemble-L3``).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..forks import Finished, ForkPool
from ..metrics import all_scores, score
from ..vocabulary import (
    COMPLETED,
    FAILED,
    MAX_CANDIDATES_REACHED,
    MAX_RUNTIME_REACHED,
    STOPPED,
    candidate_name,
    objective_direction,
)
from .bagging import fit_bagged
from .families import FAMILIES, PRIORITY
from .model import stack_features
from .selection import blend, greedy_weights

ENSEMBLE = "weighted-ensemble"
LEVEL_ONE_SHARE = 0.7  # of a time budget, before level 2 starts
# Level 2 stacks on the k-fold bagged level-1 models. Not on the forests: their out-of-bag predictions come from
# trees grown on every row, held-out folds included, so a forest that memorises its rows hands the labels of
# level 2's held-out fold to the rows level 2 trains on (on a pure-noise target with a row key, R2 0.10 out of
# fold instead of 0.03).
# Level 2: the first available family of each group. Trees only: a linear model stacked on a linear level-1
# model's out-of-fold predictions, over the same wide features, learns the folds' own noise (on the Seattle
# listings its out-of-fold MSE was 0.052 and its test MSE 0.083).
STACKERS = ((("lightgbm", 0), ("xgboost", 0)), (("extra-trees", 0), ("randomforest", 0)), (("lightgbm", 1),))


@dataclass(frozen=True)
class ModelSpec:
    """One base model of the plan: a family's configuration at a stacking level."""

    family: str
    config_index: int
    level: int

    @property
    def name(self) -> str:
        """AutoGluon's way of naming bagged models, in the characters AWS allows: "LightGBM-2-BAG-L1"."""
        suffix = f"-{self.config_index + 1}" if self.config_index else ""
        return f"{FAMILIES[self.family].model_name}{suffix}-BAG-L{self.level}"

    @property
    def config(self) -> dict:
        """The model's hyperparameters: its family's configuration number ``config_index``."""
        return FAMILIES[self.family].portfolio[self.config_index]

    def candidate_name(self, job_name: str) -> str:
        """The model's candidate name in job ``job_name`` ("<job>-LightGBM-2-BAG-L1"), shortened to AWS's limit."""
        return candidate_name(job_name, f"-{self.name}")

    def to_dict(self) -> dict:
        """The spec as JSON-ready data, one key per field."""
        return asdict(self)


@dataclass
class ModelResult:
    """A base model or an ensemble as the leaderboard lists it (the shape a tuning `TrialResult` has)."""

    number: int
    name: str
    algorithm: str  # the family, or "weighted-ensemble"
    dpp: str  # the feature view's dpp ("" for an ensemble)
    level: int
    hyperparameters: dict
    status: str
    objective: float | None = None
    metrics: dict = field(default_factory=dict)
    train_metrics: dict = field(default_factory=dict)  # on the in-fold predictions
    fold_objectives: list = field(default_factory=list)
    failure_reason: str = ""
    started: float = 0.0
    ended: float = 0.0
    members: dict = field(default_factory=dict)  # an ensemble's weights by model name
    inputs: list = field(default_factory=list)  # a level-2 model's stacked level-1 models

    @property
    def seconds(self) -> float:
        """How long the model took, in seconds."""
        return self.ended - self.started

    def candidate_name(self, job_name: str) -> str:
        """The model's candidate name in job ``job_name``, shortened to AWS's limit."""
        return candidate_name(job_name, f"-{self.name}")

    def to_dict(self) -> dict:
        """The result as JSON-ready data, one key per field."""
        return asdict(self)


@dataclass
class Settings:
    """What an ensembling run may do.

    Parameters
    ----------
    problem_type, objective : str
        The job's resolved problem type and objective metric.
    n_classes : int, default 0
        The number of classes; 0 for regression.
    deadline : float, optional
        ``time.time()`` after which no model may run (MaxAutoMLJobRuntimeInSeconds, less the job's other stages).
    per_model_limit : float, optional
        MaxRuntimePerTrainingJobInSeconds, for each bagged model.
    workers : int, default 1
        Models trained at once, each in a forked process.
    seed : int, default 0
        Seeds every model.
    stop_file : str, optional
        When this file appears the run stops (StopAutoMLJob).
    """

    problem_type: str
    objective: str
    n_classes: int = 0
    deadline: float | None = None
    per_model_limit: float | None = None
    workers: int = 1
    seed: int = 0
    stop_file: str | None = None

    def better(self, value: float, than: float | None) -> bool:
        """Whether objective ``value`` beats ``than`` (anything beats None)."""
        if than is None:
            return True
        return value < than if objective_direction(self.objective) == "Minimize" else value > than


@dataclass
class Data:
    """What every model reads: each view's matrix over the training rows (and the validation rows, where a
    separate validation file scores the models), the labels, the row weights and the folds."""

    views: dict  # view name ("trees", "dense") -> training matrix
    y: np.ndarray
    folds: list
    sample_weight: np.ndarray | None = None
    valid_views: dict | None = None
    y_valid: np.ndarray | None = None
    valid_weight: np.ndarray | None = None


@dataclass
class Fitted:
    """A finished base model: its result, its bagged model and its predictions (out-of-fold, validation, in-fold)."""

    result: ModelResult
    model: object
    oof: np.ndarray
    valid: np.ndarray | None = None
    inside: np.ndarray | None = None


@dataclass
class Outcome:
    """What a run ends with: every result, the finished base models, the best and why it stopped."""

    results: list  # every ModelResult, base models in plan order, then the ensembles
    fitted: dict  # name -> Fitted, the completed base models
    best: ModelResult | None
    stop_reason: str  # "MaxCandidatesReached" | "MaxAutoMLJobRuntimeReached" | "Stopped"
    stack_inputs: list


def default_plan(algorithms, max_models: int | None = None) -> list[ModelSpec]:
    """The base models a job trains, in order: level 1 in `PRIORITY` order, then level 2.

    ``algorithms`` are the Autopilot names asked for; families whose package is not installed are left out.
    ``max_models`` (MaxCandidates) caps the count, level 2 kept where at least two level-1 models remain.
    """
    usable = {name for name in algorithms if name in FAMILIES and FAMILIES[name].available()}
    level_one = [ModelSpec(name, index, 1) for name, index in PRIORITY if name in usable]
    level_two = []
    for group in STACKERS:
        chosen = next(((name, index) for name, index in group if name in usable), None)
        if chosen:
            level_two.append(ModelSpec(*chosen, 2))
    if not max_models or max_models >= len(level_one) + len(level_two):
        return level_one + (level_two if len(level_one) >= 2 else [])
    if max_models - len(level_two) >= 2:  # a short plan still stacks: level 1 gives way to level 2
        return level_one[:max_models - len(level_two)] + level_two
    return level_one[:max_models]


def unavailable(algorithms) -> list[str]:
    """The families asked for whose package is not installed, with the extra that installs each."""
    return [f"{f.name} (pip install 'autopilot-local[{f.extra}]')" for f in FAMILIES.values()
            if f.name in algorithms and not f.available()]


def run(data: Data, plan: list[ModelSpec], settings: Settings, done: dict | None = None,
        stack_inputs: list | None = None, on_result=None, on_fitted=None) -> Outcome:
    """Train the plan's models, stack, ensemble; return every result and the best.

    ``done`` holds `Fitted` models of an earlier run of the same job (resumed), which are kept, and
    ``stack_inputs`` the level-1 models its level 2 stacked on, if it had started. ``on_fitted(fitted)`` is
    called as each base model ends (to save it), ``on_result(result, best)`` for each result.
    """
    runner = _Runner(data, plan, settings, dict(done or {}), stack_inputs, on_result, on_fitted)
    runner.run()
    return runner.outcome()


class _Runner:
    def __init__(self, data, plan, settings, done, stack_inputs, on_result, on_fitted):
        self.data, self.plan, self.settings = data, plan, settings
        self.fitted: dict = {}
        self.failed: dict = {}  # name -> ModelResult of a model that failed or was stopped
        self.launched: dict = {}  # spec -> when its process started
        self.on_result, self.on_fitted = on_result, on_fitted
        self.stack_inputs = stack_inputs
        self.best: ModelResult | None = None
        self.stop_reason = MAX_CANDIDATES_REACHED
        started = time.time()
        deadline = settings.deadline
        has_level_two = any(s.level == 2 for s in plan)
        self.cutoff = started + LEVEL_ONE_SHARE * (deadline - started) if deadline and has_level_two else None
        for spec in plan:
            if spec.name in done:
                self._record(done[spec.name], save=False)
        self.pending = [s for s in plan if s.name not in self.fitted]

    def run(self) -> None:
        pool = ForkPool(self.settings.workers)
        try:
            while self.pending or pool.running or pool.finished:
                if self._stop_requested():
                    self._stop_all(pool, "stopped: StopAutoMLJob was requested")
                    self.stop_reason = STOPPED
                    break
                if self.settings.deadline is not None and time.time() >= self.settings.deadline:
                    self._stop_all(pool, "stopped: the job reached MaxAutoMLJobRuntimeInSeconds")
                    self.stop_reason = MAX_RUNTIME_REACHED
                    break
                self._dispatch(pool)
                for finished in pool.collect(timeout=0.25):
                    self._finish(finished)
        finally:
            pool.stop()

    def _dispatch(self, pool: ForkPool) -> None:
        while pool.free() > 0 and self.pending:
            spec = self.pending[0]
            if spec.level == 1 and self.cutoff is not None and time.time() >= self.cutoff:
                self.pending = [s for s in self.pending if s.level == 2]  # level 2 takes the rest of the budget
                self.stop_reason = MAX_RUNTIME_REACHED
                continue
            if spec.level == 2 and self.stack_inputs is None:
                level_one_running = any(key.level == 1 for key in pool.keys())
                if level_one_running and (self.cutoff is None or time.time() < self.cutoff):
                    return  # level 2 stacks on every level-1 model: wait for them
                self.stack_inputs = [s.name for s in self.plan if s.level == 1 and s.name in self.fitted
                                     and not FAMILIES[s.family].out_of_bag]
                if len(self.stack_inputs) < 2:  # nothing to stack on
                    self.pending = [s for s in self.pending if s.level == 1]
                    continue
            self.pending.pop(0)
            self._launch(pool, spec)

    def _launch(self, pool: ForkPool, spec: ModelSpec) -> None:
        inputs = self.stack_inputs if spec.level == 2 else []
        stacked = [self.fitted[name] for name in inputs]
        self.launched[spec] = time.time()
        pool.launch(spec, _fit_model, self.data, spec, stacked, self.settings, limit=self.settings.per_model_limit)

    def _finish(self, finished: Finished) -> None:
        spec = finished.key
        if finished.succeeded:
            model, oof, valid, inside, result_fields = finished.value
            result = self._result(spec, COMPLETED, **result_fields)
            self._record(Fitted(result, model, oof, valid, inside))
            return
        if finished.timed_out:
            reason = f"exceeded MaxRuntimePerTrainingJobInSeconds ({self.settings.per_model_limit:g} s)"
        else:
            reason = finished.error
        self._fail(spec, FAILED, reason)

    def _stop_all(self, pool: ForkPool, reason: str) -> None:
        for spec in pool.keys():
            self._fail(spec, STOPPED, reason)
        pool.stop()
        self.pending = []

    def _fail(self, spec: ModelSpec, status: str, reason: str) -> None:
        result = self._result(spec, status, failure_reason=reason)
        self.failed[spec.name] = result
        if self.on_result:
            self.on_result(result, self.best)

    def _result(self, spec: ModelSpec, status: str, **fields) -> ModelResult:
        family = FAMILIES[spec.family]
        return ModelResult(
            number=self.plan.index(spec), name=spec.name, algorithm=spec.family, dpp=_view_dpp(self.data, family.view),
            level=spec.level, hyperparameters=dict(spec.config), status=status, started=self.launched[spec],
            ended=fields.pop("ended", time.time()), inputs=list(self.stack_inputs or []) if spec.level == 2 else [],
            **fields,
        )

    def _record(self, fitted: Fitted, save: bool = True) -> None:
        self.fitted[fitted.result.name] = fitted
        if fitted.result.level == 2 and self.stack_inputs is None:
            self.stack_inputs = list(fitted.result.inputs)
        if self.settings.better(fitted.result.objective, self.best.objective if self.best else None):
            self.best = fitted.result
        if save and self.on_fitted:
            self.on_fitted(fitted)
        if self.on_result:
            self.on_result(fitted.result, self.best)

    def _stop_requested(self) -> bool:
        return self.settings.stop_file is not None and os.path.exists(self.settings.stop_file)

    def outcome(self) -> Outcome:
        base = sorted([f.result for f in self.fitted.values()] + list(self.failed.values()), key=lambda r: r.number)
        ensembles = []
        level_one = [self.fitted[s.name] for s in self.plan if s.level == 1 and s.name in self.fitted]
        level_two = [self.fitted[s.name] for s in self.plan if s.level == 2 and s.name in self.fitted]
        number = len(self.plan)
        for name, members in (("WeightedEnsemble-L2", level_one), ("WeightedEnsemble-L3", level_one + level_two)):
            if not members or (name.endswith("L3") and not level_two):
                continue
            ensembles.append(self._ensemble(name, number, members))
            number += 1
        results = base + ensembles
        for result in ensembles:
            if self.settings.better(result.objective, self.best.objective if self.best else None):
                self.best = result
            if self.on_result:
                self.on_result(result, self.best)
        return Outcome(results, self.fitted, self.best, self.stop_reason, list(self.stack_inputs or []))

    def _ensemble(self, name: str, number: int, members: list) -> ModelResult:
        started = time.time()
        data = self.data
        weights = greedy_weights([m.oof for m in members], data.y, self.settings.objective, data.sample_weight)
        if data.y_valid is None:  # scored out of fold
            prediction, y, w = blend([m.oof for m in members], weights), data.y, data.sample_weight
        else:  # scored on the validation file
            prediction, y, w = blend([m.valid for m in members], weights), data.y_valid, data.valid_weight
        metrics = all_scores(self.settings.problem_type, y, prediction, w)
        train_metrics = {}
        if all(m.inside is not None for m in members):  # base models saved before train metrics have none
            train_metrics = all_scores(self.settings.problem_type, data.y, blend([m.inside for m in members], weights),
                                       data.sample_weight)
        return ModelResult(
            number=number, name=name, algorithm=ENSEMBLE, dpp="", level=int(name[-1]), hyperparameters={},
            status=COMPLETED, objective=metrics[self.settings.objective], metrics=metrics,
            train_metrics=train_metrics, started=started, ended=time.time(),
            members={m.result.name: float(w) for m, w in zip(members, weights) if w > 0},
        )


def _view_dpp(data: Data, view: str) -> str:
    return f"dpp{list(data.views).index(view)}"


# --- in the child process ----------------------------------------------------------------------------------


def _fit_model(data: Data, spec: ModelSpec, stacked: list, settings: Settings):
    """Fit one bagged base model; return it, its out-of-fold and validation predictions and its scores."""
    family = FAMILIES[spec.family]
    X = data.views[family.view]
    X_valid = data.valid_views[family.view] if data.valid_views is not None else None
    if stacked:
        X = stack_features(X, [f.oof for f in stacked], settings.problem_type)
        if X_valid is not None:
            X_valid = stack_features(X_valid, [f.valid for f in stacked], settings.problem_type)
    model, oof, inside = fit_bagged(family, spec.config, X, data.y, data.sample_weight, data.folds,
                                    settings.problem_type, settings.n_classes, settings.seed)
    valid = model.predict_raw(X_valid) if X_valid is not None else None
    if not np.all(np.isfinite(oof)):
        raise FloatingPointError("the model's predictions are not finite (diverged)")
    y, w, prediction = ((data.y, data.sample_weight, oof) if valid is None
                        else (data.y_valid, data.valid_weight, valid))
    metrics = all_scores(settings.problem_type, y, prediction, w)
    weight = data.sample_weight if data.sample_weight is not None else np.ones(len(data.y))
    fold_objectives = [] if family.out_of_bag else [
        score(settings.objective, data.y[rows], oof[rows], weight[rows]) for _, rows in data.folds
    ]
    fields = {"objective": metrics[settings.objective], "metrics": metrics, "fold_objectives": fold_objectives,
              "train_metrics": all_scores(settings.problem_type, data.y, inside, data.sample_weight),
              "ended": time.time()}
    return model, oof, valid, inside, fields
