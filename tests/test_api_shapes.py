"""The API responses against botocore's own SageMaker service model, and ListCandidatesForAutoMLJob's semantics.

A shape walker checks a response against an operation's output shape: every key a member AWS defines, every
required member present, every value of the member's type and within its enum, length and range. It runs on
DescribeAutoMLJob, DescribeAutoMLJobV2 and ListCandidatesForAutoMLJob for a completed, a failed and a
candidate-definitions-only job, each run for real once per module.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime

import pytest
from conftest import classification_frame, regression_frame

from autopilot_local import api, artifacts, files
from autopilot_local.cli import main
from autopilot_local.config import JobConfig
from autopilot_local.errors import InputError
from autopilot_local.job import run_job
from autopilot_local.tuning import TrialResult

botocore_session = pytest.importorskip("botocore.session")

OPERATIONS = {
    "DescribeAutoMLJob": api.describe_auto_ml_job,
    "DescribeAutoMLJobV2": api.describe_auto_ml_job_v2,
    "ListCandidatesForAutoMLJob": api.list_candidates_for_auto_ml_job,
}
# local paths stand in for S3 URIs and model URLs: these shapes' patterns (s3:// or https://) do not apply
LOCAL_PATH_SHAPES = frozenset({"S3Uri", "Url"})


@pytest.fixture(scope="module")
def model():
    return botocore_session.get_session().get_service_model("sagemaker")


def output_shape(model, operation: str):
    return model.operation_model(operation).output_shape


# --- the shape walker ---------------------------------------------------------------------------------------------


def shape_errors(value, shape, path: str = "$", parsed: bool = False) -> list[str]:
    """Every way ``value`` breaks ``shape``, each naming the path to the offending key.

    ``parsed``: timestamps are datetimes (what boto3 gives), else ISO 8601 strings (what the JSON files hold).
    """
    check = _CHECKS.get(shape.type_name)
    if check is None:
        return [f"{path}: shape {shape.name} of type {shape.type_name} is not one the walker knows"]
    return check(value, shape, path, parsed)


def _structure(value, shape, path, parsed) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected a {shape.name} structure (dict), got {type(value).__name__}"]
    errors = [f"{path}: required member {name!r} of {shape.name} is missing"
              for name in shape.required_members if name not in value]
    for key, item in value.items():
        if key not in shape.members:
            errors.append(f"{path}.{key}: {key!r} is not a member of {shape.name} "
                          f"(members: {', '.join(shape.members)})")
        else:
            errors += shape_errors(item, shape.members[key], f"{path}.{key}", parsed)
    return errors


def _list(value, shape, path, parsed) -> list[str]:
    if not isinstance(value, list):
        return [f"{path}: expected a {shape.name} list, got {type(value).__name__}"]
    errors = _size_errors(len(value), shape, path, "items")
    for index, item in enumerate(value):
        errors += shape_errors(item, shape.member, f"{path}[{index}]", parsed)
    return errors


def _map(value, shape, path, parsed) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected a {shape.name} map (dict), got {type(value).__name__}"]
    errors = _size_errors(len(value), shape, path, "entries")
    for key, item in value.items():
        errors += _string(key, shape.key, f"{path}<key {key!r}>", parsed)
        errors += shape_errors(item, shape.value, f"{path}[{key!r}]", parsed)
    return errors


def _string(value, shape, path, parsed) -> list[str]:
    if not isinstance(value, str):
        return [f"{path}: expected a string ({shape.name}), got {type(value).__name__} {value!r}"]
    if shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} is not in {shape.name}'s enum {shape.enum}"]
    errors = _size_errors(len(value), shape, path, "characters")
    pattern = shape.metadata.get("pattern")
    if pattern and shape.name not in LOCAL_PATH_SHAPES and not re.fullmatch(pattern, value):
        errors.append(f"{path}: {value!r} does not match {shape.name}'s pattern {pattern!r}")
    return errors


def _integer(value, shape, path, parsed) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return [f"{path}: expected an integer ({shape.name}), got {type(value).__name__} {value!r}"]
    return _range_errors(value, shape, path)


def _float(value, shape, path, parsed) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return [f"{path}: expected a number ({shape.name}), got {type(value).__name__} {value!r}"]
    if value != value or value in (float("inf"), float("-inf")):
        return [f"{path}: {value!r} is not a number AWS's JSON can carry"]
    return _range_errors(value, shape, path)


def _boolean(value, shape, path, parsed) -> list[str]:
    return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {type(value).__name__} {value!r}"]


def _timestamp(value, shape, path, parsed) -> list[str]:
    if parsed:
        if not isinstance(value, datetime) or value.tzinfo is None:
            return [f"{path}: expected a timezone-aware datetime (as botocore parses it), got {value!r}"]
        return []
    try:
        stamp = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return [f"{path}: expected an ISO 8601 timestamp string, got {value!r}"]
    return [] if stamp.tzinfo is not None else [f"{path}: timestamp {value!r} has no time zone"]


def _size_errors(size: int, shape, path: str, unit: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        return [f"{path}: {size} {unit}, fewer than {shape.name}'s minimum {low}"]
    if high is not None and size > high:
        return [f"{path}: {size} {unit}, more than {shape.name}'s maximum {high}"]
    return []


def _range_errors(value, shape, path: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if (low is not None and value < low) or (high is not None and value > high):
        return [f"{path}: {value!r} is outside {shape.name}'s range [{low}, {high}]"]
    return []


_CHECKS = {
    "structure": _structure, "list": _list, "map": _map, "string": _string, "integer": _integer,
    "long": _integer, "float": _float, "double": _float, "boolean": _boolean, "timestamp": _timestamp,
}


def assert_shape(value, shape, parsed: bool = False) -> None:
    errors = shape_errors(value, shape, parsed=parsed)
    assert not errors, f"{len(errors)} shape violation(s) of {shape.name}:\n" + "\n".join(errors)


# --- the walker can fail ------------------------------------------------------------------------------------------

CANDIDATE = {
    "CandidateName": "job-dpp0-xgboost-000-abcdef12",
    "ObjectiveStatus": "Succeeded",
    "CandidateSteps": [{"CandidateStepType": "AWS::SageMaker::TrainingJob",
                        "CandidateStepArn": "arn:aws:sagemaker:local:000000000000:training-job/job-dpp0",
                        "CandidateStepName": "job-dpp0"}],
    "CandidateStatus": "Completed",
    "CreationTime": "2024-05-01T10:00:00+00:00",
    "LastModifiedTime": "2024-05-01T10:01:00+00:00",
    "FinalAutoMLJobObjectiveMetric": {"Type": "Minimize", "MetricName": "MSE", "Value": 1.5},
}


def _broken(change) -> dict:
    candidate = json.loads(json.dumps(CANDIDATE))
    change(candidate)
    return {"Candidates": [candidate]}


def test_walker_accepts_a_well_shaped_candidate(model):
    assert_shape({"Candidates": [CANDIDATE]}, output_shape(model, "ListCandidatesForAutoMLJob"))


@pytest.mark.parametrize("change, expected", [
    (lambda c: c.update(CandidateNmae=c.pop("CandidateName")),
     ["$.Candidates[0]: required member 'CandidateName'", "$.Candidates[0].CandidateNmae: 'CandidateNmae' is not"]),
    (lambda c: c.update(CandidateStatus="Succeeded"), ["$.Candidates[0].CandidateStatus: 'Succeeded' is not in"]),
    (lambda c: c["CandidateSteps"][0].update(CandidateStepType="ProcessingJob"),
     ["$.Candidates[0].CandidateSteps[0].CandidateStepType: 'ProcessingJob' is not in"]),
    (lambda c: c.pop("LastModifiedTime"), ["$.Candidates[0]: required member 'LastModifiedTime'"]),
    (lambda c: c["FinalAutoMLJobObjectiveMetric"].update(Value="1.5"),
     ["$.Candidates[0].FinalAutoMLJobObjectiveMetric.Value: expected a number"]),
    (lambda c: c.update(CandidateName="x" * 65), ["$.Candidates[0].CandidateName: 65 characters, more than"]),
    (lambda c: c.update(CreationTime="yesterday"), ["$.Candidates[0].CreationTime: expected an ISO 8601"]),
    (lambda c: c.update(InferenceContainers=[{"Image": "i", "ModelDataUrl": "m", "Environment": {"A-B": "1"}}]),
     ["$.Candidates[0].InferenceContainers[0].Environment<key 'A-B'>: 'A-B' does not match"]),
])
def test_walker_fails_precisely(model, change, expected):
    errors = shape_errors(_broken(change), output_shape(model, "ListCandidatesForAutoMLJob"))
    assert len(errors) == len(expected)
    for error, start in zip(errors, expected):
        assert error.startswith(start), error


def test_walker_wants_datetimes_when_parsed(model):
    errors = shape_errors({"Candidates": [CANDIDATE]}, output_shape(model, "ListCandidatesForAutoMLJob"), parsed=True)
    assert errors == [f"$.Candidates[0].{key}: expected a timezone-aware datetime (as botocore parses it), got "
                      f"{CANDIDATE[key]!r}" for key in ("CreationTime", "LastModifiedTime")]


def test_request_constraints_match_the_service_model(model):
    request = model.operation_model("ListCandidatesForAutoMLJob").input_shape.members
    assert api.CANDIDATE_STATUSES == tuple(request["StatusEquals"].enum)
    assert api.SORT_BY == tuple(request["SortBy"].enum)
    assert api.SORT_ORDERS == tuple(request["SortOrder"].enum)
    assert api.MAX_RESULTS_LIMIT == request["MaxResults"].metadata["max"] == 300
    assert api.MAX_CANDIDATE_NAME == request["CandidateNameEquals"].metadata["max"]
    assert api.MAX_NEXT_TOKEN == request["NextToken"].metadata["max"]
    assert f"The default is <code>{api.DEFAULT_SORT_ORDER}</code>" in request["SortOrder"].documentation


def _timestamp_members(shape, seen=frozenset()) -> set[str]:
    if shape.name in seen:
        return set()
    seen = seen | {shape.name}
    if shape.type_name == "structure":
        return {name for name, member in shape.members.items() if member.type_name == "timestamp"}.union(
            *(_timestamp_members(member, seen) for member in shape.members.values()))
    if shape.type_name == "list":
        return _timestamp_members(shape.member, seen)
    if shape.type_name == "map":
        return _timestamp_members(shape.value, seen)
    return set()


def test_parsed_responses_convert_every_timestamp_member(model):
    """`parsed=True` turns members into datetimes by name: the names must be exactly the model's timestamps."""
    names = set().union(*(_timestamp_members(output_shape(model, op)) for op in OPERATIONS))
    assert names == api.TIMESTAMP_MEMBERS


