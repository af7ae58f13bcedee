"""The AutoML job: read, analyze, generate candidates, transform once per dpp, tune, select, write.

Data flows one way through plain function calls; `Job` only keeps the status the job folder reports while it
runs. Every problem with the user's input is found before the job folder is created, so bad input never leaves a
half-made folder behind.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from . import artifacts, ensembling, registry, s3, tuning
from .algorithms import predict_raw
from .analysis import ExplorationReport, analyze
from .artifacts import JobFolder
from .candidates import COLUMN_TYPES, ensembling_views, generate_candidates
from .config import CV_FOLDS, CV_MAX_ROWS, ENSEMBLING, MIN_TRAINING_ROWS, REGRESSION, JobConfig, objective_direction
from .ensembling.model import Views, WeightedEnsemble
from .errors import InputError
from .forks import FORK
from .io import read_table
from .model import CandidateModel
from .notebooks import write_candidate_artifacts
from .parsing import coerce_numeric
from .progress import Reporter
from .reports import explainability, performance, treeshap
from .trial_queue import TrialQueue, open_storage, shown_url

MESSAGE_LIMIT = 1024  # AWS's longest FailureReason and PartialFailureMessage
# What the best candidate's explanation may take: what is left of the job's budget, at most 30 s; 3 s without one
EXPLAIN_SECONDS, EXPLAIN_UNBUDGETED = 30.0, 3.0


@dataclass
class PreparedData:
    """The validated inputs of a job: what every later stage reads."""

    report: ExplorationReport
    problem_type: str
    objective: str
    features: pd.DataFrame  # training rows, feature columns only
    y: np.ndarray  # encoded target of those rows
    valid_features: pd.DataFrame | None
    valid_y: np.ndarray | None
    label_transform: object
    definitions: list  # the dpp pipelines (HYPERPARAMETER_TUNING) or feature views (ENSEMBLING)
    dropped_target_rows: int
    mode: str = "HYPERPARAMETER_TUNING"  # as resolved (AUTO picks one by the data's size)
    sample_weight: np.ndarray | None = None  # of the training rows (SampleWeightAttributeName)
    valid_weight: np.ndarray | None = None
    plan: list = ()  # ENSEMBLING: the base models, in the order they are trained

    @property
    def n_classes(self) -> int:
        return 0 if self.problem_type == REGRESSION else len(self.label_transform.classes_)


def run_job(config: JobConfig, reporter: Reporter | None = None) -> dict:
    """Run one job to the end and return its DescribeAutoMLJobV2 document."""
    job = Job(config, reporter or Reporter())
    if job.folder.job_json.exists():
        status = artifacts.read_json(job.folder.job_json).get("AutoMLJobStatus", "unknown")
        raise InputError(
            f"{job.folder.root} already holds a job (status {status}); choose another --job-name or --output"
        )
    job.set_status("InProgress", "AnalyzingData", write=False)
    return job.execute(prepare(config))


def resume_job(job_dir, reporter: Reporter | None = None, storage: str | None = None) -> dict:
    """Continue a job that was killed while it ran: its finished trials are kept, the interrupted ones run again,
    and the budget counts the time the job had already spent. Returns its DescribeAutoMLJobV2 document.

    ``storage`` names the job's shared storage again where its URL held a password (the job folder keeps none).
    """
    folder = Path(job_dir)
    if not folder.joinpath("job.json").exists() or not folder.joinpath("local-run.json").exists():
        raise InputError(f"{folder} is not a job folder that can be resumed (no job.json or local-run.json)")
    described = artifacts.read_json(folder / "job.json")
    status = described["AutoMLJobStatus"]
    if status != "InProgress":
        raise InputError(f"job {described['AutoMLJobName']} is {status}: only a job that was interrupted resumes")
    local = artifacts.read_json(folder / "local-run.json")
    settings = local["settings"] | ({"storage": storage} if storage else {})
    config = JobConfig.from_request_file(folder / "request.json", output_dir=str(folder.parent),
                                         job_name=folder.name, **settings)
    job = Job(config, reporter or Reporter())
    job.created = datetime.fromisoformat(described["CreationTime"]).timestamp()
    job.history = artifacts.read_json(folder / "status-history.json")
    job.spent_before = local["active_seconds"]
    job.set_status("InProgress", "AnalyzingData")
    return job.execute(prepare(config), resume=True)


def prepare(config: JobConfig) -> PreparedData:
    """Read and check every input, analyze and generate the candidates; raise `InputError` on bad input.

    Nothing is written: the job folder is created only once this has passed.
    """
    mode = config.resolved_mode(_input_bytes(config))
    frame = read_table(config.data)
    _check_target_column(frame, config.target, config.data)
    weights = _pop_weights(frame, config.sample_weight, config.data)
    try:
        report = analyze(frame, config.target, config.problem_type, seed=config.seed)
    except InputError as error:  # the analysis sees a table, not a file: name the file the problem is in
        raise InputError(f"{config.data}: {error}") from None
    problem_type = config.problem_type or report.problem_type
    objective = config.resolved_objective(problem_type)
    label_transform = _label_transform(problem_type, frame[config.target])
    columns = _feature_columns(frame, report.column_types, config)
    features, y, dropped, keep = _labelled_rows(frame, config.target, columns, problem_type, label_transform)
    weights = weights[keep] if weights is not None else None
    if len(features) < MIN_TRAINING_ROWS and not config.allow_small:
        raise InputError(
            f"{config.data} has {len(features)} rows with a target value; Autopilot needs at least "
            f"{MIN_TRAINING_ROWS} (pass --allow-small to run anyway)"
        )
    valid_features = valid_y = valid_weights = None
    if config.validation_data:
        valid = read_table(config.validation_data)
        _check_target_column(valid, config.target, config.validation_data)
        valid_weights = _pop_weights(valid, config.sample_weight, config.validation_data)
        missing = [c for c in columns if c not in valid.columns]
        if missing:
            names = ", ".join(map(repr, missing))
            raise InputError(f"validation file {config.validation_data} lacks column(s) {names}")
        valid_features, valid_y, _, valid_keep = _labelled_rows(valid, config.target, columns, problem_type,
                                                                label_transform)
        valid_weights = valid_weights[valid_keep] if valid_weights is not None else None
        if len(valid_features) == 0:
            raise InputError(f"validation file {config.validation_data} has no rows with a target value")
    typed = {kind: getattr(report.column_types, kind) for kind in COLUMN_TYPES}
    labels = tuple(getattr(label_transform, "classes_", ()))
    algorithms = config.algorithms_for(mode)
    plan: list = []
    if mode == ENSEMBLING:
        plan = ensembling.default_plan(algorithms, config.max_candidates)
        if not plan:
            raise InputError(f"none of the algorithms {', '.join(algorithms)} is installed: "
                             + "; ".join(ensembling.unavailable(algorithms)))
        feeds: dict = {}
        for spec in plan:
            feeds.setdefault(ensembling.FAMILIES[spec.family].view, []).append(spec.family)
        definitions = ensembling_views(typed, config.target, problem_type,
                                       {view: tuple(dict.fromkeys(names)) for view, names in feeds.items()}, labels)
    else:
        definitions = generate_candidates(typed, config.target, problem_type, algorithms, labels)
    return PreparedData(report, problem_type, objective, features, y, valid_features, valid_y, label_transform,
                        definitions, dropped, mode, weights, valid_weights, plan)


def _input_bytes(config: JobConfig) -> int:
    """The size of the job's input files, by which AUTO picks its mode."""
    paths = [config.data] + ([config.validation_data] if config.validation_data else [])
    return sum(Path(p).stat().st_size for p in paths if "://" not in str(p) and Path(p).exists())


