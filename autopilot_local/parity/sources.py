"""Where a real Autopilot job's facts come from: a folder of its downloaded artifacts, or AWS itself.

Both roads end in the same folder layout, so one reader serves them: ``describe.json`` (the DescribeAutoMLJob or
DescribeAutoMLJobV2 response, as ``aws sagemaker describe-auto-ml-job`` prints it), optionally ``candidates.json``
(ListCandidatesForAutoMLJob), the candidate notebook and dpp modules anywhere below, and the training data (the
file named by the input S3 URI's basename). `fetch` writes that folder from the account with boto3.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ..errors import InputError
from . import notebooks
from .notebooks import metric_name


@dataclass
class CloudJob:
    """One real Autopilot job, as far as its artifacts tell."""

    folder: Path
    describe: dict
    candidates: list = field(default_factory=list)  # AutoMLCandidate documents, when ListCandidates was saved
    notebook: object = None  # notebooks.CloudNotebook, when the candidate notebook was found
    dpp_modules: dict = field(default_factory=dict)  # dpp -> facts read from its generated module
    data: Path | None = None
    validation_data: Path | None = None

    @property
    def name(self) -> str:
        """The job's AutoMLJobName."""
        return self.describe["AutoMLJobName"]

    @property
    def is_v2(self) -> bool:
        """Whether ``describe`` is a DescribeAutoMLJobV2 response (else DescribeAutoMLJob's)."""
        return "AutoMLProblemTypeConfig" in self.describe

    def _tabular(self) -> dict:
        return self.describe.get("AutoMLProblemTypeConfig", {}).get("TabularJobConfig", {})

    def _v1_config(self) -> dict:
        return self.describe.get("AutoMLJobConfig", {})

    @property
    def target(self) -> str:
        """The job's TargetAttributeName."""
        if self.is_v2:
            return self._tabular()["TargetAttributeName"]
        return self.describe["InputDataConfig"][0]["TargetAttributeName"]

    @property
    def problem_type(self) -> str | None:
        """The problem type the job resolved or was given, else the candidate notebook's; None if none says."""
        resolved = self.describe.get("ResolvedAttributes", {})
        tabular = resolved.get("AutoMLProblemTypeResolvedAttributes", {}).get("TabularResolvedAttributes", {})
        return (tabular.get("ProblemType") or resolved.get("ProblemType") or self._tabular().get("ProblemType")
                or self.describe.get("ProblemType") or getattr(self.notebook, "problem_type", None))

    @property
    def objective(self) -> str | None:
        """The objective's MetricName, from the response or else the candidate notebook; None if none says."""
        resolved = self.describe.get("ResolvedAttributes", {}).get("AutoMLJobObjective", {})
        best = self.describe.get("BestCandidate", {}).get("FinalAutoMLJobObjectiveMetric", {})
        named = (resolved.get("MetricName") or self.describe.get("AutoMLJobObjective", {}).get("MetricName")
                 or best.get("MetricName") or getattr(self.notebook, "objective", None))
        return metric_name(named)

    @property
    def completion_criteria(self) -> dict:
        """The job's CompletionCriteria as requested; empty if it set none."""
        config = self._tabular() if self.is_v2 else self._v1_config()
        return config.get("CompletionCriteria", {})

    @property
    def algorithms(self) -> list[str]:
        """The AutoMLAlgorithms the job asked for; empty if it named none."""
        config = self._tabular() if self.is_v2 else self._v1_config()
        listed = config.get("CandidateGenerationConfig", {}).get("AlgorithmsConfig", [])
        return [a for item in listed for a in item.get("AutoMLAlgorithms", [])]

    @property
    def validation_fraction(self) -> float | None:
        """The DataSplitConfig's ValidationFraction; None if the job set none."""
        split = self.describe.get("DataSplitConfig") or self._v1_config().get("DataSplitConfig", {})
        return split.get("ValidationFraction")

    @property
    def best_value(self) -> float | None:
        """The best candidate's objective value; None if there is none."""
        return self.describe.get("BestCandidate", {}).get("FinalAutoMLJobObjectiveMetric", {}).get("Value")

    @property
    def runtime_seconds(self) -> float | None:
        """Seconds from the job's creation to its end; None if either time is missing."""
        if "EndTime" not in self.describe or "CreationTime" not in self.describe:
            return None
        return (_time(self.describe["EndTime"]) - _time(self.describe["CreationTime"])).total_seconds()

    @property
    def candidate_count(self) -> int | None:
        """How many candidates ListCandidatesForAutoMLJob gave; None where it was not saved."""
        if self.candidates:
            return len(self.candidates)
        return None


def from_dir(folder: str | Path, data: str | Path | None = None) -> CloudJob:
    """The job whose artifacts a user downloaded into ``folder``; ``data`` names the training file if it is
    elsewhere or named otherwise."""
    folder = Path(folder)
    described = _json_file(folder / "describe.json", "the DescribeAutoMLJob(V2) response")
    _check_finished(described)
    listed = folder / "candidates.json"
    candidates = _json_file(listed, "the ListCandidatesForAutoMLJob response")["Candidates"] if listed.exists() else []
    job = CloudJob(folder, described, candidates)
    notebook = _first(folder, "*CandidateDefinitionNotebook*.ipynb")
    job.notebook = notebooks.parse_candidate_notebook(notebook) if notebook else None
    job.dpp_modules = _dpp_modules(folder)
    job.data, job.validation_data = _data_files(job, folder, data)
    return job


def _json_file(path: Path, what: str):
    if not path.exists():
        raise InputError(f"{path.parent} holds no {path.name} ({what})")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{path} is not valid JSON: {error}") from None