# --- real jobs, once per module -----------------------------------------------------------------------------------


def _config(root, data, target, name, **settings) -> JobConfig:
    return JobConfig(data=str(data), target=target, output_dir=str(root), job_name=name, max_candidates=3,
                     algorithms=("xgboost",), allow_small=True, seed=0, **settings)


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("api-jobs")
    regression, binary = root / "homes.csv", root / "churn.csv"
    regression_frame().to_csv(regression, index=False)
    classification_frame().to_csv(binary, index=False)
    completed = _config(root, binary, "label", "completed")
    assert run_job(completed)["AutoMLJobStatus"] == "Completed"
    definitions = _config(root, regression, "price", "definitions-only", candidate_definitions_only=True)
    assert run_job(definitions)["AutoMLJobSecondaryStatus"] == "CandidateDefinitionsGenerated"
    # half a second of budget (less the sliver kept for writing): reading and analysing the table spend it, so
    # every dpp's feature transform (or every trial, if one transform started in time) is cut off and the job fails
    failed = _config(root, regression, "price", "failed", max_job_runtime=1)
    with pytest.raises(InputError, match="Try MaxAutoMLJobRuntimeInSeconds="):
        run_job(failed)
    ensembled = JobConfig(data=str(regression), target="price", output_dir=str(root), job_name="ensembled",
                          mode="ENSEMBLING", max_candidates=4, allow_small=True, seed=0)
    assert run_job(ensembled)["AutoMLJobStatus"] == "Completed"
    return {"completed": completed.job_dir, "failed": failed.job_dir, "definitions-only": definitions.job_dir,
            "ensembled": ensembled.job_dir}