def _pop_weights(frame: pd.DataFrame, column: str | None, path) -> np.ndarray | None:
    """Take the sample-weight column out of ``frame`` (it is no feature) and check its values: each a
    non-negative finite number, not all zero."""
    if not column:
        return None
    if column not in frame.columns:
        raise InputError(f"sample weight column {column!r} (SampleWeightAttributeName) is not in {path}")
    values = frame.pop(column)
    weights = coerce_numeric(values)
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if len(bad):
        row = int(bad[0])
        value = values.iloc[row]
        shown = "a missing value" if pd.isna(value) else repr(str(value))
        raise InputError(f"{path}: sample weight column {column!r} has {shown} in data row {row + 1}; "
                         f"weights must be non-negative numbers ({len(bad)} such rows)")
    if not weights.any():
        raise InputError(f"{path}: every sample weight in column {column!r} is zero")
    return weights


def _check_target_column(frame: pd.DataFrame, target: str, path) -> None:
    if target not in frame.columns:
        shown = ", ".join(map(repr, list(frame.columns)[:20])) + (" ..." if frame.shape[1] > 20 else "")
        raise InputError(f"target column {target!r} is not in {path} (columns: {shown})")


def _feature_columns(frame: pd.DataFrame, column_types, config: JobConfig) -> list[str]:
    """The columns the candidates use, in the file's order; excluded columns never enter a pipeline."""
    used = {c for kind in COLUMN_TYPES for c in getattr(column_types, kind)}
    columns = [c for c in frame.columns if c in used]
    if not columns:
        reasons = "; ".join(f"{c!r}: {r}" for c, r in column_types.excluded.items()) or "no columns besides the target"
        raise InputError(f"{config.data} has no usable feature columns ({reasons})")
    return columns


