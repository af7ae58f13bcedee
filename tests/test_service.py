"""`autopilot-local server`, as a real process on 127.0.0.1: boto3's sagemaker, s3 and sts clients pointed at it
with AWS_ENDPOINT_URL alone; every response checked against botocore's output shapes; bad requests sent as raw
HTTP (boto3 would refuse them itself) get AWS's error shapes; a killed server loses no job."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.request

import pandas as pd
import pytest
from conftest import regression_frame
from test_api_shapes import assert_shape

from autopilot_local import InputError, LocalService

boto3 = pytest.importorskip("boto3")
botocore = pytest.importorskip("botocore")
pytest.importorskip("moto")

ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
pytestmark = pytest.mark.usefixtures("fake_aws")


class Server(LocalService):
    """One server process with a home of its own, and requests sent raw."""

    def __init__(self, home, port: int = 0, **quotas):
        super().__init__(home, port, **quotas)
        self.port = int(self.url.rsplit(":", 1)[1])

    def client(self, service: str, validate: bool = True):
        config = botocore.config.Config(parameter_validation=validate, retries={"max_attempts": 1})
        return super().client(service, config=config)

    def raw(self, target: str, body) -> tuple[int, dict]:
        """A request as the wire carries it, with no client in between."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(self.url, data=data, method="POST", headers={
            "X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())


@pytest.fixture
def server(tmp_path):
    running = Server(tmp_path / "home")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def model():
    return botocore.session.get_session().get_service_model("sagemaker")


def _request(name: str, bucket: str = "data", **criteria) -> dict:
    return {
        "AutoMLJobName": name, "RoleArn": ROLE,
        "AutoMLJobInputDataConfig": [{"ChannelType": "training", "ContentType": "text/csv;header=present",
                                      "CompressionType": "None", "DataSource": {"S3DataSource": {
                                          "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/in/"}}}],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/out"},
        "AutoMLProblemTypeConfig": {"TabularJobConfig": {"TargetAttributeName": "price", "CompletionCriteria": {
            "MaxCandidates": 2} | criteria}},
    }


def _upload(server: Server, tmp_path, bucket: str = "data", frame: pd.DataFrame | None = None) -> None:
    s3 = server.client("s3")
    s3.create_bucket(Bucket=bucket)
    path = tmp_path / "train.csv"
    (regression_frame(n=600) if frame is None else frame).to_csv(path, index=False)
    s3.upload_file(str(path), bucket, "in/train.csv")


def _ended(sagemaker, name: str, limit: float = 240) -> dict:
    ends = time.time() + limit
    while time.time() < ends:
        described = sagemaker.describe_auto_ml_job_v2(AutoMLJobName=name)
        if described["AutoMLJobStatus"] != "InProgress":
            return described
        time.sleep(0.5)
    raise AssertionError(f"job {name} still InProgress after {limit} s")