@pytest.mark.parametrize("parsed", [False, True], ids=["iso", "parsed"])
@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("job", ["completed", "failed", "definitions-only", "ensembled"])
def test_responses_fit_the_service_model(model, jobs, job, operation, parsed):
    assert_shape(OPERATIONS[operation](jobs[job], parsed=parsed), output_shape(model, operation), parsed)


def test_jobs_end_as_intended(jobs):
    statuses = {name: api.describe_auto_ml_job_v2(path)["AutoMLJobStatus"] for name, path in jobs.items()}
    assert statuses == {"completed": "Completed", "failed": "Failed", "definitions-only": "Completed",
                        "ensembled": "Completed"}
    assert api.describe_auto_ml_job_v2(jobs["failed"])["FailureReason"]
    assert len(api.list_candidates_for_auto_ml_job(jobs["completed"])["Candidates"]) == 3
    assert api.list_candidates_for_auto_ml_job(jobs["definitions-only"]) == {"Candidates": []}


def test_v1_response_carries_the_v2_facts(jobs):
    v2, v1 = api.describe_auto_ml_job_v2(jobs["completed"]), api.describe_auto_ml_job(jobs["completed"])
    tabular = v2["AutoMLProblemTypeConfig"]["TabularJobConfig"]
    assert [c["TargetAttributeName"] for c in v1["InputDataConfig"]] == ["label"]
    assert v1["AutoMLJobConfig"] == {"CompletionCriteria": tabular["CompletionCriteria"],
                                     "CandidateGenerationConfig": tabular["CandidateGenerationConfig"],
                                     "DataSplitConfig": v2["DataSplitConfig"], "Mode": "HYPERPARAMETER_TUNING"}
    assert v1["ResolvedAttributes"] == {"AutoMLJobObjective": {"MetricName": "F1"},
                                        "ProblemType": "BinaryClassification",
                                        "CompletionCriteria": v2["ResolvedAttributes"]["CompletionCriteria"]}
    assert "ProblemType" not in v1  # not asked for: inferred, so only resolved
    assert v1["GenerateCandidateDefinitionsOnly"] is False
    assert v1["BestCandidate"] == v2["BestCandidate"]
    same = ("AutoMLJobName", "AutoMLJobArn", "CreationTime", "EndTime", "AutoMLJobStatus", "AutoMLJobArtifacts")
    assert {k: v1[k] for k in same} == {k: v2[k] for k in same}
    assert api.describe_auto_ml_job(jobs["definitions-only"])["GenerateCandidateDefinitionsOnly"] is True