def _label_transform(problem_type: str, target: pd.Series):
    from .analysis.problem_type import valid_target_mask
    from .transformers import NALabelEncoder, RobustLabelEncoder

    if problem_type == REGRESSION:
        return NALabelEncoder().fit(target)
    return RobustLabelEncoder().fit(target[valid_target_mask(target, problem_type)])  # blank and inf are no class


def _labelled_rows(frame, target, columns, problem_type, label_transform):
    """Feature rows whose target is present and valid, their encoded target, how many rows were dropped, and
    which rows were kept (a boolean mask)."""
    from .analysis.problem_type import valid_target_mask

    values = frame[target]
    if problem_type == REGRESSION:
        y = label_transform.transform(values)
        keep = np.isfinite(y)
    else:
        keep = valid_target_mask(values, problem_type)
        y = np.full(len(values), -1, dtype=np.int64)
        y[keep] = label_transform.transform(values[keep])
    features = frame.loc[keep, columns].reset_index(drop=True)
    return features, y[keep], int((~keep).sum()), np.asarray(keep)


class Job:
    """One running job's status and the files that report it."""

    def __init__(self, config: JobConfig, reporter: Reporter):
        self.config = config
        self.reporter = reporter
        self.folder = JobFolder(config.job_dir, config.job_name)
        self.created = time.time()
        self.status, self.secondary_status = "InProgress", "Starting"
        self.history = [
            {"Status": "InProgress", "SecondaryStatus": "Starting", "Time": artifacts.iso_time(self.created)}
        ]
        self.failure_reason = ""
        self.partial_failures: list[str] = []
        self.best: dict | None = None
        self.problem_type = self.objective = None
        self.ended: float | None = None
        self.artifacts: dict = {}
        self.started = time.time()  # this run's start (a resumed job's created is the first run's)
        self.queue: TrialQueue | None = None  # the job's trials for any worker, once tuning is ahead
        self.spent_before = 0.0  # seconds earlier runs of this job spent before they were interrupted
        self.mode: str | None = None  # as resolved, once the data is read
        self.compiling = None  # the child compiling the explainer while the job tunes

    # --- status -----------------------------------------------------------------------------------------------

    def set_status(self, status: str, secondary: str, write: bool = True) -> None:
        self.status, self.secondary_status = status, secondary
        self.history.append({"Status": status, "SecondaryStatus": secondary, "Time": artifacts.iso_time(time.time())})
        if write:  # before the folder exists the input may still be refused: nothing to report yet
            self.reporter.stage(secondary)
            self.write_describe()

    def describe(self) -> dict:
        """This job as DescribeAutoMLJobV2 returns it."""
        request = self.config.to_request()
        now = self.ended or time.time()
        document = {
            "AutoMLJobName": self.config.job_name,
            "AutoMLJobArn": artifacts.arn("automl-job", self.config.job_name),
            "AutoMLJobInputDataConfig": request["AutoMLJobInputDataConfig"],
            "OutputDataConfig": request["OutputDataConfig"],
            "RoleArn": request["RoleArn"],
            "AutoMLProblemTypeConfig": self._problem_type_config(request),
            "AutoMLProblemTypeConfigName": "Tabular",
            "CreationTime": artifacts.iso_time(self.created),
            "LastModifiedTime": artifacts.iso_time(now),
            "AutoMLJobStatus": self.status,
            "AutoMLJobSecondaryStatus": self.secondary_status,
        }
        if "DataSplitConfig" in request:
            document["DataSplitConfig"] = request["DataSplitConfig"]
        if self.objective:
            document["AutoMLJobObjective"] = {"MetricName": self.objective}
            document["ResolvedAttributes"] = {
                "AutoMLJobObjective": {"MetricName": self.objective},
                "CompletionCriteria": self.config.completion_criteria(resolved=True),
                "AutoMLProblemTypeResolvedAttributes": {
                    "TabularResolvedAttributes": {"ProblemType": self.problem_type}
                },
            }
        if self.ended:
            document["EndTime"] = artifacts.iso_time(self.ended)
        if self.failure_reason:
            document["FailureReason"] = self.failure_reason
        if self.partial_failures:
            document["PartialFailureReasons"] = [{"PartialFailureMessage": m[:MESSAGE_LIMIT]}
                                                 for m in self.partial_failures[:5]]
        if self.best:
            document["BestCandidate"] = self.best
        if self.artifacts:
            document["AutoMLJobArtifacts"] = self.artifacts
        return document

    def _problem_type_config(self, request: dict) -> dict:
        """The request's problem type config, with the mode AUTO resolved to (Describe has no other place)."""
        config = request["AutoMLProblemTypeConfig"]
        if self.mode:
            config["TabularJobConfig"]["Mode"] = self.mode
        return config

    def write_describe(self) -> None:
        artifacts.write_json(self.folder.job_json, self.describe())
        artifacts.write_json(self.folder.history_json, self.history)

    # --- the stages -------------------------------------------------------------------------------------------

    def execute(self, data: PreparedData, resume: bool = False) -> dict:
        self.problem_type, self.objective, self.mode = data.problem_type, data.objective, data.mode
        if data.dropped_target_rows:
            self.partial_failures.append(
                f"dropped {data.dropped_target_rows} rows whose target value is missing or invalid"
            )
        tunes = not self.config.candidate_definitions_only
        ensembles = data.mode == ENSEMBLING
        # a shared storage is reached, and checked for a job of this name, before the job folder exists
        storage = self._storage() if tunes and self.config.storage else None
        if storage is not None and not resume and TrialQueue.exists(storage, self.config.job_name):
            raise InputError(f"storage {shown_url(self.config.storage)} already holds a job named "
                             f"{self.config.job_name!r}; choose another --job-name")
        if not resume:
            self.folder.root.mkdir(parents=True, exist_ok=False)
            registry.register(self.config.job_name, self.folder.root)
            artifacts.write_json(self.folder.request_json, self.config.to_request())
            self.heartbeat()
            artifacts.write_json(self.folder.exploration_report, data.report.to_dict())
            artifacts.write_json(self.folder.candidate_definitions, [d.to_dict() for d in data.definitions])
        self.artifacts = write_candidate_artifacts(self.folder, self.config, data)
        self.write_describe()
        try:
            if not tunes:
                return self._finish("Completed", "CandidateDefinitionsGenerated")
            self.compiling = treeshap.warm_up_in_background()  # the explainer's first use on a machine: seconds
            if ensembles:
                return self._run_ensembling(data, resume)
            storage = storage or self._storage()
            if resume:
                self.queue = TrialQueue(storage, self.config.job_name)
            else:  # workers elsewhere read the job from here and rebuild its data while this process does
                self.queue = TrialQueue.create(storage, self.config.job_name, self._job_for_workers())
            self.set_status("InProgress", "FeatureEngineering")
            plan, train_rows, valid_rows = split_rows(data, self.config)
            matrices, transforms = self._transform(data, train_rows, valid_rows)
            self.set_status("InProgress", "ModelTuning")
            outcome = self._tune(data, plan, matrices)
            return self._select(data, outcome, transforms, tuning_predictions(outcome, plan, matrices))
        except BaseException as error:
            reason = str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
            self.failure_reason = reason[:MESSAGE_LIMIT]
            self._finish("Failed", "Failed")
            raise

    def _local_settings(self) -> dict:
        """What a run needs beyond the AWS request; a storage URL without its password."""
        return {"seed": self.config.seed, "workers": self.config.workers, "allow_small": self.config.allow_small,
                "trials_in_flight": self.config.trials_in_flight, "storage": shown_url(self.config.storage)}

    def heartbeat(self) -> None:
        """Record the seconds this job has spent (what a resumed run still has) and what it needs to resume."""
        spent = self.spent_before + time.time() - self.started
        artifacts.write_json(self.folder.local_run_json,
                             {"settings": self._local_settings(), "active_seconds": round(spent, 3)})

    def _storage(self):
        """The job's Optuna storage: the shared one asked for, else SQLite in the job folder."""
        url = self.config.storage or f"sqlite:///{self.folder.study_db.resolve()}"
        if not self.config.storage:
            self.folder.study_db.parent.mkdir(parents=True, exist_ok=True)
        return open_storage(url)

    def _job_for_workers(self) -> dict:
        """The request (with absolute data paths) and local settings a `worker` rebuilds this job from."""
        request = self.config.to_request()
        for channel in request["AutoMLJobInputDataConfig"]:
            source = channel["DataSource"]["S3DataSource"]
            if "://" not in source["S3Uri"]:
                source["S3Uri"] = str(Path(source["S3Uri"]).resolve())
        return {"request": request, "settings": self._local_settings()}

    def _deadline(self) -> float | None:
        """When tuning must stop: the job's budget, less what earlier runs spent and a sliver for selecting and
        writing and the two reports (3% of the budget, at least 2 s; the explanation takes what is left), so the job
        ends within 2% of MaxAutoMLJobRuntimeInSeconds."""
        budget = self.config.max_job_runtime
        if not budget:
            return None
        return self._end(budget) - min(max(2.0, 0.03 * budget), 30.0)

    def _end(self, budget: float) -> float:
        """When MaxAutoMLJobRuntimeInSeconds runs out, counting what earlier runs of the job spent."""
        return self.started - self.spent_before + budget

    def _transform(self, data: PreparedData, train_rows, valid_rows):
        matrices, transforms, failures = fit_transforms(data, train_rows, valid_rows, deadline=self._deadline(),
                                                        workers=_workers(self.config))
        self.partial_failures.extend(failures)
        if not matrices:
            raise RuntimeError("every candidate's feature transform failed: " + "; ".join(failures))
        if self.queue is not None:
            self.queue.update(candidates={label: tuning.signature(pair) for label, pair in matrices.items()})
        for definition in data.definitions:
            if definition.label in transforms:
                artifacts.dump_model(self.folder.data_processor_model(definition.name),
                                     {"feature_transform": transforms[definition.label],
                                      "label_transform": data.label_transform})
        return matrices, transforms

    def _tune(self, data: PreparedData, plan, matrices) -> tuning.Outcome:
        deadline = self._deadline()
        settings = tuning_settings(self.config, data, deadline)
        settings.stop_file = str(self.folder.stop_request)
        storage, name = self.queue.storage, self.config.job_name
        try:  # a resumed job whose tuning had begun
            study = tuning.load_study(storage, name)
        except KeyError:
            study = tuning.create_study(storage, name, settings, list(matrices))
        self.reporter.start_tuning(settings.max_trials, deadline, data.objective)
        outcome = tuning.tune(study, self.queue, matrices, plan, settings, on_result=self._on_result)
        self.reporter.finish_tuning()
        return outcome

    def _on_result(self, result, best) -> None:
        self.reporter.trial(result, best)
        self.heartbeat()
        self.write_describe()  # LastModifiedTime moves with every candidate, as the cloud's does

    def _select(self, data: PreparedData, outcome: tuning.Outcome, transforms, evaluated) -> dict:
        if outcome.best is None and outcome.stop_reason == "Stopped":  # stopped before a candidate finished
            self._write_candidates(data, outcome.trials, None, None)
            return self._finish("Stopped", "Stopped")
        if outcome.best is None:  # a failed job lists its failed candidates, as AWS does
            self._write_candidates(data, outcome.trials, None, None)
            reasons = {t.failure_reason for t in outcome.trials if t.failure_reason}
            raise RuntimeError("no candidate completed" + (f": {'; '.join(sorted(reasons))[:400]}" if reasons else ""))
        best = outcome.best
        model = CandidateModel(
            name=best.candidate_name(self.config.job_name),
            feature_columns=list(data.features.columns),
            feature_transform=transforms[best.candidate],
            label_transform=data.label_transform,
            estimator=outcome.best_model,
            problem_type=data.problem_type,
            input_columns=[c for c in data.report.column_names if c != self.config.target],
        )
        model_path = self.folder.candidate_model(model.name, best.dpp, best.algorithm)
        artifacts.dump_model(model_path, model)
        self._write_reports(data, model, best.train_metrics, *evaluated)
        documents = self._write_candidates(data, outcome.trials, outcome.best, model_path)
        self.best = documents[0]
        if outcome.stop_reason == "Stopped":
            return self._finish("Stopped", "Stopped")
        return self._finish("Completed", outcome.stop_reason)

    def _write_candidates(self, data: PreparedData, results: list, best, model_path) -> list[dict]:
        """candidates.json and leaderboard.csv: every candidate, best first (an ENSEMBLING job's base models and
        ensembles, scored out of fold, with the ensembles' weights and what level 2 stacked on)."""
        ranked = _rank(results, objective_direction(data.objective))
        documents = [
            artifacts.candidate_document(self.folder, trial, data.objective, data.problem_type,
                                         model_path if trial is best else None, data.mode, reported=trial is best)
            for trial in ranked
        ]
        artifacts.write_json(self.folder.candidates_json, {"Candidates": documents})
        rows = []
        for i, (trial, doc) in enumerate(zip(ranked, documents)):
            row = {"rank": i + 1, "candidate_name": doc["CandidateName"], "pipeline": trial.dpp,
                   "algorithm": trial.algorithm, "objective_metric": data.objective,
                   "objective_value": trial.objective, "status": trial.status,
                   "hyperparameters": _json(trial.hyperparameters)}
            if data.mode == ENSEMBLING:
                row |= {"level": trial.level, "weights": _json(trial.members) if trial.members else "",
                        "stacked_on": _json(trial.inputs) if trial.inputs else ""}
            rows.append(row | {"failure_reason": trial.failure_reason})
        artifacts.write_atomic(self.folder.leaderboard_csv, artifacts.leaderboard_csv(rows))
        return documents

    # --- ENSEMBLING -------------------------------------------------------------------------------------------

    def _run_ensembling(self, data: PreparedData, resume: bool) -> dict:
        self.set_status("InProgress", "FeatureEngineering")
        matrices, transforms = self._transform(data, np.arange(len(data.features)), None)
        self.set_status("InProgress", "TrainingModels")
        views = {d.algorithm: d.label for d in data.definitions if d.label in matrices}
        prepared = ensembling_data(data, {view: matrices[label] for view, label in views.items()},
                                   self.config.seed)
        settings = ensembling_settings(self.config, data, self._deadline())
        settings.stop_file = str(self.folder.stop_request)
        done = self._fitted_models() if resume else {}
        stack_inputs = next((f.result.inputs for f in done.values() if f.result.level == 2), None)
        self.reporter.start_tuning(len(data.plan) + 2, settings.deadline, data.objective)  # and two ensembles
        outcome = ensembling.run(prepared, data.plan, settings, done=done, stack_inputs=stack_inputs,
                                 on_result=self._on_result, on_fitted=self._save_fitted)
        self.reporter.finish_tuning()
        if outcome.best is None:
            self._write_candidates(data, outcome.results, None, None)
            if outcome.stop_reason == "Stopped":
                return self._finish("Stopped", "Stopped")
            reasons = sorted({r.failure_reason for r in outcome.results if r.failure_reason})
            raise RuntimeError("no model completed" + (f": {'; '.join(reasons)[:400]}" if reasons else ""))
        best = outcome.best
        model = CandidateModel(
            name=best.candidate_name(self.config.job_name),
            feature_columns=list(data.features.columns),
            feature_transform=Views({view: transforms[label] for view, label in views.items()}),
            label_transform=data.label_transform,
            estimator=ensemble_of(best, outcome.fitted, data.problem_type),
            problem_type=data.problem_type,
            input_columns=[c for c in data.report.column_names if c != self.config.target],
        )
        model_path = self.folder.ensemble_model(model.name)
        artifacts.dump_model(model_path, model)
        self._write_reports(data, model, best.train_metrics, *ensemble_predictions(best, outcome, prepared))
        self.best = self._write_candidates(data, outcome.results, outcome.best, model_path)[0]
        status = "Stopped" if outcome.stop_reason == "Stopped" else "Completed"
        return self._finish(status, outcome.stop_reason if status == "Completed" else "Stopped")

    def _write_reports(self, data: PreparedData, model: CandidateModel, train_metrics: dict, y, prediction, weight,
                       evaluated_on):
        """The best candidate's model performance report (on its validation predictions) and explainability
        report (SHAP on a sample of the training rows), JSON and HTML, under documentation/."""
        self.set_status("InProgress", "GeneratingModelInsightsReport")
        labels = tuple(getattr(data.label_transform, "classes_", ()))
        report = performance.build(model.name, data.problem_type, data.objective, y, prediction, labels, weight,
                                   evaluated_on, self.config.seed, train_metrics)
        folder = self.folder.model_insights(model.name)
        artifacts.write_json(folder / "report.json", report)
        artifacts.write_atomic(folder / "report.html", performance.render_html(report, y, prediction))
        self.set_status("InProgress", "GeneratingExplainabilityReport")
        budget = self.config.max_job_runtime
        if self.compiling is not None:
            self.compiling.join(timeout=max(0.0, self._end(budget) - time.time()) if budget else None)
        left = self._end(budget) - time.time() - 0.5 if budget else EXPLAIN_UNBUDGETED  # 0.5 s: the writing
        explanation, rows = explainability.explain_sample(model, data.features, self.config.seed,
                                                          seconds=min(EXPLAIN_SECONDS, max(0.5, left)))
        if explanation is None:  # ``rows`` says why
            report, page = explainability.skipped(model.name, rows)
        else:
            report = explainability.build(model.name, explanation)
            page = explainability.render_html(report, explanation, rows)
        folder = self.folder.explainability(model.name)
        artifacts.write_json(folder / "report.json", report)
        artifacts.write_atomic(folder / "report.html", page)

    def _save_fitted(self, fitted) -> None:
        """Keep each finished base model in the job folder, so a resumed job does not train it again."""
        artifacts.dump_model(self.folder.base_model(fitted.result.name), fitted)

    def _fitted_models(self) -> dict:
        import joblib

        return {path.stem: joblib.load(path) for path in sorted(self.folder.base_models.glob("*.joblib"))}

    def _finish(self, status: str, secondary: str) -> dict:
        self.ended = time.time()
        self.set_status(status, secondary)
        if self.queue is not None:  # the job's workers elsewhere end with it
            self.queue.update(state=status)
        if s3.is_s3(self.config.output_dir):
            s3.upload_folder(self.folder.root, f"{self.config.output_dir.rstrip('/')}/{self.config.job_name}")
        return self.describe()


