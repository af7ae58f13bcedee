"""SageMaker's read calls on Autopilot jobs, answered from a job folder.

The job folder keeps one set of facts: ``job.json`` (the DescribeAutoMLJobV2 document) and ``candidates.json``
(every AutoMLCandidate, best first). Every response here is derived from them, with the keys AWS spells:

- `describe_auto_ml_job_v2`: DescribeAutoMLJobV2.
- `describe_auto_ml_job`: DescribeAutoMLJob (V1), converted from the V2 document. AWS itself refuses V1 calls on a
  job created with CreateAutoMLJobV2; here both answer, so code written for either API reads a local job.
- `list_candidates_for_auto_ml_job`: ListCandidatesForAutoMLJob with AWS's filters, sorting and paging.

Timestamps: the JSON files hold ISO 8601 strings and, by default (``parsed=False``), so do the responses, which
is what the CLI prints and what ``aws sagemaker ... --output json`` shows. ``parsed=True`` gives what boto3 gives:
timezone-aware `datetime` objects (in local time, as botocore's parser returns them) for every timestamp member.

Local paths stand in for S3 URIs (S3Uri, ModelDataUrl, notebook locations), as everywhere in a local job.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from datetime import datetime

from .errors import InputError
from .files import JobFolder, read_json

# ListCandidatesForAutoMLJob's request constraints, as botocore's service model gives them (tests check they match)
CANDIDATE_STATUSES = ("Completed", "InProgress", "Failed", "Stopped", "Stopping")
SORT_BY = ("CreationTime", "Status", "FinalObjectiveMetricValue")
SORT_ORDERS = ("Ascending", "Descending")
MAX_RESULTS_LIMIT = 300  # AutoMLMaxResultsForTrials: 1-300
MAX_CANDIDATE_NAME = 64
MAX_NEXT_TOKEN = 8192
# AWS documents SortOrder's default (Ascending) but gives "Descending" as SortBy's, which is no SortBy value:
# candidates are listed in the order they were created unless SortBy says otherwise.
DEFAULT_SORT_BY, DEFAULT_SORT_ORDER = "CreationTime", "Ascending"

# every timestamp member of the three responses (AutoMLCandidate's and the job's), all named alike
TIMESTAMP_MEMBERS = frozenset({"CreationTime", "EndTime", "LastModifiedTime"})


def describe_auto_ml_job_v2(job_dir, parsed: bool = False) -> dict:
    """The DescribeAutoMLJobV2 response of the job in ``job_dir``."""
    return _timestamps(_job_document(job_dir), parsed)


def describe_auto_ml_job(job_dir, parsed: bool = False) -> dict:
    """The DescribeAutoMLJob (V1) response of the job in ``job_dir``, derived from its V2 document."""
    return _timestamps(v1_from_v2(_job_document(job_dir)), parsed)


def list_candidates_for_auto_ml_job(job_dir, status_equals: str | None = None, candidate_name_equals: str | None = None,
                                    sort_order: str | None = None, sort_by: str | None = None,
                                    max_results: int | None = None, next_token: str | None = None,
                                    parsed: bool = False) -> dict:
    """One page of ListCandidatesForAutoMLJob for the job in ``job_dir``.

    Without ``max_results`` the page holds every candidate left (AWS documents no default page size). Candidates
    without an objective value (failed ones) come after the others when sorted by FinalObjectiveMetricValue, in
    either order. The NextToken names the last candidate returned, not a position, so paging through a job that
    is still adding candidates returns each candidate that existed at the first call exactly once.
    """
    _check_list_request(status_equals, candidate_name_equals, sort_order, sort_by, max_results, next_token)
    sort_by, descending = sort_by or DEFAULT_SORT_BY, (sort_order or DEFAULT_SORT_ORDER) == "Descending"
    query = _query_fingerprint(status_equals, candidate_name_equals, sort_by, descending)
    candidates = [
        c for c in _candidate_documents(job_dir)
        if (status_equals is None or c["CandidateStatus"] == status_equals)
        and (candidate_name_equals is None or c["CandidateName"] == candidate_name_equals)
    ]
    ordered = _sorted(candidates, sort_by, descending)
    if next_token is not None:
        mark = _read_token(next_token, query)
        ordered = [c for c in ordered if _comes_after(_sort_key(c, sort_by), mark, descending)]
    page = ordered if max_results is None else ordered[:max_results]
    response = {"Candidates": page}
    if len(page) < len(ordered):
        response["NextToken"] = _make_token(_sort_key(page[-1], sort_by), query)
    return _timestamps(response, parsed)


# --- DescribeAutoMLJob (V1) from the V2 document -------------------------------------------------------------


def v1_from_v2(document: dict) -> dict:
    """DescribeAutoMLJob's response from DescribeAutoMLJobV2's, for a tabular job."""
    tabular = document["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    v1 = {key: document[key] for key in ("AutoMLJobName", "AutoMLJobArn") if key in document}
    v1["InputDataConfig"] = [_v1_channel(channel, tabular) for channel in document["AutoMLJobInputDataConfig"]]
    v1 |= _present(document, "OutputDataConfig", "RoleArn", "AutoMLJobObjective")
    v1 |= _present(tabular, "ProblemType")
    v1["AutoMLJobConfig"] = _v1_job_config(document, tabular)
    v1 |= _present(document, "CreationTime", "EndTime", "LastModifiedTime", "FailureReason", "PartialFailureReasons",
                   "BestCandidate", "AutoMLJobStatus", "AutoMLJobSecondaryStatus")
    v1 |= _present(tabular, "GenerateCandidateDefinitionsOnly")
    v1 |= _present(document, "AutoMLJobArtifacts")
    if "ResolvedAttributes" in document:
        v1["ResolvedAttributes"] = _v1_resolved(document["ResolvedAttributes"])
    v1 |= _present(document, "ModelDeployConfig", "ModelDeployResult")
    return v1


def _v1_channel(channel: dict, tabular: dict) -> dict:
    """A V2 channel with the target (and sample weight) column, which V1 names per channel."""
    return channel | {"TargetAttributeName": tabular["TargetAttributeName"]} | _present(
        tabular, "SampleWeightAttributeName")


def _v1_job_config(document: dict, tabular: dict) -> dict:
    config = _present(tabular, "CompletionCriteria")
    if "SecurityConfig" in document:
        config["SecurityConfig"] = document["SecurityConfig"]
    generation = tabular.get("CandidateGenerationConfig", {}) | _present(tabular, "FeatureSpecificationS3Uri")
    if generation:  # V1 keeps the feature specification inside the candidate generation config
        config["CandidateGenerationConfig"] = generation
    config |= _present(document, "DataSplitConfig")
    config |= _present(tabular, "Mode")
    return config


def _v1_resolved(resolved: dict) -> dict:
    problem = resolved.get("AutoMLProblemTypeResolvedAttributes", {}).get("TabularResolvedAttributes", {})
    return _present(resolved, "AutoMLJobObjective") | _present(problem, "ProblemType") | _present(
        resolved, "CompletionCriteria")


def _present(source: dict, *keys: str) -> dict:
    return {key: source[key] for key in keys if key in source}


# --- the job folder --------------------------------------------------------------------------------------------


def _job_document(job_dir) -> dict:
    return read_json(JobFolder.existing(job_dir).job_json)


def _candidate_documents(job_dir) -> list[dict]:
    """Every candidate so far: none before tuning has written one (or in a candidate-definitions-only job)."""
    path = JobFolder.existing(job_dir).candidates_json
    return read_json(path)["Candidates"] if path.exists() else []


def _timestamps(value, parsed: bool):
    """``value`` with its timestamp members as botocore parses them (``parsed``), else as stored."""
    if not parsed:
        return value
    if isinstance(value, list):
        return [_timestamps(item, parsed) for item in value]
    if isinstance(value, dict):
        return {key: datetime.fromisoformat(item).astimezone() if key in TIMESTAMP_MEMBERS and isinstance(item, str)
                else _timestamps(item, parsed) for key, item in value.items()}
    return value


# --- ListCandidatesForAutoMLJob: checks, order, paging -----------------------------------------------------------


def _check_list_request(status_equals, candidate_name_equals, sort_order, sort_by, max_results, next_token) -> None:
    """Raise `InputError` worded as AWS's ValidationException, listing every bad argument."""
    errors = [
        *_enum_error("statusEquals", status_equals, CANDIDATE_STATUSES),
        *_enum_error("sortOrder", sort_order, SORT_ORDERS),
        *_enum_error("sortBy", sort_by, SORT_BY),
        *_length_error("candidateNameEquals", candidate_name_equals, 1, MAX_CANDIDATE_NAME),
        *_length_error("nextToken", next_token, 0, MAX_NEXT_TOKEN),
    ]
    if max_results is not None:
        if isinstance(max_results, bool) or not isinstance(max_results, int):
            errors.append(f"Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
                          "Member must be an integer")
        elif max_results < 1:
            errors.append(f"Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
                          "Member must have value greater than or equal to 1")
        elif max_results > MAX_RESULTS_LIMIT:
            errors.append(f"Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
                          f"Member must have value less than or equal to {MAX_RESULTS_LIMIT}")
    if errors:
        count = f"{len(errors)} validation error{'s' if len(errors) > 1 else ''} detected"
        raise InputError(f"{count}: {'; '.join(errors)}")