def test_parsed_timestamps_are_the_stored_instants(jobs):
    stored, parsed = api.describe_auto_ml_job_v2(jobs["completed"]), api.describe_auto_ml_job_v2(jobs["completed"],
                                                                                                   parsed=True)
    assert parsed["CreationTime"] == datetime.fromisoformat(stored["CreationTime"])
    assert isinstance(parsed["BestCandidate"]["EndTime"], datetime)
    assert parsed["BestCandidate"]["CandidateName"] == stored["BestCandidate"]["CandidateName"]


# --- failed and stopped candidates, as candidates.json writes them ----------------------------------------------


def _trial(number, status, objective=None, reason="", started=1_700_000_000.0):
    return TrialResult(number, f"dpp{number % 3}-xgboost", {"eta": 0.1 * (number + 1)}, status, objective=objective,
                       metrics={"F1": objective, "AUC": float("nan"), "LogLoss": 0.4} if objective else {},
                       failure_reason=reason, started=started + number, ended=started + number + 0.5)


@pytest.fixture
def mixed_job(jobs, tmp_path):
    """The completed job with a failed and a stopped candidate beside its three completed ones."""
    folder_path = tmp_path / "completed"
    shutil.copytree(jobs["completed"], folder_path)
    folder = files.JobFolder(folder_path, "completed")
    listed = files.read_json(folder.candidates_json)["Candidates"]
    extra = [_trial(7, "Failed", reason="MemoryError: " + "x" * 3000), _trial(8, "Stopped", reason="stopped")]
    listed += [artifacts.candidate_document(folder, t, "F1", "BinaryClassification", None) for t in extra]
    files.write_json(folder.candidates_json, {"Candidates": listed})
    return folder_path