def split_rows(data: PreparedData, config: JobConfig):
    """How candidates are scored (a `tuning.DataPlan`), the rows the dpp transforms are fitted on, and the
    holdout rows (None for k-fold or a separate validation file)."""
    n = len(data.features)
    n_classes = 0 if data.problem_type == REGRESSION else len(data.label_transform.classes_)
    if data.valid_features is not None:
        return tuning.DataPlan(data.y, None, data.valid_y, n_classes), np.arange(n), None
    if n <= CV_MAX_ROWS:
        folds = _folds(data.y, data.problem_type, config.seed)
        return tuning.DataPlan(data.y, folds, None, n_classes), np.arange(n), None
    stratify = data.y if data.problem_type != REGRESSION and np.bincount(data.y).min() >= 2 else None
    train, valid = train_test_split(np.arange(n), test_size=config.validation_fraction, random_state=config.seed,
                                    stratify=stratify)
    train, valid = np.sort(train), np.sort(valid)
    return tuning.DataPlan(data.y[train], None, data.y[valid], n_classes), train, valid


def fit_transforms(data: PreparedData, train_rows, valid_rows, definitions=None, deadline: float | None = None,
                   workers: int = 1):
    """Fit each dpp's feature transform once and cache its output, so trials fit only the model.

    Returns the matrices by candidate label ((train, valid) pairs), the fitted transforms, and a message for each
    dpp whose transform failed or that the ``deadline`` left no time for (that dpp is left out, the others go on).
    With several ``workers`` the dpps are fitted in forked processes, side by side.
    """
    global _TRANSFORM_INPUT
    train_features = data.features.iloc[train_rows]
    valid_features = data.features.iloc[valid_rows] if valid_rows is not None else data.valid_features
    definitions = definitions or data.definitions
    _TRANSFORM_INPUT = (train_features, valid_features, deadline)  # forked workers inherit it: nothing is pickled
    try:
        if workers > 1 and len(definitions) > 1 and FORK is not None:
            with ProcessPoolExecutor(min(workers, len(definitions)), mp_context=FORK,
                                     initializer=_one_thread) as pool:
                outcomes = list(pool.map(_fit_transform, definitions))
        else:
            outcomes = [_fit_transform(d) for d in definitions]
    finally:
        _TRANSFORM_INPUT = None
    matrices, transforms, failures = {}, {}, []
    for definition, (transform, train_matrix, valid_matrix, failure) in zip(definitions, outcomes):
        if failure:
            failures.append(f"{definition.label}: {failure}")
        else:
            matrices[definition.label] = (train_matrix, valid_matrix)
            transforms[definition.label] = transform
    return matrices, transforms, failures