def _check_finished(described: dict) -> None:
    name, status = described.get("AutoMLJobName", "?"), described.get("AutoMLJobStatus")
    if status == "Failed":
        raise InputError(f"job {name} failed in the cloud ({described.get('FailureReason', 'no reason given')}): "
                         "there is nothing to compare")
    if status in ("InProgress", "Stopping"):
        raise InputError(f"job {name} is still {status}: compare it once it has ended")
    if "BestCandidate" not in described:
        raise InputError(f"job {name} ({status}) has no BestCandidate: there is no cloud result to compare")


def _first(folder: Path, pattern: str) -> Path | None:
    found = sorted(folder.rglob(pattern))
    return found[0] if found else None


def _dpp_modules(folder: Path) -> dict:
    """Facts of the generated dpp modules below ``folder``: real ``dppN.py`` files, else a facts file."""
    modules = {path.stem: notebooks.parse_dpp_module(path.read_text(encoding="utf-8"))
               for path in sorted(folder.rglob("candidate_data_processors/dpp*.py"))}
    facts = _first(folder, "dpp_modules.facts.json")
    if not modules and facts is not None:
        modules = notebooks.parse_dpp_facts(facts)
    return modules


def _data_files(job: CloudJob, folder: Path, data) -> tuple[Path, Path | None]:
    channels = job.describe.get("AutoMLJobInputDataConfig") or job.describe.get("InputDataConfig") or []
    by_kind = {c.get("ChannelType", "training"): c["DataSource"]["S3DataSource"]["S3Uri"] for c in channels}
    if data is not None:
        training = Path(data)
        if not training.is_file():
            raise InputError(f"data file {training} does not exist")
    else:
        training = _named_file(folder, by_kind.get("training", ""), "training")
    validation = _named_file(folder, by_kind["validation"], "validation") if "validation" in by_kind else None
    return training, validation


def _named_file(folder: Path, uri: str, channel: str) -> Path:
    name = uri.rstrip("/").rsplit("/", 1)[-1]
    found = [p for p in sorted(folder.rglob(name)) if p.is_file()] if name else []
    if not found:
        raise InputError(f"the {channel} data of the job ({uri or 'no S3 URI'}) is not under {folder}: "
                         "pass the file with --data")
    return found[0]


def _time(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# --- from AWS --------------------------------------------------------------------------------------------------

def fetch(job_name: str, into: str | Path, sagemaker=None, s3=None, region: str | None = None,
          profile: str | None = None) -> Path:
    """Download a real job's Describe and ListCandidates responses, its notebooks, dpp modules and data into
    ``into`` (the `from_dir` layout), with the user's AWS credentials; the clients may be given."""
    import botocore.exceptions

    if sagemaker is None or s3 is None:
        import boto3

        session = boto3.Session(profile_name=profile, region_name=region)
        sagemaker, s3 = sagemaker or session.client("sagemaker"), s3 or session.client("s3")
    into = Path(into)
    into.mkdir(parents=True, exist_ok=True)
    try:
        described = _describe(sagemaker, job_name)
        _check_finished(described)
        candidates = _all_candidates(sagemaker, job_name)
        _write(into / "describe.json", described)
        _write(into / "candidates.json", {"Candidates": candidates})
        for uri in _artifact_uris(described):
            _download(s3, uri, into / "artifacts")
        for channel in described.get("AutoMLJobInputDataConfig") or described.get("InputDataConfig") or []:
            _download(s3, channel["DataSource"]["S3DataSource"]["S3Uri"], into / "data")
    except botocore.exceptions.NoCredentialsError:
        raise InputError("no AWS credentials: configure them (aws configure, AWS_PROFILE, or --profile)") from None
    except botocore.exceptions.ClientError as error:
        raise InputError(f"AWS refused: {error}") from None
    return into


def _describe(sagemaker, job_name: str) -> dict:
    import botocore.exceptions

    try:
        return _plain(sagemaker.describe_auto_ml_job_v2(AutoMLJobName=job_name))
    except botocore.exceptions.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("ResourceNotFound", "ValidationException") and "not found" in str(error).lower():
            raise InputError(f"no AutoML job named {job_name!r} in this account and region") from None
        raise


def _all_candidates(sagemaker, job_name: str) -> list[dict]:
    candidates, token = [], None
    while True:
        page = sagemaker.list_candidates_for_auto_ml_job(AutoMLJobName=job_name, **({"NextToken": token} if token
                                                                                    else {}))
        candidates += _plain(page)["Candidates"]
        token = page.get("NextToken")
        if not token:
            return candidates


def _artifact_uris(described: dict) -> list[str]:
    """The S3 prefixes that hold the notebooks and generated modules (the candidate notebook's folder)."""
    artifacts = described.get("AutoMLJobArtifacts", {})
    notebook = artifacts.get("CandidateDefinitionNotebookLocation")
    if not notebook:
        raise InputError(f"job {described['AutoMLJobName']} lists no CandidateDefinitionNotebookLocation")
    prefix = notebook.rsplit("/notebooks/", 1)[0] if "/notebooks/" in notebook else notebook.rsplit("/", 1)[0]
    return [prefix + "/"]


def _download(s3, uri: str, into: Path) -> None:
    bucket, _, key = uri[len("s3://"):].partition("/")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=key).get("Contents", [])
    if not listed:
        raise InputError(f"{uri} holds nothing: the job's artifacts are missing")
    base = key if key.endswith("/") else key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    for item in listed:
        if item["Key"].endswith("/"):
            continue
        target = into / item["Key"][len(base):]
        target.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, item["Key"], str(target))


def _plain(response: dict) -> dict:
    """A boto3 response as ``aws ... describe`` prints it: no ResponseMetadata, times as ISO strings."""
    return json.loads(json.dumps({k: v for k, v in response.items() if k != "ResponseMetadata"}, default=str))


def _write(path: Path, document) -> None:
    path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