def test_failed_and_stopped_candidates_fit_the_service_model(model, mixed_job):
    response = api.list_candidates_for_auto_ml_job(mixed_job, status_equals="Failed")
    assert_shape(response, output_shape(model, "ListCandidatesForAutoMLJob"))
    assert len(response["Candidates"][0]["FailureReason"]) == 1024
    assert_shape(api.list_candidates_for_auto_ml_job(mixed_job), output_shape(model, "ListCandidatesForAutoMLJob"))


def test_candidate_metrics_name_only_objective_metrics(model, jobs):
    folder = files.JobFolder(jobs["completed"], "completed")
    document = artifacts.candidate_document(folder, _trial(1, "Completed", objective=0.8), "F1",
                                            "BinaryClassification", None)
    assert document["CandidateProperties"]["CandidateMetrics"] == [
        {"MetricName": "F1", "StandardMetricName": "F1", "Value": 0.8, "Set": "Validation"},
        {"StandardMetricName": "LogLoss", "Value": 0.4, "Set": "Validation"},  # no MetricName; AUC NaN left out
    ]
    assert_shape({"Candidates": [document]}, output_shape(model, "ListCandidatesForAutoMLJob"))


# --- ListCandidatesForAutoMLJob semantics --------------------------------------------------------------------


def _names(response) -> list[str]:
    return [c["CandidateName"] for c in response["Candidates"]]


def _all_pages(job, page_size, **query) -> list[str]:
    names, token = [], None
    while True:
        response = api.list_candidates_for_auto_ml_job(job, max_results=page_size, next_token=token, **query)
        assert len(response["Candidates"]) <= page_size
        names += _names(response)
        token = response.get("NextToken")
        if token is None:
            return names


def test_default_order_is_creation_time_ascending(mixed_job):
    listed = api.list_candidates_for_auto_ml_job(mixed_job)["Candidates"]
    created = [datetime.fromisoformat(c["CreationTime"]) for c in listed]
    assert created == sorted(created) and len(listed) == 5
    assert _names(api.list_candidates_for_auto_ml_job(mixed_job, sort_by="CreationTime", sort_order="Descending")) \
        == _names({"Candidates": listed})[::-1]


def test_sort_by_objective_lists_candidates_without_one_last(mixed_job):
    for order in ("Ascending", "Descending"):
        listed = api.list_candidates_for_auto_ml_job(mixed_job, sort_by="FinalObjectiveMetricValue",
                                                     sort_order=order)["Candidates"]
        values = [c["FinalAutoMLJobObjectiveMetric"]["Value"] for c in listed[:3]]
        assert values == sorted(values, reverse=order == "Descending")
        assert [c["CandidateStatus"] for c in listed[3:]] in (["Failed", "Stopped"], ["Stopped", "Failed"])


def test_sort_by_status_and_filters(mixed_job):
    statuses = [c["CandidateStatus"] for c in api.list_candidates_for_auto_ml_job(mixed_job, sort_by="Status")[
        "Candidates"]]
    assert statuses == ["Completed"] * 3 + ["Failed", "Stopped"]
    assert [c["CandidateStatus"] for c in api.list_candidates_for_auto_ml_job(
        mixed_job, status_equals="Stopped")["Candidates"]] == ["Stopped"]
    name = _names(api.list_candidates_for_auto_ml_job(mixed_job))[2]
    assert _names(api.list_candidates_for_auto_ml_job(mixed_job, candidate_name_equals=name)) == [name]
    assert api.list_candidates_for_auto_ml_job(mixed_job, candidate_name_equals="nobody") == {"Candidates": []}
    assert api.list_candidates_for_auto_ml_job(mixed_job, status_equals="InProgress") == {"Candidates": []}


@pytest.mark.parametrize("sort_by", api.SORT_BY)
@pytest.mark.parametrize("sort_order", api.SORT_ORDERS)
@pytest.mark.parametrize("page_size", [1, 2, 300])
def test_paging_returns_every_candidate_once_in_order(mixed_job, sort_by, sort_order, page_size):
    whole = _names(api.list_candidates_for_auto_ml_job(mixed_job, sort_by=sort_by, sort_order=sort_order))
    assert _all_pages(mixed_job, page_size, sort_by=sort_by, sort_order=sort_order) == whole
    assert len(set(whole)) == 5