_TRANSFORM_INPUT = None


def _one_thread() -> None:
    """Side by side, each process's BLAS (the PCA steps) keeps to one thread instead of fighting for both cores."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _fit_transform(definition):
    """One dpp's fitted transform and its train and validation matrices, or why there are none."""
    train_features, valid_features, deadline = _TRANSFORM_INPUT
    if deadline is not None and time.time() >= deadline:
        return None, None, None, "skipped, MaxAutoMLJobRuntimeInSeconds reached in feature engineering"
    try:
        transform = definition.build_feature_transform()
        train_matrix = transform.fit_transform(train_features)
        valid_matrix = transform.transform(valid_features) if valid_features is not None else None
    except Exception as error:
        return None, None, None, f"feature transform failed: {error}"
    return transform, train_matrix, valid_matrix, ""


def tuning_predictions(outcome: tuning.Outcome, plan: tuning.DataPlan, matrices: dict):
    """The best trial's validation predictions: each fold model's on its held-out fold, or the holdout's; with the
    labels they are scored against, no row weights, and what they are."""
    best, model = outcome.best, outcome.best_model
    if best is None:
        return None
    train, valid = matrices[best.candidate]
    if not plan.folds:
        return plan.y_valid, model.predict_raw(valid), None, "the validation rows"
    prediction = None
    for fold_model, (_, held) in zip(model.models, plan.folds):
        part = predict_raw(fold_model, train[held], model.problem_type, model.n_classes)
        if prediction is None:
            prediction = np.zeros((len(plan.y_train),) + part.shape[1:])
        prediction[held] = part
    return plan.y_train, prediction, None, f"out of fold, {len(plan.folds)}-fold cross-validation"