def test_a_job_through_boto3_alone(server, tmp_path, model):
    sagemaker, s3 = server.client("sagemaker"), server.client("s3")
    assert server.client("sts").get_caller_identity()["Account"] == "000000000000"
    _upload(server, tmp_path)
    created = sagemaker.create_auto_ml_job_v2(**_request("svc-boto3"))
    assert created["AutoMLJobArn"].endswith(":automl-job/svc-boto3")
    first = sagemaker.describe_auto_ml_job_v2(AutoMLJobName="svc-boto3")
    assert first["AutoMLJobStatus"] == "InProgress"  # answered at once, before the job's process has a folder
    described = _ended(sagemaker, "svc-boto3")
    assert described["AutoMLJobStatus"] == "Completed", described.get("FailureReason")
    assert described["AutoMLJobSecondaryStatus"] == "MaxCandidatesReached"
    assert described["BestCandidate"]["FinalAutoMLJobObjectiveMetric"]["MetricName"] == "MSE"
    assert sagemaker.describe_auto_ml_job(AutoMLJobName="svc-boto3")["AutoMLJobStatus"] == "Completed"
    listed = sagemaker.list_candidates_for_auto_ml_job(AutoMLJobName="svc-boto3", SortBy="FinalObjectiveMetricValue")
    assert len(listed["Candidates"]) == 2
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="data", Prefix="out/svc-boto3/")["Contents"]]
    assert "out/svc-boto3/job.json" in keys and "out/svc-boto3/leaderboard.csv" in keys  # Autopilot's layout
    steps = {step["CandidateStepType"].rsplit("::", 1)[1]: step["CandidateStepName"]
             for step in described["BestCandidate"]["CandidateSteps"]}
    trained = sagemaker.describe_training_job(TrainingJobName=described["BestCandidate"]["CandidateName"])
    assert trained["TrainingJobStatus"] == "Completed" and trained["ModelArtifacts"]["S3ModelArtifacts"].startswith(
        "s3://data/out/svc-boto3/")
    assert sagemaker.describe_processing_job(ProcessingJobName=steps["ProcessingJob"])["ProcessingJobStatus"] == \
        "Completed"
    sagemaker.add_tags(ResourceArn=created["AutoMLJobArn"], Tags=[{"Key": "team", "Value": "pricing"}])
    assert sagemaker.list_tags(ResourceArn=created["AutoMLJobArn"])["Tags"] == [{"Key": "team", "Value": "pricing"}]
    sagemaker.delete_tags(ResourceArn=created["AutoMLJobArn"], TagKeys=["team"])
    assert sagemaker.list_tags(ResourceArn=created["AutoMLJobArn"])["Tags"] == []
    for target, body in (("DescribeAutoMLJobV2", {"AutoMLJobName": "svc-boto3"}),
                         ("DescribeAutoMLJob", {"AutoMLJobName": "svc-boto3"}),
                         ("ListCandidatesForAutoMLJob", {"AutoMLJobName": "svc-boto3"}),
                         ("DescribeTrainingJob", {"TrainingJobName": described["BestCandidate"]["CandidateName"]}),
                         ("DescribeProcessingJob", {"ProcessingJobName": steps["ProcessingJob"]}),
                         ("ListAutoMLJobs", {})):
        status, answer = server.raw(f"SageMaker.{target}", body)
        assert status == 200
        assert_shape(_iso(answer), model.operation_model(target).output_shape)


