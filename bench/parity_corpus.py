"""The corpus's parity-ready jobs as `parity --from-dir` folders: a test-side adapter, not product code.

``../shared/autopilot-jobs`` holds real Autopilot jobs' notebooks, some with their training data and the best value
Autopilot reported. For each such job this writes, in a scratch folder, what a user would have downloaded: the
DescribeAutoMLJobV2 response AWS would have returned (built from the folder's ``job.json`` facts), the data as
Autopilot read it (each job's own preparation, as its ``job.json`` tells), and links to the job's notebooks and dpp
facts. ``python -m bench.parity_corpus`` runs ``parity`` on each and prints the table the README quotes.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "autopilot-jobs"
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class CorpusJob:
    folder: str  # the corpus folder
    prepare: object  # corpus folder -> (training frame, validation frame or None), as Autopilot read them


def _titanic(folder: Path):
    return pd.read_csv(folder / "Titanic_train.csv").sample(frac=0.8, random_state=10), None


def _bank(folder: Path):
    return pd.read_csv(folder / "autopilot" / "train_data.csv"), None


WATER_COLUMNS = [
    "doy", "Aquifer", "PE", "month", "mday", "is_holiday", "wday", "API", "lagAPI", "Tmax", "Tmaxlag1", "Sun",
    "Sunlag1", "WVRain", "KerburnRain", "Rain_L7DAYS", "Rain_L6DAYS", "Rain_L5DAYS", "Rain_L4DAYS", "Rain_L3DAYS",
    "Rain_L2DAYS", "Season", "Rainlag1", "Rainlag2", "Rainlag3", "PElag1", "PElag2", "PElag3", "ANcyc", "storage",
    "Storagelag1", "Wellington Low Level fTemp", "Wellington Low Level fPrecp", "Wellington Low Level cm",
    "Wellington Low Level stat", "Wellington Low Level", "Restriction level",
]


def _water(folder: Path):
    frame = pd.read_csv(folder / "data" / "processed" / "Wellington_Low_Level_with_lags.csv")
    frame = frame.rename(columns={"WellingtonLowLevel": "Wellington Low Level"})
    return frame.head(5454)[WATER_COLUMNS], None  # the first 80%, in time order, as the author sent it


def _churn(folder: Path):
    return pd.read_csv(folder / "dataset.txt").sample(frac=0.8, random_state=200), None


def _reviews(folder: Path):
    """Autopilot's own train and validation split, kept by this job: the local model is scored on the same rows."""
    split = next(folder.glob("autopilot/*/preprocessed-data/tuning_data"))

    def chunks(part: str) -> pd.DataFrame:
        files = sorted((split / part).glob("chunk_*.csv"))
        return pd.concat([pd.read_csv(f, header=None, names=["sentiment", "review_body"]) for f in files])

    return chunks("train"), chunks("validation")


def _reviews_input(folder: Path):
    """The reviews file every run of that course lab sent (kept once, in amirhossein's folder); Autopilot split it."""
    data = CORPUS / "amirhossein-yousefi__AutoML-Autopilot" / "autopilot" / "data"
    return pd.read_csv(data / "womens_clothing_ecommerce_reviews_balanced_for_autopilot.csv"), None


JOBS = [
    CorpusJob("brego81__SageMaker-Autopilot-Titanic", _titanic),
    CorpusJob("C24IO__Integrations", _bank),
    CorpusJob("daekeun-ml__sagemaker-studio-workshop-kr", lambda folder: _bank(CORPUS / "C24IO__Integrations")),
    CorpusJob("chenbinkg__residential-water-demand-prediction", _water),
    CorpusJob("MarceloAnalytics__Cloud_Computing_AWS_SageMaker_AutoML", _churn),
    CorpusJob("amirhossein-yousefi__AutoML-Autopilot", _reviews),
    CorpusJob("Erionis__Text_classifier_AutoML", _reviews_input),
    CorpusJob("ahmeddaker__Coursera_practical_data_science_with_AWS_labs", _reviews_input),
]


def write_job_dir(job: CorpusJob, into: Path) -> Path:
    """A `parity --from-dir` folder for ``job``: describe.json, the data as Autopilot read it, the notebooks."""
    source = CORPUS / job.folder
    facts = json.loads((source / "job.json").read_text())
    into.mkdir(parents=True, exist_ok=True)
    train, valid = job.prepare(source)
    train.to_csv(into / "train.csv", index=False)
    if valid is not None:
        valid.to_csv(into / "validation.csv", index=False)
    (into / "describe.json").write_text(json.dumps(describe(facts, valid is not None), indent=2))
    for path in _job_files(source):  # links, not copies: the corpus stays where it is
        link = into / "artifacts" / path.relative_to(source)
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(path)
    return into


def _job_files(source: Path) -> list[Path]:
    patterns = ("*CandidateDefinitionNotebook*.ipynb", "*DataExplorationNotebook*.ipynb", "dpp_modules.facts.json")
    return sorted({p for pattern in patterns for p in source.rglob(pattern)})