def ensemble_predictions(best, outcome, data: ensembling.Data):
    """The best ENSEMBLING candidate's validation predictions (out of fold, or on the validation file)."""
    weights = best.members or {best.name: 1.0}
    on_valid = data.y_valid is not None
    prediction = sum(w * (outcome.fitted[name].valid if on_valid else outcome.fitted[name].oof)
                     for name, w in weights.items())
    if on_valid:
        return data.y_valid, prediction, data.valid_weight, "the validation file"
    return data.y, prediction, data.sample_weight, f"out of fold, {len(data.folds)}-fold cross-validation"


def ensembling_data(data: PreparedData, matrices: dict, seed: int) -> ensembling.Data:
    """The ENSEMBLING search's input: each view's (train, valid) matrices, the labels, weights and folds."""
    has_valid = data.valid_y is not None
    return ensembling.Data(
        views={view: train for view, (train, _) in matrices.items()}, y=data.y,
        folds=_folds(data.y, data.problem_type, seed), sample_weight=data.sample_weight,
        valid_views={view: valid for view, (_, valid) in matrices.items()} if has_valid else None,
        y_valid=data.valid_y, valid_weight=data.valid_weight,
    )


def ensembling_settings(config: JobConfig, data: PreparedData, deadline: float | None = None) -> ensembling.Settings:
    return ensembling.Settings(
        problem_type=data.problem_type, objective=data.objective, n_classes=data.n_classes, deadline=deadline,
        per_model_limit=config.max_runtime_per_training_job, workers=_workers(config), seed=config.seed,
    )