def _iso(value):
    """The wire's epoch-second timestamps as the ISO strings the shape walker reads; other numbers as they are."""
    if isinstance(value, dict):
        return {k: (time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(v)) if k.endswith("Time") else _iso(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(item) for item in value]
    return value


def test_list_auto_ml_jobs_filters_sorts_and_pages(server):
    sagemaker = server.client("sagemaker")
    for name in ("list-b", "list-a", "list-c"):  # no data: each fails, and is listed all the same
        sagemaker.create_auto_ml_job_v2(**_request(name, bucket="missing"))
    names = lambda **kw: [s["AutoMLJobName"] for s in sagemaker.list_auto_ml_jobs(**kw)["AutoMLJobSummaries"]]  # noqa: E731
    assert names(SortBy="Name", SortOrder="Ascending") == ["list-a", "list-b", "list-c"]
    assert names(SortBy="Name") == ["list-c", "list-b", "list-a"]  # AWS's default order is Descending
    assert names(NameContains="LIST-B") == ["list-b"]
    assert names(CreationTimeAfter=4102444800) == []  # 2100
    first = sagemaker.list_auto_ml_jobs(SortBy="Name", SortOrder="Ascending", MaxResults=2)
    assert [s["AutoMLJobName"] for s in first["AutoMLJobSummaries"]] == ["list-a", "list-b"]
    rest = sagemaker.list_auto_ml_jobs(SortBy="Name", SortOrder="Ascending", MaxResults=2,
                                       NextToken=first["NextToken"])
    assert [s["AutoMLJobName"] for s in rest["AutoMLJobSummaries"]] == ["list-c"] and "NextToken" not in rest
    failed = _ended(sagemaker, "list-a")
    assert failed["AutoMLJobStatus"] == "Failed" and "missing" in failed["FailureReason"]
    assert names(StatusEquals="Failed", NameContains="list-a") == ["list-a"]


@pytest.mark.parametrize("target, body, code, words", [
    ("SageMaker.DescribeAutoMLJobV2", {}, "ValidationException", "Value null at 'autoMLJobName'"),
    ("SageMaker.DescribeAutoMLJobV2", {"AutoMLJobNam": "x"}, "ValidationException", "'autoMLJobNam'"),
    ("SageMaker.DescribeAutoMLJobV2", {"AutoMLJobName": 7}, "ValidationException", "must be of type string"),
    ("SageMaker.DescribeAutoMLJobV2", {"AutoMLJobName": "bad_name!"}, "ValidationException", "regular expression"),
    ("SageMaker.ListAutoMLJobs", {"MaxResults": 1000}, "ValidationException", "less than or equal to 100"),
    ("SageMaker.ListAutoMLJobs", {"SortBy": "Size"}, "ValidationException", "enum value set"),
    ("SageMaker.CreateAutoMLJobV2", {"AutoMLJobName": "x"}, "ValidationException", "4 validation errors"),
    ("SageMaker.DescribeAutoMLJobV2", b"{not json", "SerializationException", "not JSON"),
    ("SageMaker.NoSuchOperation", {}, "UnknownOperationException", "NoSuchOperation"),
    ("SageMaker.CreateTrainingJob", {}, "UnknownOperationException", "does not serve SageMaker's CreateTrainingJob"),
    ("SageMaker.DescribeAutoMLJobV2", {"AutoMLJobName": "nobody"}, "ResourceNotFound", "nobody"),
])
def test_bad_requests_get_aws_error_shapes(server, target, body, code, words):
    status, answer = server.raw(target, body)
    assert status == 400
    assert answer["__type"] == code and words in answer["message"], answer


def test_boto3_reads_the_errors_as_aws_errors(server):
    sagemaker = server.client("sagemaker")
    with pytest.raises(botocore.exceptions.ClientError) as missing:
        sagemaker.describe_auto_ml_job_v2(AutoMLJobName="nobody")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    sagemaker.create_auto_ml_job_v2(**_request("twice", bucket="missing"))
    with pytest.raises(botocore.exceptions.ClientError) as twice:
        sagemaker.create_auto_ml_job_v2(**_request("twice", bucket="missing"))
    assert twice.value.response["Error"]["Code"] == "ResourceInUse"
    refused = _request("refused", bucket="missing")
    refused["AutoMLProblemTypeConfig"]["TabularJobConfig"]["CompletionCriteria"]["MaxCandidates"] = 751
    with pytest.raises(botocore.exceptions.ClientError) as too_many:
        sagemaker.create_auto_ml_job_v2(**refused)
    assert too_many.value.response["Error"]["Code"] == "ValidationException"


def test_candidates_are_listed_as_they_finish(server, tmp_path):
    """As in Autopilot, ListCandidatesForAutoMLJob shows the finished candidates while the job still tunes."""
    sagemaker = server.client("sagemaker")
    _upload(server, tmp_path)
    sagemaker.create_auto_ml_job_v2(**_request("growing", MaxCandidates=16))
    seen: set = set()
    ends = time.time() + 240
    while (described := sagemaker.describe_auto_ml_job_v2(AutoMLJobName="growing"))["AutoMLJobStatus"] == \
            "InProgress":
        listed = sagemaker.list_candidates_for_auto_ml_job(AutoMLJobName="growing")["Candidates"]
        if described["AutoMLJobSecondaryStatus"] == "ModelTuning":
            seen |= {c["CandidateName"] for c in listed}
        assert time.time() < ends
        time.sleep(0.3)
    final = {c["CandidateName"] for c in sagemaker.list_candidates_for_auto_ml_job(AutoMLJobName="growing")[
        "Candidates"]}
    assert described["AutoMLJobStatus"] == "Completed"
    assert seen and seen < final, (len(seen), len(final))


def test_quotas_are_resource_limit_exceeded_as_aws_words_them(tmp_path):
    running = Server(tmp_path / "home", max_active_jobs=1, max_endpoints=1)
    try:
        sagemaker = running.client("sagemaker")
        sagemaker.create_auto_ml_job_v2(**_request("first", bucket="missing"))  # InProgress for a second or two
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            sagemaker.create_auto_ml_job_v2(**_request("second", bucket="missing"))
        error = refused.value.response["Error"]
        assert error["Code"] == "ResourceLimitExceeded"
        assert "service limit 'Maximum number of AutoML jobs in progress' is 1 Jobs" in error["Message"]
        assert [s["AutoMLJobName"] for s in sagemaker.list_auto_ml_jobs()["AutoMLJobSummaries"]] == ["first"]
        _ended(sagemaker, "first")
        sagemaker.create_auto_ml_job_v2(**_request("second", bucket="missing"))  # the slot is free again
    finally:
        running.stop()


def test_a_job_refused_for_its_data_fails_naming_the_column(server, tmp_path):
    sagemaker = server.client("sagemaker")
    _upload(server, tmp_path, frame=regression_frame(n=600).rename(columns={"price": "cost"}))
    sagemaker.create_auto_ml_job_v2(**_request("no-target"))
    described = _ended(sagemaker, "no-target")
    assert described["AutoMLJobStatus"] == "Failed"
    assert "'price'" in described["FailureReason"], described["FailureReason"]


def test_a_server_started_without_credentials_runs_its_jobs(tmp_path, monkeypatch):
    """The service's S3 takes any credentials; a shell with none must not fail the jobs that read it."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    running = Server(tmp_path / "home")
    try:
        sagemaker = running.client("sagemaker")
        _upload(running, tmp_path)
        sagemaker.create_auto_ml_job_v2(**_request("bare", MaxCandidates=1))
        described = _ended(sagemaker, "bare")
        assert described["AutoMLJobStatus"] == "Completed", described.get("FailureReason")
    finally:
        running.stop()


def test_a_killed_server_loses_no_job(tmp_path):
    first = Server(tmp_path / "home")
    try:
        sagemaker = first.client("sagemaker")
        _upload(first, tmp_path)
        sagemaker.create_auto_ml_job_v2(**_request("survivor", MaxCandidates=6))
        sagemaker.create_auto_ml_job_v2(**_request("waiting"))  # one job at a time: this one waits
        assert sagemaker.describe_auto_ml_job_v2(AutoMLJobName="waiting")["AutoMLJobSecondaryStatus"] == "Starting"
        ends = time.time() + 120
        while sagemaker.describe_auto_ml_job_v2(AutoMLJobName="survivor")["AutoMLJobSecondaryStatus"] != "ModelTuning":
            assert time.time() < ends, "the job never reached ModelTuning"
            time.sleep(0.2)
        record = json.loads((tmp_path / "home" / "service" / "jobs" / "survivor.json").read_text())
        os.kill(record["pid"], signal.SIGKILL)  # the job's process and the server die together
        first.kill()
    finally:
        first.stop()
    second = Server(tmp_path / "home", port=first.port)  # the same address: the jobs read S3 through it
    try:
        sagemaker = second.client("sagemaker")
        survivor = _ended(sagemaker, "survivor")
        assert survivor["AutoMLJobStatus"] == "Completed", survivor.get("FailureReason")
        waiting = _ended(sagemaker, "waiting")
        assert waiting["AutoMLJobStatus"] == "Completed", waiting.get("FailureReason")
    finally:
        second.stop()


def test_the_server_listens_on_this_machine_only(server):
    psutil = pytest.importorskip("psutil")
    listening = [c.laddr for c in psutil.Process(server.process.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert [(address.ip, address.port) for address in listening] == [("127.0.0.1", server.port)]


def test_s3_objects_outlive_the_server_and_no_key_escapes_its_home(tmp_path):
    hostile = ["../../escape.txt", "/absolute/path.txt", "a/../../b.txt", "plain/key.csv"]
    first = Server(tmp_path / "home")
    try:
        s3 = first.client("s3")
        s3.create_bucket(Bucket="keep")
        for key in hostile:
            s3.put_object(Bucket="keep", Key=key, Body=key.encode() * 3)
        s3.delete_object(Bucket="keep", Key="plain/key.csv")
        first.kill()
    finally:
        first.stop()
    second = Server(tmp_path / "home")
    try:
        s3 = second.client("s3")
        kept = {o["Key"] for o in s3.list_objects_v2(Bucket="keep")["Contents"]}
        assert kept == set(hostile) - {"plain/key.csv"}
        for key in kept:
            assert s3.get_object(Bucket="keep", Key=key)["Body"].read() == key.encode() * 3
    finally:
        second.stop()
    outside = [p for p in tmp_path.rglob("*") if p.is_file() and "home" not in p.relative_to(tmp_path).parts[:1]]
    assert outside == []


def _until(check, limit: float = 120):
    ends = time.time() + limit
    while time.time() < ends:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"not within {limit} s")


def test_a_candidate_behind_an_endpoint_and_a_batch_transform(tmp_path, model):
    server = Server(tmp_path / "home", max_endpoints=1)
    try:
        sagemaker, runtime, s3 = server.client("sagemaker"), server.client("sagemaker-runtime"), server.client("s3")
        _upload(server, tmp_path)
        sagemaker.create_auto_ml_job_v2(**_request("served"))
        best = _ended(sagemaker, "served")["BestCandidate"]
        assert all(c["ModelDataUrl"].startswith("s3://data/out/served/") for c in best["InferenceContainers"])
        sagemaker.create_model(ModelName="served-model", Containers=best["InferenceContainers"], ExecutionRoleArn=ROLE)
        variant = {"VariantName": "AllTraffic", "ModelName": "served-model", "InitialInstanceCount": 1,
                   "InstanceType": "ml.m5.large"}
        sagemaker.create_endpoint_config(EndpointConfigName="served-config", ProductionVariants=[variant])
        sagemaker.create_endpoint(EndpointName="served", EndpointConfigName="served-config")
        with pytest.raises(botocore.exceptions.ClientError, match="ResourceLimitExceeded.*'Maximum number of "
                                                                  "endpoints' is 1 Endpoints"):
            sagemaker.create_endpoint(EndpointName="another", EndpointConfigName="served-config")
        _until(lambda: sagemaker.describe_endpoint(EndpointName="served")["EndpointStatus"] == "InService")
        rows = regression_frame(n=600, seed=1).drop(columns=["price"])
        body = rows.head(5).to_csv(header=False, index=False)
        answer = runtime.invoke_endpoint(EndpointName="served", ContentType="text/csv", Body=body)
        assert answer["InvokedProductionVariant"] == "AllTraffic"
        assert len(answer["Body"].read().decode().strip().splitlines()) == 5
        as_json = runtime.invoke_endpoint(EndpointName="served", ContentType="text/csv", Accept="application/json",
                                          Body=body)
        assert len(json.loads(as_json["Body"].read())["predictions"]) == 5

        from concurrent.futures import ThreadPoolExecutor

        one_row = rows.head(1).to_csv(header=False, index=False)
        with ThreadPoolExecutor(8) as pool:  # 200 invocations at once, every one answered
            answers = list(pool.map(lambda _: runtime.invoke_endpoint(EndpointName="served", ContentType="text/csv",
                                                                      Body=one_row)["Body"].read(), range(200)))
        assert len(answers) == 200 and len(set(answers)) == 1

        with pytest.raises(botocore.exceptions.ClientError) as too_large:
            runtime.invoke_endpoint(EndpointName="served", ContentType="text/csv", Body=b"1," * (7 * 2**20 // 2))
        assert too_large.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
        with pytest.raises(botocore.exceptions.ClientError) as bad_row:
            runtime.invoke_endpoint(EndpointName="served", ContentType="text/csv", Body="1,2\n")
        assert bad_row.value.response["Error"]["Code"] == "ModelError" and "row 1" in str(bad_row.value)
        with pytest.raises(botocore.exceptions.ClientError) as missing:
            runtime.invoke_endpoint(EndpointName="nowhere", ContentType="text/csv", Body=body)
        assert missing.value.response["Error"]["Code"] == "ValidationError"

        s3.put_object(Bucket="data", Key="batch/part-1.csv", Body=rows.head(100).to_csv(header=False, index=False))
        s3.put_object(Bucket="data", Key="batch/part-2.csv", Body=rows.tail(30).to_csv(header=False, index=False))
        sagemaker.create_transform_job(
            TransformJobName="scored", ModelName="served-model", MaxPayloadInMB=1, BatchStrategy="MultiRecord",
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/batch"}},
                            "ContentType": "text/csv", "SplitType": "Line"},
            TransformOutput={"S3OutputPath": "s3://data/scored", "AssembleWith": "Line"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
        done = _until(lambda: (lambda d: d if d["TransformJobStatus"] != "InProgress" else None)(
            sagemaker.describe_transform_job(TransformJobName="scored")))
        assert done["TransformJobStatus"] == "Completed", done.get("FailureReason")
        for key, count in (("scored/part-1.csv.out", 100), ("scored/part-2.csv.out", 30)):
            assert len(s3.get_object(Bucket="data", Key=key)["Body"].read().decode().strip().splitlines()) == count

        other = [c for c in sagemaker.list_candidates_for_auto_ml_job(AutoMLJobName="served")["Candidates"]
                 if c["CandidateName"] != best["CandidateName"]][0]  # its model is built when first asked for
        sagemaker.create_model(ModelName="other-model", Containers=other["InferenceContainers"], ExecutionRoleArn=ROLE)
        sagemaker.create_transform_job(
            TransformJobName="other", ModelName="other-model",
            TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                            "S3Uri": "s3://data/batch/part-2.csv"}},
                            "ContentType": "text/csv", "SplitType": "Line"},
            TransformOutput={"S3OutputPath": "s3://data/other"},
            TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
        built = _until(lambda: (lambda d: d if d["TransformJobStatus"] != "InProgress" else None)(
            sagemaker.describe_transform_job(TransformJobName="other")))
        assert built["TransformJobStatus"] == "Completed", built.get("FailureReason")
        scored = s3.get_object(Bucket="data", Key="other/part-2.csv.out")["Body"].read().decode().split()
        assert len(scored) == 30

        for target, request in (("DescribeModel", {"ModelName": "served-model"}), ("ListModels", {}),
                             ("DescribeEndpointConfig", {"EndpointConfigName": "served-config"}),
                             ("DescribeEndpoint", {"EndpointName": "served"}), ("ListEndpoints", {}),
                             ("DescribeTransformJob", {"TransformJobName": "scored"}), ("ListTransformJobs", {})):
            status, answered = server.raw(f"SageMaker.{target}", request)
            assert status == 200, answered
            assert_shape(_iso(answered), model.operation_model(target).output_shape)

        sagemaker.create_endpoint_config(EndpointConfigName="served-config-2", ProductionVariants=[variant])
        sagemaker.update_endpoint(EndpointName="served", EndpointConfigName="served-config-2")
        _until(lambda: sagemaker.describe_endpoint(EndpointName="served")["EndpointConfigName"] == "served-config-2")
        server.kill()  # endpoints come back with the server
    finally:
        server.stop()
    again = Server(tmp_path / "home", port=server.port)
    try:
        sagemaker, runtime = again.client("sagemaker"), again.client("sagemaker-runtime")
        _until(lambda: sagemaker.describe_endpoint(EndpointName="served")["EndpointStatus"] == "InService")
        answer = runtime.invoke_endpoint(EndpointName="served", ContentType="text/csv", Body=body)
        assert len(answer["Body"].read().decode().strip().splitlines()) == 5
        sagemaker.delete_endpoint(EndpointName="served")
        with pytest.raises(botocore.exceptions.ClientError):
            runtime.invoke_endpoint(EndpointName="served", ContentType="text/csv", Body=body)
    finally:
        again.stop()


def test_create_model_reads_only_model_files_of_known_jobs(server, tmp_path):
    sagemaker = server.client("sagemaker")
    outside = tmp_path / "elsewhere.joblib"
    outside.write_bytes(b"not a model")
    for url in (str(outside), "/etc/passwd", "s3://nobucket/model.joblib"):
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            sagemaker.create_model(ModelName="sneaky", ExecutionRoleArn=ROLE, PrimaryContainer={
                "Image": "x", "ModelDataUrl": url if url.startswith("s3://") else f"s3://b/{url}"})
        assert refused.value.response["Error"]["Code"] == "ValidationException"
    status, answer = server.raw("SageMaker.CreateModel", {"ModelName": "sneaky", "ExecutionRoleArn": ROLE,
                                                          "PrimaryContainer": {"Image": "x",
                                                                               "ModelDataUrl": str(outside)}})
    assert status == 400 and answer["__type"] == "ValidationException"


def test_local_service_points_this_process_at_itself_and_puts_everything_back(tmp_path, monkeypatch):
    """`with LocalService():` is all a notebook needs: clients built with no endpoint find the server, and when the
    block ends the server has stopped and the environment is as it was."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    with LocalService(tmp_path / "home") as service:
        assert os.environ["AWS_ENDPOINT_URL"] == service.url
        assert boto3.client("sagemaker").list_auto_ml_jobs()["AutoMLJobSummaries"] == []
        boto3.client("s3").create_bucket(Bucket="notebook")
        assert service.client("s3").list_buckets()["Buckets"][0]["Name"] == "notebook"
    assert service.process.poll() is not None
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9" and "AWS_EC2_METADATA_DISABLED" not in os.environ
    assert service.log.exists()


def test_a_server_that_cannot_start_says_why(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(InputError, match="did not start: .*cannot listen"):
            LocalService(tmp_path / "home", port=taken.getsockname()[1])


# What the SageMaker Python SDK v3 (`bench/sdk_v3.py`) showed, reproduced with boto3: a job's CreationTime and
# RoleArn are the Create's from the first Describe to the last; a job whose process ends while it is InProgress
# fails, saying why, rather than staying InProgress for ever; an empty object can be written to S3.

def _running(server: Server, sagemaker, name: str, limit: float = 120) -> int:
    """The pid of the job's process once the job has a folder of its own (past Starting)."""
    ends = time.time() + limit
    while sagemaker.describe_auto_ml_job_v2(AutoMLJobName=name)["AutoMLJobSecondaryStatus"] == "Starting":
        assert time.time() < ends, f"job {name} never started"
        time.sleep(0.2)
    return json.loads((server.home / "service" / "jobs" / f"{name}.json").read_text())["pid"]


def _kill(pid: int) -> None:
    """The job's process and the children it forked (its trials), which would otherwise outlive the test."""
    psutil = pytest.importorskip("psutil")
    try:
        process = psutil.Process(pid)
        for each in [*process.children(recursive=True), process]:
            each.kill()
    except psutil.NoSuchProcess:
        pass


def test_creation_time_and_role_are_the_creates_before_and_after_the_job_starts(server, tmp_path):
    sagemaker = server.client("sagemaker")
    _upload(server, tmp_path)
    sagemaker.create_auto_ml_job_v2(**_request("kept", MaxCandidates=50))
    waiting = sagemaker.describe_auto_ml_job_v2(AutoMLJobName="kept")  # before the job's process has a folder
    pid = _running(server, sagemaker, "kept")
    try:
        assert waiting["RoleArn"] == ROLE
        for described in (sagemaker.describe_auto_ml_job_v2(AutoMLJobName="kept"),
                          sagemaker.describe_auto_ml_job(AutoMLJobName="kept"),
                          sagemaker.list_auto_ml_jobs(NameContains="kept")["AutoMLJobSummaries"][0]):
            assert described["CreationTime"] == waiting["CreationTime"]
            assert described.get("RoleArn", ROLE) == ROLE  # the summary names no role
        before = waiting["CreationTime"].timestamp() + 0.001  # a filter on the time Describe gave finds the job
        assert sagemaker.list_auto_ml_jobs(CreationTimeBefore=before)["AutoMLJobSummaries"][0]["AutoMLJobName"] == \
            "kept"
    finally:
        _kill(pid)


def test_a_job_whose_process_dies_mid_run_fails_instead_of_staying_in_progress(server, tmp_path):
    sagemaker = server.client("sagemaker")
    _upload(server, tmp_path)
    sagemaker.create_auto_ml_job_v2(**_request("orphan", MaxCandidates=50))
    pid = _running(server, sagemaker, "orphan")
    _kill(pid)
    described = _ended(sagemaker, "orphan", limit=30)
    assert (described["AutoMLJobStatus"], described["AutoMLJobSecondaryStatus"]) == ("Failed", "Failed")
    assert described["FailureReason"]  # the log's last line, or how the process ended
    assert described["EndTime"] >= described["CreationTime"]
    assert sagemaker.describe_auto_ml_job(AutoMLJobName="orphan")["AutoMLJobStatus"] == "Failed"
    assert [s["AutoMLJobName"] for s in sagemaker.list_auto_ml_jobs(StatusEquals="Failed")["AutoMLJobSummaries"]] \
        == ["orphan"]
    with pytest.raises(botocore.exceptions.ClientError, match="cannot be stopped"):
        sagemaker.stop_auto_ml_job(AutoMLJobName="orphan")


def test_an_empty_object_can_be_written(server):
    config = botocore.config.Config(read_timeout=5, retries={"max_attempts": 1})
    s3 = boto3.client("s3", endpoint_url=server.url, config=config)
    s3.create_bucket(Bucket="empty")
    s3.put_object(Bucket="empty", Key="stop-requested", Body=b"")  # botocore sends Expect: 100-continue
    assert s3.get_object(Bucket="empty", Key="stop-requested")["Body"].read() == b""
