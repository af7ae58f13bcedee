"""The AutoML job: its state machine (Starting, AnalyzingData, ... Completed, Failed or Stopped), its folder, and
the ways in: `run_job`, `resume_job`, and `run_worker` for a job's trials run from another machine.

The stages themselves are plain functions on plain data (`stages`); `Job` calls them in order and keeps the status
the job folder reports while it runs. Every problem with the user's input is found before the job folder is
created, so bad input never leaves a half-made folder behind.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from . import artifacts, ensembling, registry, s3, tuning
from .config import JobConfig
from .ensembling.model import Views
from .errors import InputError
from .files import JobFolder, dump_model, json_text, load_model, read_json, write_atomic, write_json
from .model import CandidateModel
from .notebooks import write_candidate_artifacts
from .progress import Reporter
from .reports import explainability, performance, treeshap
from .stages import (
    DEADLINE_SKIP,
    PreparedData,
    ensemble_from,
    ensemble_of,
    ensemble_predictions,
    ensembling_data,
    ensembling_settings,
    fit_transforms,
    prepare,
    rank,
    split_rows,
    tuning_predictions,
    tuning_settings,
    workers_of,
)
from .tuning import worker as tuning_worker
from .tuning.queue import TrialQueue, open_storage, shown_url, this_worker
from .vocabulary import (
    COMPLETED,
    ENSEMBLING,
    FAILED,
    IN_PROGRESS,
    MAX_MESSAGE,
    STOPPED,
)

# What the best candidate's explanation may take: what is left of the job's budget, at most 30 s; 3 s without one
EXPLAIN_SECONDS, EXPLAIN_UNBUDGETED = 30.0, 3.0
LISTING_SECONDS = 1.0  # the least time between two writes of the candidates listed while a job runs


def run_job(config: JobConfig, reporter: Reporter | None = None, started: float | None = None) -> dict:
    """Run one job to its end, writing its folder as it goes.

    Parameters
    ----------
    config : JobConfig
        The job's request.
    reporter : Reporter, optional
        Told of each stage and trial (the command line's progress bar); by default nothing is shown.
    started : float, optional
        ``time.time()`` when the job was asked for, its CreationTime and the start of its budget; by default now.
        The command line gives the moment it started, so that its imports count against the budget too.

    Returns
    -------
    dict
        The job's DescribeAutoMLJobV2 document.

    Raises
    ------
    InputError
        On bad input (nothing is written) or a job folder that already holds a job.
    """
    job = Job(config, reporter or Reporter(), started)
    if job.folder.job_json.exists():
        status = read_json(job.folder.job_json).get("AutoMLJobStatus", "unknown")
        raise InputError(
            f"{job.folder.root} already holds a job (status {status}); choose another --job-name or --output"
        )
    job.set_status(IN_PROGRESS, "AnalyzingData", write=False)
    return job.execute(prepare(config))


def resume_job(job_dir, reporter: Reporter | None = None, storage: str | None = None) -> dict:
    """Continue a job that was killed while it ran: its finished trials are kept, the interrupted ones run again,
    and the budget counts the time the job had already spent.

    Parameters
    ----------
    job_dir : str or Path
        The job's folder.
    reporter : Reporter, optional
        As for `run_job`.
    storage : str, optional
        The job's shared storage, again, where its URL held a password (the job folder keeps none).

    Returns
    -------
    dict
        The job's DescribeAutoMLJobV2 document.
    """
    folder = JobFolder(job_dir)
    if not folder.job_json.exists() or not folder.local_run_json.exists():
        raise InputError(f"{folder.root} is not a job folder that can be resumed (no job.json or local-run.json)")
    described = read_json(folder.job_json)
    status = described["AutoMLJobStatus"]
    if status != IN_PROGRESS:
        raise InputError(f"job {described['AutoMLJobName']} is {status}: only a job that was interrupted resumes")
    local = read_json(folder.local_run_json)
    settings = local["settings"] | ({"storage": storage} if storage else {})
    config = JobConfig.from_request_file(folder.request_json, output_dir=str(folder.root.parent),
                                         job_name=folder.job_name, **settings)
    job = Job(config, reporter or Reporter())
    job.created = datetime.fromisoformat(described["CreationTime"]).timestamp()
    job.history = read_json(folder.history_json)
    job.spent_before = local["active_seconds"]
    job.set_status(IN_PROGRESS, "AnalyzingData")
    return job.execute(prepare(config), resume=True)


class Job:
    """One running job's status and the files that report it."""

    def __init__(self, config: JobConfig, reporter: Reporter, started: float | None = None):
        self.config = config
        self.reporter = reporter
        output = str(config.output_dir).rstrip("/")
        self.folder = JobFolder(config.job_dir, config.job_name, f"{output}/{config.job_name}" if s3.is_s3(output)
                                else None)
        self.created = started or time.time()
        self.status, self.secondary_status = IN_PROGRESS, "Starting"
        self.history = [
            {"Status": IN_PROGRESS, "SecondaryStatus": "Starting", "Time": artifacts.iso_time(self.created)}
        ]
        self.failure_reason = ""
        self.partial_failures: list[str] = []
        self.best: dict | None = None
        self.problem_type = self.objective = None
        self.ended: float | None = None
        self.artifacts: dict = {}
        self.started = self.created  # this run's start (a resumed job's created is the first run's)
        self.queue: TrialQueue | None = None  # the job's trials for any worker, once tuning is ahead
        self.spent_before = 0.0  # seconds earlier runs of this job spent before they were interrupted
        self.mode: str | None = None  # as resolved, once the data is read
        self.compiling = None  # the child compiling the explainer while the job tunes
        self.listing: tuple | None = None  # (data, results so far, when last written) while candidates finish

    # --- status -----------------------------------------------------------------------------------------------

    def set_status(self, status: str, secondary: str, write: bool = True) -> None:
        """Record a status change in the history; with ``write``, report it and rewrite the job's documents."""
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
            document["PartialFailureReasons"] = [{"PartialFailureMessage": m[:MAX_MESSAGE]}
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
        """Write `describe` and the status history into the job folder."""
        write_json(self.folder.job_json, self.describe())
        write_json(self.folder.history_json, self.history)

    # --- the stages -------------------------------------------------------------------------------------------

    def execute(self, data: PreparedData, resume: bool = False) -> dict:
        """Run the job's stages on ``data`` to the end and return its DescribeAutoMLJobV2 document.

        With ``resume`` the job folder already exists and keeps what an earlier run finished. A failure is recorded
        in the job's documents, then raised.
        """
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
            write_json(self.folder.request_json, self.config.to_request())
            self.heartbeat()
            write_json(self.folder.exploration_report, data.report.to_dict())
            write_json(self.folder.candidate_definitions, [d.to_dict() for d in data.definitions])
        self.artifacts = write_candidate_artifacts(self.folder, self.config, data)
        self.write_describe()
        try:
            if not tunes:
                return self._finish(COMPLETED, "CandidateDefinitionsGenerated")
            self.compiling = treeshap.warm_up_in_background()  # the explainer's first use on a machine: seconds
            if ensembles:
                return self._run_ensembling(data, resume)
            storage = storage or self._storage()
            if resume:
                self.queue = TrialQueue(storage, self.config.job_name)
            else:  # workers elsewhere read the job from here and rebuild its data while this process does
                self.queue = TrialQueue.create(storage, self.config.job_name, self._job_for_workers())
            self.set_status(IN_PROGRESS, "FeatureEngineering")
            plan, train_rows, valid_rows = split_rows(data, self.config)
            matrices, transforms = self._transform(data, train_rows, valid_rows)
            self.set_status(IN_PROGRESS, "ModelTuning")
            outcome = self._tune(data, plan, matrices)
            return self._select(data, outcome, transforms, tuning_predictions(outcome, plan, matrices))
        except BaseException as error:
            reason = str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"
            self.failure_reason = reason[:MAX_MESSAGE]
            self._finish(FAILED, FAILED)
            raise

    def _local_settings(self) -> dict:
        """What a run needs beyond the AWS request; a storage URL without its password."""
        return {"seed": self.config.seed, "workers": self.config.workers, "allow_small": self.config.allow_small,
                "trials_in_flight": self.config.trials_in_flight, "storage": shown_url(self.config.storage)}

    def heartbeat(self) -> None:
        """Record the seconds this job has spent (what a resumed run still has) and what it needs to resume."""
        spent = self.spent_before + time.time() - self.started
        write_json(self.folder.local_run_json, {"settings": self._local_settings(), "active_seconds": round(spent, 3)})

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
                                                        workers=workers_of(self.config))
        self.partial_failures.extend(failures)
        if not matrices and failures and all(DEADLINE_SKIP in failure for failure in failures):
            raise self._none_completed("candidate", set(failures))
        if not matrices:
            raise RuntimeError("every candidate's feature transform failed: " + "; ".join(failures))
        if self.queue is not None:
            self.queue.update(candidates={label: tuning_worker.signature(pair) for label, pair in matrices.items()})
        for definition in data.definitions:
            if definition.label in transforms:
                dump_model(self.folder.data_processor_model(definition.name),
                           {"feature_transform": transforms[definition.label], "label_transform": data.label_transform})
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
        self.listing = (data, [], 0.0)
        outcome = tuning.tune(study, self.queue, matrices, plan, settings, on_result=self._on_result)
        self.reporter.finish_tuning()
        return outcome

    def _on_result(self, result, best) -> None:
        self.reporter.trial(result, best)
        self.heartbeat()
        self.write_describe()  # LastModifiedTime moves with every candidate, as the cloud's does
        if self.listing is not None:  # ListCandidatesForAutoMLJob shows candidates as they finish, as AWS's does
            data, results, written = self.listing
            results.append(result)
            if time.time() - written >= LISTING_SECONDS:  # at most once a second: the list is rewritten whole
                self._write_candidates(data, results, None, None)
                self.listing = (data, results, time.time())

    def _select(self, data: PreparedData, outcome: tuning.Outcome, transforms, evaluated) -> dict:
        if outcome.best is None and outcome.stop_reason == STOPPED:  # stopped before a candidate finished
            self._write_candidates(data, outcome.trials, None, None)
            return self._finish(STOPPED, STOPPED)
        if outcome.best is None:  # a failed job lists its failed candidates, as AWS does
            self._write_candidates(data, outcome.trials, None, None)
            raise self._none_completed("candidate", {t.failure_reason for t in outcome.trials if t.failure_reason})
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
        model_path = self.folder.candidate_model(model.name, best.dpp, tuning.ALGORITHMS[best.algorithm].short_name)
        dump_model(model_path, model)
        self._write_reports(data, model, best.train_metrics, *evaluated)
        documents = self._write_candidates(data, outcome.trials, outcome.best, model_path)
        self.best = documents[0]
        if outcome.stop_reason == STOPPED:
            return self._finish(STOPPED, STOPPED)
        return self._finish(COMPLETED, outcome.stop_reason)

    def _write_candidates(self, data: PreparedData, results: list, best, model_path) -> list[dict]:
        """candidates.json and leaderboard.csv: every candidate, best first (an ENSEMBLING job's base models and
        ensembles, scored out of fold, with the ensembles' weights and what level 2 stacked on)."""
        ranked = rank(results, data.objective)
        documents = [
            artifacts.candidate_document(self.folder, trial, data.objective, data.problem_type,
                                         model_path if trial is best else self._model_on_demand(trial, data.mode),
                                         data.mode, reported=trial is best)
            for trial in ranked
        ]
        write_json(self.folder.candidates_json, {"Candidates": documents})
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
        write_atomic(self.folder.leaderboard_csv, artifacts.leaderboard_csv(rows))
        return documents

    def _model_on_demand(self, trial, mode: str) -> Path | None:
        """Where a candidate other than the best has its model once asked for (`candidate_model_file` builds it
        then), so that its InferenceContainers can be deployed as the best's can; None where there is none."""
        if trial.status != COMPLETED:
            return None
        if mode == ENSEMBLING:
            return self.folder.ensemble_model(trial.candidate_name(self.config.job_name))
        return self.folder.candidate_model(trial.candidate_name(self.config.job_name), trial.dpp,
                                           tuning.ALGORITHMS[trial.algorithm].short_name)

    # --- ENSEMBLING -------------------------------------------------------------------------------------------

    def _run_ensembling(self, data: PreparedData, resume: bool) -> dict:
        self.set_status(IN_PROGRESS, "FeatureEngineering")
        matrices, transforms = self._transform(data, np.arange(len(data.features)), None)
        self.set_status(IN_PROGRESS, "TrainingModels")
        views = {d.algorithm: d.label for d in data.definitions if d.label in matrices}
        prepared = ensembling_data(data, {view: matrices[label] for view, label in views.items()},
                                   self.config.seed)
        settings = ensembling_settings(self.config, data, self._deadline())
        settings.stop_file = str(self.folder.stop_request)
        done = self._fitted_models() if resume else {}
        stack_inputs = next((f.result.inputs for f in done.values() if f.result.level == 2), None)
        self.reporter.start_tuning(len(data.plan) + 2, settings.deadline, data.objective)  # and two ensembles
        self.listing = (data, [], 0.0)
        outcome = ensembling.run(prepared, data.plan, settings, done=done, stack_inputs=stack_inputs,
                                 on_result=self._on_result, on_fitted=self._save_fitted)
        self.reporter.finish_tuning()
        if outcome.best is None:
            self._write_candidates(data, outcome.results, None, None)
            if outcome.stop_reason == STOPPED:
                return self._finish(STOPPED, STOPPED)
            raise self._none_completed("model", {r.failure_reason for r in outcome.results if r.failure_reason})
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
        dump_model(model_path, model)
        self._write_reports(data, model, best.train_metrics, *ensemble_predictions(best, outcome, prepared))
        self.best = self._write_candidates(data, outcome.results, outcome.best, model_path)[0]
        if outcome.stop_reason == STOPPED:
            return self._finish(STOPPED, STOPPED)
        return self._finish(COMPLETED, outcome.stop_reason)

    def _write_reports(self, data: PreparedData, model: CandidateModel, train_metrics: dict, y, prediction, weight,
                       evaluated_on):
        """The best candidate's model performance report (on its validation predictions) and explainability
        report (SHAP on a sample of the training rows), JSON and HTML, under documentation/."""
        self.set_status(IN_PROGRESS, "GeneratingModelInsightsReport")
        labels = tuple(getattr(data.label_transform, "classes_", ()))
        report = performance.build(model.name, data.problem_type, data.objective, y, prediction, labels, weight,
                                   evaluated_on, self.config.seed, train_metrics)
        _write_report(self.folder.model_insights(model.name), report, performance.render_html(report, y, prediction))
        self.set_status(IN_PROGRESS, "GeneratingExplainabilityReport")
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
        _write_report(self.folder.explainability(model.name), report, page)

    def _save_fitted(self, fitted) -> None:
        """Keep each finished base model in the job folder, so a resumed job does not train it again."""
        dump_model(self.folder.base_model(fitted.result.name), fitted)

    def _fitted_models(self) -> dict:
        return {path.stem: load_model(path) for path in sorted(self.folder.base_models.glob("*.joblib"))}

    def _none_completed(self, what: str, reasons: set) -> Exception:
        """The failure of a job that finished no candidate, with the candidates' reasons. When the budget ran out,
        it is the setting at fault (an `InputError`): the message says where the time went and a budget that
        would leave room for a candidate."""
        shown = f" ({'; '.join(sorted(reasons))[:400]})" if reasons else ""
        budget, deadline = self.config.max_job_runtime, self._deadline()
        if not budget or time.time() < deadline - 1.0:
            return RuntimeError(f"no {what} completed{shown}")
        stages = self._stage_seconds()
        spent = ", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in stages.items())
        before = sum(seconds for stage, seconds in stages.items() if stage not in ("ModelTuning", "TrainingModels"))
        return InputError(f"no {what} completed in MaxAutoMLJobRuntimeInSeconds={budget}: {spent}; "
                          f"{max(stages, key=stages.get)} took the most. Try MaxAutoMLJobRuntimeInSeconds="
                          f"{_round_up(max(2 * budget, 3 * before))} or more{shown}")

    def _stage_seconds(self) -> dict:
        """Seconds this run spent in each secondary status so far, in order (an earlier run's are not counted)."""
        seconds: dict = {}
        times = [datetime.fromisoformat(entry["Time"]).timestamp() for entry in self.history] + [time.time()]
        for entry, start, end in zip(self.history, times, times[1:]):
            if end > self.started:
                seconds[entry["SecondaryStatus"]] = seconds.get(entry["SecondaryStatus"], 0.0) + end - max(start,
                                                                                                         self.started)
        return seconds

    def _finish(self, status: str, secondary: str) -> dict:
        self.ended = time.time()
        self.set_status(status, secondary, write=False)
        if self.queue is not None:  # the job's workers elsewhere end with it
            self.queue.update(state=status)
        if self.folder.uri is not None:  # in the bucket, final documents included, before the job says it ended
            final = {self.folder.job_json: self.describe(), self.folder.history_json: self.history}
            s3.upload_folder(self.folder.root, self.folder.uri, {path.name: json_text(document)
                                                                for path, document in final.items()})
        self.reporter.stage(secondary)
        self.write_describe()
        return self.describe()


def _write_report(folder: Path, report: dict, page: str) -> None:
    """A report as Autopilot's documentation keeps it: its JSON, and one HTML page beside it."""
    write_json(folder / "report.json", report)
    write_atomic(folder / "report.html", page)


def _json(value) -> str:
    return json.dumps(value, sort_keys=True)


def candidate_model_file(job_dir, candidate_name: str) -> Path:
    """The model file of any completed candidate of a job, built the first time it is asked for.

    Only the best candidate's model is kept when a job ends. Another tuned candidate's is fitted again from the
    job's data, its dpp and its hyperparameters (as its trial fitted it, so with the job's seed it predicts as
    the trial did); an ENSEMBLING job's other candidates are put together from the base models the job kept and
    the best's feature views, with no fitting. Either is written where its InferenceContainers say.

    Parameters
    ----------
    job_dir : str or Path
        The job's folder.
    candidate_name : str
        One of its candidates, as ListCandidatesForAutoMLJob names it.

    Raises
    ------
    InputError
        For a candidate the job does not have, or one that did not complete.
    """
    folder = JobFolder.existing(job_dir)
    saved = folder.saved_model(candidate_name)
    if saved is not None:
        return saved
    rows = {row["candidate_name"]: row for row in csv.DictReader(folder.leaderboard_csv.open(encoding="utf-8"))}
    row = rows.get(candidate_name)
    if row is None or row["status"] != COMPLETED:
        raise InputError(f"job {folder.job_name} has no completed candidate {candidate_name!r} to build")
    if "level" in row:
        path, model = folder.ensemble_model(candidate_name), _ensembled_candidate(folder, row)
    else:
        path = folder.candidate_model(candidate_name, row["pipeline"], tuning.ALGORITHMS[row["algorithm"]].short_name)
        model = _tuned_candidate(folder, row)
    dump_model(path, model)
    return path


def _round_up(seconds: float) -> int:
    """``seconds`` up to the next ten, as a budget is given."""
    return int(-(-seconds // 10) * 10)


def _tuned_candidate(folder: JobFolder, row: dict) -> CandidateModel:
    """A tuned candidate's model, fitted again from its trial."""
    settings = read_json(folder.local_run_json)["settings"]
    config = JobConfig.from_request_file(folder.request_json, output_dir=str(folder.root.parent),
                                         job_name=folder.job_name, seed=settings["seed"],
                                         allow_small=settings["allow_small"], workers=1)
    data = prepare(config)
    plan, train_rows, valid_rows = split_rows(data, config)
    label = f"{row['pipeline']}-{row['algorithm']}"
    definitions = [d for d in data.definitions if d.label == label]
    matrices, transforms, failures = fit_transforms(data, train_rows, valid_rows, definitions=definitions)
    if label not in matrices:
        raise InputError(f"{row['candidate_name']}: {'; '.join(failures) or 'its pipeline is gone from the job'}")
    _, fitted = tuning.evaluate(matrices[label], label, json.loads(row["hyperparameters"]), plan,
                                tuning_settings(config, data))
    if fitted is None:
        raise InputError(f"{row['candidate_name']} could not be fitted again")
    return CandidateModel(row["candidate_name"], list(data.features.columns), transforms[label],
                          data.label_transform, fitted, data.problem_type,
                          [c for c in data.report.column_names if c != config.target])


def _ensembled_candidate(folder: JobFolder, row: dict) -> CandidateModel:
    """An ENSEMBLING candidate's model: its members (itself, for a base model) among the kept base models, behind
    the best's feature views and label transform."""
    best_path = folder.saved_model(read_json(folder.job_json)["BestCandidate"]["CandidateName"])
    if best_path is None:
        raise InputError(f"job {folder.job_name} kept no final model to take the feature views from")
    best = load_model(best_path)
    fitted = {path.stem: load_model(path) for path in sorted(folder.base_models.glob("*.joblib"))}
    weights = json.loads(row["weights"]) if row["weights"] else {
        name: 1.0 for name, kept in fitted.items()
        if kept.result.candidate_name(folder.job_name) == row["candidate_name"]}
    missing = [name for name in weights if name not in fitted] or ([] if weights else [row["candidate_name"]])
    if missing:
        raise InputError(f"{row['candidate_name']}: the job kept no base model {', '.join(missing)}")
    return CandidateModel(row["candidate_name"], best.feature_columns, best.feature_transform, best.label_transform,
                          ensemble_from(weights, fitted, best.problem_type), best.problem_type,
                          best.input_columns)


def run_worker(job_name: str, storage_url: str, slots: int = 1, data: str | None = None,
               validation_data: str | None = None, wait: float = 600.0, log=None) -> int:
    """Join a job that runs with a shared storage, from any machine, and run the trials it claims until the job
    ends; return how many it ran.

    Parameters
    ----------
    job_name : str
        The job's AutoMLJobName.
    storage_url : str
        The job's Optuna storage (``postgresql://...``).
    slots : int, default 1
        Trials this worker runs at once.
    data, validation_data : str, optional
        The job's input files, where they lie at another path on this machine.
    wait : float, default 600
        Seconds to wait for the job to appear in the storage.
    log : callable, optional
        Called with each line of progress; by default they go to standard error.
    """
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    queue = tuning_worker.join(open_storage(storage_url), job_name, wait)
    job = queue.info()
    # the job's own settings decide its data and matrices; where this worker runs is its own choice
    settings = {key: job["settings"][key] for key in ("seed", "allow_small", "trials_in_flight")
                if key in job["settings"]}
    config = JobConfig.from_request(job["request"], **settings, data=data, validation_data=validation_data,
                                    workers=slots)
    for path in filter(None, (config.data, config.validation_data)):
        if "://" not in path and not os.path.exists(path):
            raise InputError(f"job {job_name}'s data file {path} is not on this machine: pass its path with --data")
    log(f"worker {this_worker()}: joined job {job_name}; rebuilding its data and dpp matrices")
    prepared = prepare(config)
    plan, train_rows, valid_rows = split_rows(prepared, config)
    matrices, _, _ = fit_transforms(prepared, train_rows, valid_rows, workers=slots)
    expected = tuning_worker.job_candidates(queue)
    if expected is None:
        return 0  # the job ended before its tuning began
    tuning_worker.check_matrices(matrices, expected, job_name)
    matrices = {label: matrices[label] for label in expected}
    executor = tuning.Executor(queue, matrices, plan, tuning_settings(config, prepared), slots)
    log(f"worker {this_worker()}: running trials of {job_name} ({slots} at once)")
    return tuning_worker.work(executor, job_name, log)