def ensemble_of(best, fitted: dict, problem_type: str) -> WeightedEnsemble:
    """The final model's estimator: the best candidate's members (a base model alone has weight one), with
    the level-1 models its level-2 members stack on."""
    weights = best.members or {best.name: 1.0}
    models: dict = {}
    names = list(weights)
    while names:
        name = names.pop()
        if name not in models:
            result = fitted[name].result
            models[name] = (fitted[name].model, ensembling.FAMILIES[result.algorithm].view, list(result.inputs))
            names.extend(result.inputs)
    return WeightedEnsemble(weights, models, problem_type)


def tuning_settings(config: JobConfig, data: PreparedData, deadline: float | None = None) -> tuning.Settings:
    workers = _workers(config)
    return tuning.Settings(
        problem_type=data.problem_type, objective=data.objective, max_trials=config.effective_max_candidates,
        deadline=deadline, per_trial_limit=config.max_runtime_per_training_job,
        workers=workers, seed=config.seed, sight=config.trials_in_flight or max(tuning.SIGHT, workers),
    )


def _folds(y: np.ndarray, problem_type: str, seed: int) -> list:
    index = np.zeros(len(y))
    if problem_type != REGRESSION and np.bincount(y).min() >= CV_FOLDS:
        splitter = StratifiedKFold(CV_FOLDS, shuffle=True, random_state=seed)
    else:
        splitter = KFold(CV_FOLDS, shuffle=True, random_state=seed)
    return list(splitter.split(index, y))


def _rank(trials: list, direction: str) -> list:
    completed = [t for t in trials if t.status == tuning.COMPLETED]
    completed.sort(key=lambda t: (t.objective if direction == "Minimize" else -t.objective, t.number))
    return completed + [t for t in trials if t.status != tuning.COMPLETED]


def _workers(config: JobConfig) -> int:
    """Trials (and dpp transforms) run at once: as asked, else one per core, at most two."""
    return config.workers or max(1, min(2, os.cpu_count() or 1))


def _json(value) -> str:
    import json

    return json.dumps(value, sort_keys=True)
