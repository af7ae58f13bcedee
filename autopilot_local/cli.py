"""The ``autopilot-local`` command: thin over the job, the artifacts and the model."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import InputError
from .vocabulary import COMPLETED, IN_PROGRESS, PROBLEM_TYPES, REGRESSION

EXIT_INPUT_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    """Run the command in ``argv`` (default: the process's arguments) and return its exit status."""
    started = time.time()  # a job's clock starts with the command, before the imports it waits for
    parser = _parser()
    args = parser.parse_args(argv)
    args.started = started
    try:
        return args.handler(args) or 0
    except InputError as error:
        print(f"autopilot-local: error: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("autopilot-local: interrupted", file=sys.stderr)
        return 130


class _Parser(argparse.ArgumentParser):
    """A parser that takes no abbreviated option: --max-runtime must not quietly mean the per-trial limit."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **({"allow_abbrev": False} | kwargs))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="autopilot-local", description="SageMaker Autopilot's AutoML job, locally.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run an AutoML job on a table")
    run.add_argument("data", nargs="?", help="training data: CSV (header present; .gz or .zip too) or Parquet")
    run.add_argument("--target", help="the column to predict (TargetAttributeName)")
    run.add_argument("--job-name", help="AutoMLJobName (default: the file's name and a timestamp)")
    run.add_argument("--output", help="folder the job folder is written into (default ./jobs)")
    run.add_argument("--problem-type", choices=PROBLEM_TYPES)
    run.add_argument("--objective", help="objective metric, e.g. MSE, F1, Accuracy, AUC")
    run.add_argument("--max-candidates", type=int, help="MaxCandidates (default 250)")
    run.add_argument("--max-runtime-per-training-job", type=int, metavar="S", help="MaxRuntimePerTrainingJobInSeconds")
    run.add_argument("--max-job-runtime", type=int, metavar="S", help="MaxAutoMLJobRuntimeInSeconds")
    run.add_argument("--validation-fraction", type=float, help="ValidationFraction (default 0.2)")
    run.add_argument("--validation-data", help="a separate validation file (Autopilot's validation channel)")
    run.add_argument("--algorithms", help="comma-separated AutoMLAlgorithms (default: all of the mode's): "
                     "xgboost,linear-learner,mlp for HYPERPARAMETER_TUNING; lightgbm,catboost,xgboost,randomforest,"
                     "extra-trees,linear-learner,nn-torch,fastai for ENSEMBLING")
    run.add_argument("--mode", help="HYPERPARAMETER_TUNING (default), ENSEMBLING, or AUTO (ENSEMBLING for data under "
                     "100 MB)")
    run.add_argument("--sample-weight", metavar="COLUMN",
                     help="SampleWeightAttributeName: a column of non-negative row weights (ENSEMBLING only)")
    run.add_argument("--seed", type=int, help="random seed (default 0)")
    run.add_argument("--workers", type=int, help="trials this machine runs at once (default: one per core, at most 2)")
    run.add_argument("--trials-in-flight", type=int, metavar="N",
                     help="trials that may run at once across all workers (default: 4, or --workers if more); "
                          "a seed reproduces the search for a given N")
    run.add_argument("--storage", metavar="URL",
                     help="an Optuna database URL (postgresql://user@host/db) that `worker` processes on other "
                          "machines join; default: SQLite in the job folder")
    run.add_argument("--allow-small", action="store_true", default=None, help="allow fewer than 500 rows")
    run.add_argument("--candidate-definitions-only", action="store_true", default=None,
                     help="stop after generating the candidates (GenerateCandidateDefinitionsOnly)")
    run.add_argument("--request", metavar="FILE", help="a CreateAutoMLJobV2 request JSON; flags override it")
    run.add_argument("--quiet", action="store_true", help="no progress bar or leaderboard")
    run.set_defaults(handler=_run)

    resume = commands.add_parser("resume", help="continue a job that was killed: finished trials are kept")
    resume.add_argument("job", help="the job folder")
    resume.add_argument("--storage", metavar="URL", help="the job's storage URL, if it held a password")
    resume.add_argument("--quiet", action="store_true", help="no progress bar or leaderboard")
    resume.set_defaults(handler=_resume)

    worker = commands.add_parser("worker", help="join a job running with --storage and run its trials, from any "
                                                "machine that reaches the storage")
    worker.add_argument("job", help="the job's name (AutoMLJobName)")
    worker.add_argument("--storage", required=True, metavar="URL", help="the job's storage URL")
    worker.add_argument("--workers", type=int, default=1, help="trials this machine runs at once (default 1)")
    worker.add_argument("--data", help="the job's training file, where it lies at another path on this machine")
    worker.add_argument("--validation-data", help="the job's validation file, likewise")
    worker.add_argument("--wait", type=float, default=600, metavar="S",
                        help="seconds to wait for the job to appear in the storage (default 600)")
    worker.add_argument("--quiet", action="store_true", help="no line per trial")
    worker.set_defaults(handler=_worker)

    stop = commands.add_parser("stop", help="stop a running job (StopAutoMLJob): its best candidate is written")
    stop.add_argument("job", help="the job folder")
    stop.add_argument("--wait", type=float, default=120, metavar="S", help="seconds to wait for it to end")
    stop.set_defaults(handler=_stop)

    describe = commands.add_parser("describe", help="print the job's DescribeAutoMLJobV2 JSON")
    describe.add_argument("job", help="the job folder")
    describe.add_argument("--v1", action="store_true", help="DescribeAutoMLJob's (V1) response instead")
    describe.set_defaults(handler=_describe)

    candidates = commands.add_parser("candidates", help="print the job's ListCandidatesForAutoMLJob JSON")
    candidates.add_argument("job", help="the job folder")
    candidates.add_argument("--status-equals", help="StatusEquals: Completed, InProgress, Failed, Stopped, Stopping")
    candidates.add_argument("--candidate-name", help="CandidateNameEquals")
    candidates.add_argument("--sort-by", help="SortBy: CreationTime (default), Status, FinalObjectiveMetricValue")
    candidates.add_argument("--sort-order", help="SortOrder: Ascending (default), Descending")
    candidates.add_argument("--max-results", type=int, metavar="N", help="MaxResults, 1-300 (default: all)")
    candidates.add_argument("--next-token", metavar="T", help="NextToken of the previous page")
    candidates.set_defaults(handler=_candidates)

    predict = commands.add_parser("predict", help="batch transform: predict rows of a file with the best candidate")
    predict.add_argument("job", help="the job folder")
    predict.add_argument("data", help="CSV or Parquet with the training columns (the target may be absent)")
    predict.add_argument("--output", help="write here instead of standard output")
    predict.add_argument("--probabilities", action="store_true", help="add the probability of each class")
    predict.set_defaults(handler=_predict)

    explain = commands.add_parser("explain", help="SHAP values of the best candidate for rows of a file, on the "
                                                  "original columns")
    explain.add_argument("job", help="the job folder")
    explain.add_argument("data", help="CSV or Parquet with the training columns (the target may be absent)")
    explain.add_argument("--output", help="write the CSV here instead of standard output")
    explain.set_defaults(handler=_explain)

    serve = commands.add_parser("serve", help="a local endpoint for the best candidate (SageMaker's /ping and "
                                              "/invocations contract)")
    serve.add_argument("job", help="the job folder")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free port)")
    serve.add_argument("--output-keys", metavar="KEYS",
                       help="classification response keys, comma-separated: predicted_label,probability,"
                            "probabilities,labels (default: $SAGEMAKER_INFERENCE_OUTPUT, else predicted_label)")
    serve.set_defaults(handler=_serve)

    parity = commands.add_parser("parity", help="run a real Autopilot job's settings locally on its data and "
                                                "report where the two agree")
    source = parity.add_mutually_exclusive_group(required=True)
    source.add_argument("--job-name", help="the job in your AWS account (boto3 reads it with your credentials)")
    source.add_argument("--from-dir", metavar="DIR", help="a folder of the job's downloaded artifacts: describe.json, "
                                                          "candidates.json, notebooks, data")
    parity.add_argument("--data", help="the training file, where it is not under DIR by its S3 name")
    parity.add_argument("--region", help="AWS region (--job-name)")
    parity.add_argument("--profile", help="AWS profile (--job-name)")
    parity.add_argument("--output", default="jobs", help="folder the local job is written into (default ./jobs)")
    parity.add_argument("--local-job-name", help="the local job's name (default: the cloud job's, with -local)")
    parity.add_argument("--max-candidates", type=int, help="the local run's MaxCandidates instead of the cloud's")
    parity.add_argument("--max-job-runtime", type=int, metavar="S", help="the local run's job runtime limit instead")
    parity.add_argument("--seed", type=int, default=0, help="random seed of the local run (default 0)")
    parity.add_argument("--quiet", action="store_true", help="no progress bar")
    parity.set_defaults(handler=_parity)

    server = commands.add_parser("server", help="SageMaker's API locally (Autopilot's jobs; S3 and STS from moto): "
                                                "point boto3 or a SageMaker SDK at it with AWS_ENDPOINT_URL")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free port)")
    server.add_argument("--max-concurrent-jobs", type=int, default=1, metavar="N",
                        help="AutoML jobs that run at once; the others wait as InProgress (default 1)")
    server.add_argument("--max-active-jobs", type=int, default=100, metavar="N",
                        help="AutoML jobs InProgress at once, running or waiting; past it CreateAutoMLJob is "
                             "ResourceLimitExceeded (default 100)")
    server.add_argument("--max-endpoints", type=int, default=10, metavar="N",
                        help="endpoints at once, each a model process per core; past it CreateEndpoint is "
                             "ResourceLimitExceeded (default 10)")
    server.set_defaults(handler=_server)

    demo = commands.add_parser("demo", help="a full job on the Ames housing prices, in about a minute")
    demo.add_argument("--output", default="jobs", help="folder the job folder is written into (default ./jobs)")
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(handler=_demo)
    return parser


def _run(args) -> int:
    from .config import JobConfig

    settings = {
        "data": args.data, "target": args.target, "job_name": args.job_name, "output_dir": args.output,
        "problem_type": args.problem_type, "objective": args.objective, "max_candidates": args.max_candidates,
        "max_runtime_per_training_job": args.max_runtime_per_training_job, "max_job_runtime": args.max_job_runtime,
        "validation_fraction": args.validation_fraction, "validation_data": args.validation_data,
        "algorithms": tuple(a.strip() for a in args.algorithms.split(",")) if args.algorithms else None,
        "mode": args.mode, "sample_weight": args.sample_weight, "seed": args.seed,
        "workers": args.workers, "trials_in_flight": args.trials_in_flight, "storage": args.storage,
        "allow_small": args.allow_small, "candidate_definitions_only": args.candidate_definitions_only,
    }
    if args.request:
        config = JobConfig.from_request_file(args.request, **settings)
        if config.cloud_only_settings and not args.quiet:  # said once, where the user's request comes in
            print(f"autopilot-local: {', '.join(config.cloud_only_settings)} kept in request.json, without effect "
                  "on a local job", file=sys.stderr)
    else:
        if not args.data or not args.target:
            raise InputError("run needs a data file and --target (or --request FILE)")
        config = JobConfig(**{k: v for k, v in settings.items() if v is not None})
    return _run_config(config, args.quiet, args.started)


def _run_config(config, quiet: bool, started: float) -> int:
    from .job import run_job

    return _execute(lambda reporter: run_job(config, reporter, started), config.job_dir, quiet)


def _resume(args) -> int:
    from .job import resume_job

    return _execute(lambda reporter: resume_job(args.job, reporter, args.storage), Path(args.job), args.quiet)


def _worker(args) -> int:
    from .job import run_worker

    if args.workers < 1:
        raise InputError(f"workers must be at least 1, got {args.workers}")
    run_worker(args.job, args.storage, args.workers, args.data, args.validation_data, args.wait,
               log=(lambda message: None) if args.quiet else None)
    return 0


def _execute(job, job_dir: Path, quiet: bool) -> int:
    """Run ``job(reporter)`` to its end; print the leaderboard unless ``quiet``. A failed job exits 1."""
    from .progress import Reporter, RichReporter

    started = time.time()
    try:
        document = job(Reporter() if quiet else RichReporter())
    except InputError:
        raise
    except Exception as error:
        print(f"autopilot-local: job {Path(job_dir).name} failed: {error}", file=sys.stderr)
        return 1
    if not quiet:
        _print_summary(job_dir, document, time.time() - started)
    return 0


def _stop(args) -> int:
    """Ask the running job to stop, as StopAutoMLJob does, and wait for it to write its best candidate."""
    from .files import JobFolder, read_json

    folder = JobFolder.existing(args.job)
    status = read_json(folder.job_json)["AutoMLJobStatus"]
    if status != IN_PROGRESS:
        raise InputError(f"job {folder.root.name} is {status}: there is nothing to stop")
    folder.stop_request.parent.mkdir(parents=True, exist_ok=True)
    folder.stop_request.touch()
    ends = time.time() + args.wait
    while time.time() < ends:
        status = read_json(folder.job_json)["AutoMLJobStatus"]
        if status != IN_PROGRESS:
            print(f"job {folder.root.name}: {status}")
            return 0
        time.sleep(0.5)
    print(f"autopilot-local: job {folder.root.name} has not stopped within {args.wait:g} s; if no process runs it, "
          "`autopilot-local resume` continues it", file=sys.stderr)
    return 1


def _seconds(candidate: dict) -> float:
    from datetime import datetime

    ended, started = (datetime.fromisoformat(candidate[k]) for k in ("EndTime", "CreationTime"))
    return (ended - started).total_seconds()


def _print_summary(job_dir: Path, document: dict, seconds: float) -> None:
    import csv

    from rich.console import Console
    from rich.table import Table

    from .files import JobFolder, read_json

    console = Console()
    folder = JobFolder(job_dir)
    board, listed = folder.leaderboard_csv, folder.candidates_json
    rows = list(csv.DictReader(board.open(encoding="utf-8"))) if board.exists() else []
    if rows:
        took = {c["CandidateName"]: _seconds(c) for c in read_json(listed)["Candidates"]}
        metric = document["AutoMLJobObjective"]["MetricName"]
        table = Table(title=f"Leaderboard (top 10 of {len(rows)})")
        for column in ("#", "candidate", "pipeline", "algorithm", metric, "seconds"):
            table.add_column(column, justify="right" if column in ("#", metric, "seconds") else "left")
        for row in [r for r in rows if r["status"] == COMPLETED][:10]:
            table.add_row(row["rank"], row["candidate_name"], row["pipeline"], row["algorithm"],
                          f"{float(row['objective_value']):.5g}", f"{took[row['candidate_name']]:.1f}")
        console.print(table)
    status = f"{document['AutoMLJobStatus']} ({document['AutoMLJobSecondaryStatus']})"
    console.print(f"Job {document['AutoMLJobName']}: {status} in {seconds:.0f} s")
    if "BestCandidate" in document:
        best = document["BestCandidate"]
        metric = best["FinalAutoMLJobObjectiveMetric"]
        console.print(f"Best candidate {best['CandidateName']}: {metric['MetricName']} = {metric['Value']:.6g}")
    console.print(f"Results: {job_dir.resolve()}")


def _describe(args) -> int:
    import json

    from . import api

    describe = api.describe_auto_ml_job if args.v1 else api.describe_auto_ml_job_v2
    print(json.dumps(describe(args.job), indent=2, ensure_ascii=False))
    return 0


def _candidates(args) -> int:
    import json

    from .api import list_candidates_for_auto_ml_job

    response = list_candidates_for_auto_ml_job(
        args.job, status_equals=args.status_equals, candidate_name_equals=args.candidate_name,
        sort_order=args.sort_order, sort_by=args.sort_by, max_results=args.max_results, next_token=args.next_token)
    print(json.dumps(response, indent=2, ensure_ascii=False))
    return 0


def _predict(args) -> int:
    """Stream the rows through the model chunk by chunk; a file output appears whole or not at all."""
    import os

    from .predict import DEFAULT_KEYS, INFERENCE_KEYS, load_best_model, write_predictions

    model = load_best_model(Path(args.job))
    keys = INFERENCE_KEYS if args.probabilities and model.problem_type != REGRESSION else DEFAULT_KEYS
    if not args.output:
        write_predictions(model, args.data, sys.stdout, keys, header=args.probabilities)
        return 0
    partial = Path(f"{args.output}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as out:
            write_predictions(model, args.data, out, keys, header=args.probabilities)
        os.replace(partial, args.output)
    except OSError as error:
        raise InputError(f"cannot write {args.output}: {error.strerror or error}") from None
    finally:
        partial.unlink(missing_ok=True)
    return 0


def _explain(args) -> int:
    """One line per row: the base value, what the attributions add up to, and each original column's share."""
    from .files import write_atomic
    from .io import read_table
    from .reports.explain import explain_job

    explanation = explain_job(Path(args.job), read_table(args.data))
    text = explanation.to_frame().to_csv(index=False)
    if args.output:
        write_atomic(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


def _serve(args) -> int:
    from .serve import serve

    if not 0 <= args.port <= 65535:
        raise InputError(f"port must be between 0 and 65535, got {args.port}")
    serve(Path(args.job), args.host, args.port, args.output_keys)
    return 0


def _server(args) -> int:
    from .service import serve

    if not 0 <= args.port <= 65535:
        raise InputError(f"port must be between 0 and 65535, got {args.port}")
    for option, value in (("max concurrent jobs", args.max_concurrent_jobs), ("max active jobs", args.max_active_jobs),
                          ("max endpoints", args.max_endpoints)):
        if value < 1:
            raise InputError(f"{option} must be at least 1, got {value}")
    serve(args.host, args.port, args.max_concurrent_jobs, args.max_active_jobs, args.max_endpoints)
    return 0


def _parity(args) -> int:
    from .parity import report, sources
    from .progress import Reporter, RichReporter
    from .registry import home

    if args.job_name:
        folder = sources.fetch(args.job_name, home() / "parity" / args.job_name, region=args.region,
                               profile=args.profile)
    else:
        folder = Path(args.from_dir)
    cloud = sources.from_dir(folder, args.data)
    document = report.compare(cloud, args.output, args.local_job_name, args.max_candidates, args.max_job_runtime,
                              args.seed, Reporter() if args.quiet else RichReporter())
    objective = next(row for row in document["rows"] if row["item"].startswith("best "))
    print(f"{objective['item']}: Autopilot {objective['cloud']}, autopilot-local {objective['local']} "
          f"(ratio {objective['ratio']}, {objective['verdict']})")
    print(f"Report: {Path(document['local_folder']) / 'parity' / 'parity-report.md'}")
    return 0


def _demo(args) -> int:
    from .demo import demo_config

    config = demo_config(args.output)
    print(f"Demo: predicting sale prices of {config.data} (Ames housing), "
          f"{config.max_candidates} candidates or {config.max_job_runtime} s", file=sys.stderr)
    return _run_config(config, args.quiet, args.started)


if __name__ == "__main__":
    sys.exit(main())