def describe(facts: dict, has_validation: bool) -> dict:
    """The DescribeAutoMLJobV2 response of the corpus job ``facts`` describe (times unknown: the job's date)."""
    job, reported = facts["jobs"][0], facts["reported"]
    named = {"max_candidates": "MaxCandidates", "max_runtime_per_training_job_in_seconds":
             "MaxRuntimePerTrainingJobInSeconds", "total_job_runtime_in_seconds": "MaxAutoMLJobRuntimeInSeconds"}
    criteria = {named.get(key, key): int(value) for key, value in re.findall(  # as the API or the SDK spells them
        r"(MaxCandidates|MaxRuntimePerTrainingJobInSeconds|MaxAutoMLJobRuntimeInSeconds|max_candidates|"
        r"max_runtime_per_training_job_in_seconds|total_job_runtime_in_seconds)=(\d+)", facts.get("job_config", ""))}
    channels = [_channel("training", f"s3://corpus/{job['job']}/train.csv")]
    if has_validation:
        channels.append(_channel("validation", f"s3://corpus/{job['job']}/validation.csv"))
    stamp = "2020-01-01T00:00:00+00:00"
    metric = {"ACCURACY": "Accuracy", "F1": "F1", "MSE": "MSE"}[job["objective"]]
    artifacts = f"s3://corpus/out/{job['job']}/sagemaker-automl-candidates/{job['job']}-pr-1"
    return {
        "AutoMLJobName": job["job"],
        "AutoMLJobArn": f"arn:aws:sagemaker:us-east-1:111122223333:automl-job/{job['job']}",
        "AutoMLJobInputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": "s3://corpus/out"},
        "RoleArn": "arn:aws:iam::111122223333:role/autopilot",
        "AutoMLJobObjective": {"MetricName": metric},
        "AutoMLProblemTypeConfig": {"TabularJobConfig": {
            "TargetAttributeName": job["target"], "ProblemType": job["problem_type"],
            **({"CompletionCriteria": criteria} if criteria else {})}},
        "AutoMLProblemTypeConfigName": "Tabular",
        "CreationTime": stamp, "LastModifiedTime": stamp,
        "AutoMLJobStatus": "Completed", "AutoMLJobSecondaryStatus": "Completed",
        "BestCandidate": {
            "CandidateName": f"{job['job']}-best",
            "FinalAutoMLJobObjectiveMetric": {"MetricName": metric, "Value": reported["value"]},
            "ObjectiveStatus": "Succeeded", "CandidateSteps": [], "CandidateStatus": "Completed",
            "CreationTime": stamp, "LastModifiedTime": stamp,
        },
        "AutoMLJobArtifacts": {
            "CandidateDefinitionNotebookLocation":
                f"{artifacts}/notebooks/SageMakerAutopilotCandidateDefinitionNotebook.ipynb",
            "DataExplorationNotebookLocation": f"{artifacts}/notebooks/SageMakerAutopilotDataExplorationNotebook.ipynb",
        },
        "ResolvedAttributes": {"AutoMLJobObjective": {"MetricName": metric},
                               "AutoMLProblemTypeResolvedAttributes": {
                                   "TabularResolvedAttributes": {"ProblemType": job["problem_type"]}}},
    }


def _channel(kind: str, uri: str) -> dict:
    return {"ChannelType": kind, "ContentType": "text/csv;header=present", "CompressionType": "None",
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.parity_corpus", description=__doc__)
    parser.add_argument("--scratch", default="/tmp/parity-corpus", help="where the job folders and local jobs go")
    parser.add_argument("--max-candidates", type=int, default=60, help="cap on the local run's candidates")
    parser.add_argument("--max-job-runtime", type=int, default=300, help="cap on the local run's seconds")
    parser.add_argument("--only", help="run the corpus jobs whose folder name contains this")
    args = parser.parse_args(argv)
    scratch = Path(args.scratch)
    print("| job | metric | Autopilot | autopilot-local | ratio | verdict | local wall (s) | local budget |")
    print("|---|---|---|---|---|---|---|---|")
    for job in [j for j in JOBS if not args.only or args.only in j.folder]:
        folder = write_job_dir(job, scratch / job.folder)
        cloud_max = describe(json.loads((CORPUS / job.folder / "job.json").read_text()), False)
        criteria = cloud_max["AutoMLProblemTypeConfig"]["TabularJobConfig"].get("CompletionCriteria", {})
        candidates = min(criteria.get("MaxCandidates", 250), args.max_candidates)
        started = time.time()
        subprocess.run([sys.executable, "-m", "autopilot_local.cli", "parity", "--from-dir", str(folder),
                        "--output", str(scratch / "jobs"), "--max-candidates", str(candidates),
                        "--max-job-runtime", str(args.max_job_runtime), "--quiet"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.time() - started
        name = cloud_max["AutoMLJobName"]
        report = json.loads(_report_of(scratch / "jobs", name))
        row = next(r for r in report["rows"] if r["item"].startswith("best "))
        print(f"| {job.folder} | {row['item'][5:]} | {row['cloud']:.5g} | {row['local']:.5g} | {row['ratio']} | "
              f"{row['verdict']} | {wall:.0f} | {candidates} candidates / {args.max_job_runtime} s |", flush=True)


def _report_of(jobs: Path, cloud_name: str) -> str:
    for path in jobs.glob("*/parity/parity-report.json"):
        if json.loads(path.read_text())["cloud_job"] == cloud_name:
            return path.read_text()
    raise FileNotFoundError(f"no parity report for {cloud_name} under {jobs}")


if __name__ == "__main__":
    main()