def _enum_error(member: str, value, allowed: tuple) -> list[str]:
    if value is None or value in allowed:
        return []
    return [f"Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(allowed)}]"]


def _length_error(member: str, value, shortest: int, longest: int) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [f"Value '{value}' at '{member}' failed to satisfy constraint: Member must be a string"]
    if len(value) < shortest:
        return [f"Value '{value}' at '{member}' failed to satisfy constraint: "
                f"Member must have length greater than or equal to {shortest}"]
    if len(value) > longest:
        return [f"Value at '{member}' failed to satisfy constraint: "
                f"Member must have length less than or equal to {longest}"]
    return []


def _sort_key(candidate: dict, sort_by: str) -> list:
    """[no value, value, name]: a total order (names are unique) that a NextToken can carry as JSON."""
    if sort_by == "CreationTime":
        value = datetime.fromisoformat(candidate["CreationTime"]).timestamp()
    elif sort_by == "Status":
        value = candidate["CandidateStatus"]
    else:
        value = candidate.get("FinalAutoMLJobObjectiveMetric", {}).get("Value")
        if value is None or not math.isfinite(value):
            return [True, 0.0, candidate["CandidateName"]]
    return [False, value, candidate["CandidateName"]]


def _comes_after(key: list, mark: list, descending: bool) -> bool:
    """Whether a candidate with sort ``key`` is listed after the one with ``mark``; no value comes last."""
    if key[0] != mark[0]:
        return key[0]
    return key[1:] < mark[1:] if descending else key[1:] > mark[1:]


def _sorted(candidates: list[dict], sort_by: str, descending: bool) -> list[dict]:
    keyed = [(_sort_key(c, sort_by), c) for c in candidates]
    valued = sorted((pair for pair in keyed if not pair[0][0]), key=lambda pair: pair[0], reverse=descending)
    unvalued = sorted((pair for pair in keyed if pair[0][0]), key=lambda pair: pair[0], reverse=descending)
    return [c for _, c in valued + unvalued]


def _query_fingerprint(*arguments) -> str:
    """Ties a NextToken to the filters and order it was made for."""
    return hashlib.sha1(json.dumps(arguments).encode()).hexdigest()[:12]


def _make_token(mark: list, query: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": mark, "query": query}).encode()).decode()


def _read_token(token: str, query: str) -> list:
    try:
        content = json.loads(base64.urlsafe_b64decode(token.encode()))
        mark = content["after"]
        valid = content["query"] == query and isinstance(mark, list) and len(mark) == 3
    except (ValueError, binascii.Error, KeyError, TypeError):
        valid = False
    if not valid:
        raise InputError("Invalid pagination token: NextToken must come from a previous response to the same "
                         "request (same StatusEquals, CandidateNameEquals, SortBy and SortOrder)")
    return mark