def test_paging_survives_candidates_added_between_pages(mixed_job):
    first = api.list_candidates_for_auto_ml_job(mixed_job, max_results=2)
    folder = files.JobFolder(mixed_job, "completed")
    listed = files.read_json(folder.candidates_json)["Candidates"]
    early = artifacts.candidate_document(folder, _trial(9, "Failed", reason="late", started=1_600_000_000.0), "F1",
                                         "BinaryClassification", None)
    files.write_json(folder.candidates_json, {"Candidates": [early] + listed})
    rest = api.list_candidates_for_auto_ml_job(mixed_job, next_token=first["NextToken"])
    seen = _names(first) + _names(rest)
    assert sorted(seen) == sorted(c["CandidateName"] for c in listed)  # each once; the earlier-created one is not
    assert early["CandidateName"] not in seen


@pytest.mark.parametrize("arguments, message", [
    ({"sort_by": "Name"}, "Value 'Name' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: "
                          "[CreationTime, Status, FinalObjectiveMetricValue]"),
    ({"sort_order": "Up"}, "at 'sortOrder' failed to satisfy constraint"),
    ({"status_equals": "Succeeded"}, "at 'statusEquals' failed to satisfy constraint"),
    ({"max_results": 0}, "Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater "
                         "than or equal to 1"),
    ({"max_results": 301}, "Member must have value less than or equal to 300"),
    ({"candidate_name_equals": ""}, "at 'candidateNameEquals' failed to satisfy constraint"),
    ({"candidate_name_equals": "x" * 65}, "Member must have length less than or equal to 64"),
    ({"next_token": "not-a-token"}, "Invalid pagination token"),
])
def test_bad_arguments_are_refused_as_aws_refuses_them(mixed_job, arguments, message):
    with pytest.raises(InputError, match=re.escape(message)):
        api.list_candidates_for_auto_ml_job(mixed_job, **arguments)


def test_several_bad_arguments_are_reported_together(mixed_job):
    with pytest.raises(InputError, match=r"^2 validation errors detected: .*'sortOrder'.*; .*'maxResults'"):
        api.list_candidates_for_auto_ml_job(mixed_job, sort_order="up", max_results=1000)


def test_a_token_serves_only_the_query_it_came_from(mixed_job):
    token = api.list_candidates_for_auto_ml_job(mixed_job, max_results=1)["NextToken"]
    with pytest.raises(InputError, match="Invalid pagination token"):
        api.list_candidates_for_auto_ml_job(mixed_job, next_token=token, sort_by="Status")


def test_not_a_job_folder(tmp_path):
    with pytest.raises(InputError, match="not a job folder"):
        api.list_candidates_for_auto_ml_job(tmp_path)


# --- the command line -------------------------------------------------------------------------------------------


def test_cli_prints_the_api_responses(jobs, mixed_job, capsys):
    assert main(["describe", str(jobs["completed"]), "--v1"]) == 0
    assert json.loads(capsys.readouterr().out) == api.describe_auto_ml_job(jobs["completed"])
    assert main(["describe", str(jobs["failed"])]) == 0
    assert json.loads(capsys.readouterr().out) == api.describe_auto_ml_job_v2(jobs["failed"])
    assert main(["candidates", str(mixed_job), "--sort-by", "FinalObjectiveMetricValue", "--sort-order",
                 "Descending", "--max-results", "2"]) == 0
    page = json.loads(capsys.readouterr().out)
    assert page == api.list_candidates_for_auto_ml_job(mixed_job, sort_by="FinalObjectiveMetricValue",
                                                       sort_order="Descending", max_results=2)
    assert main(["candidates", str(mixed_job), "--status-equals", "Failed", "--candidate-name",
                 page["Candidates"][0]["CandidateName"]]) == 0
    assert json.loads(capsys.readouterr().out) == {"Candidates": []}
    assert main(["candidates", str(mixed_job), "--max-results", "0"]) == 2
    assert "at 'maxResults' failed to satisfy constraint" in capsys.readouterr().err
