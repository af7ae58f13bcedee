"""Batch transform's DataProcessing (InputFilter, JoinSource, OutputFilter) as SageMaker documents it: the JSONPath
subset its filters take, refused at CreateTransformJob when it cannot be read, and a real server's transform that
keeps each record's id beside the model's own prediction."""

from __future__ import annotations

import csv
import io
import json

import pytest
from conftest import regression_frame

from autopilot_local.service.jsonpath import parse_path, select
from autopilot_local.service.protocol import ServiceError
from autopilot_local.service.transforms import RecordError, _batches, _processing

ROW = ["a", "b", "c", "d", "e", "f"]


@pytest.mark.parametrize("path, selected", [
    ("$", ROW), ("$[1:]", ROW[1:]), ("$[0:5]", ROW[0:5]), ("$[1,3,5]", ["b", "d", "f"]), ("$[-1]", "f"),
    ("$[:-1]", ROW[:-1]), ("$[0,2:4]", ["a", "c", "d"]), ("$[0,-1]", ["a", "f"]), ("$[ 0 , -1 ]", ["a", "f"]),
    ("$[*]", ROW), ("$[0:6]", ROW), ("$[-6:]", ROW),
])
def test_csv_records_are_arrays_of_columns(path, selected):
    assert select(parse_path(path), ROW) == selected


RECORD = {"id": 7, "features": [1, 2, 3], "meta": {"source": "web"}}


@pytest.mark.parametrize("path, selected", [
    ("$", RECORD), ("$.features", [1, 2, 3]), ("$['id','features']", {"id": 7, "features": [1, 2, 3]}),
    ('$["id"]', 7), ("$.id", 7), ("$.meta.source", "web"), ("$.features[1:]", [2, 3]), ("$['meta']['source']", "web"),
    ("$.*", [7, [1, 2, 3], {"source": "web"}]),
])
def test_json_records_are_selected_by_key(path, selected):
    assert select(parse_path(path), RECORD) == selected


@pytest.mark.parametrize("path, words", [
    ("", "starts with '$'"), ("features", "starts with '$'"), ("$[1:", "character 2"), ("$..id", "character 2"),
    ("$.", "character 2"), ("$[1,]", "ends with a comma"), ("$[]", "cannot read []"), ("$[1:2:3]", "cannot read"),
    ("$['id',1]", "mixes names and indexes"), ("$[*,1]", "mixes '*'"), ("$[?(@.id)]", "cannot read"),
    ("$[id]", "cannot read"), ("$ ", "character 2"),
])
def test_paths_the_filters_do_not_take_are_refused(path, words):
    with pytest.raises(ValueError) as refused:
        parse_path(path)
    assert words in str(refused.value)


@pytest.mark.parametrize("path, value, words", [
    ("$[6]", ROW, "6 columns; [6] is out of range"), ("$[-7]", ROW, "[-7] is out of range"),
    ("$[0:7]", ROW, "[0:7] is out of range"), ("$.id", ROW, "not a JSON object"), ("$.nothing", RECORD, "'nothing'"),
    ("$[0]", RECORD, "not an array"), ("$.id.more", RECORD, "not a JSON object"),
])
def test_a_record_lacking_what_a_path_names_is_a_lookup_error(path, value, words):
    with pytest.raises(LookupError) as lacking:
        select(parse_path(path), value)
    assert words in str(lacking.value)


def _request(content_type: str = "text/csv", **processing) -> dict:
    return {"TransformInput": {"ContentType": content_type}, "TransformOutput": {}, "DataProcessing": processing}


@pytest.mark.parametrize("processing, member", [
    ({"InputFilter": "$[1:"}, "InputFilter"), ({"OutputFilter": "$..x"}, "OutputFilter"),
    ({"InputFilter": "$.features"}, "InputFilter"),  # a CSV record has no keys
    ({"JoinSource": "Input", "OutputFilter": "$['id','SageMakerOutput']"}, "OutputFilter"),
])
def test_create_refuses_a_filter_naming_the_member_and_the_path(processing, member):
    with pytest.raises(ServiceError) as refused:
        _processing(_request(**processing))
    assert refused.value.code == "ValidationException" and refused.value.status == 400
    assert f"DataProcessing.{member} {processing[member]!r}" in refused.value.message


def test_defaults_leave_the_records_as_they_are():
    assert _processing({"TransformInput": {}, "TransformOutput": {}}) is None
    assert _processing(_request(InputFilter="$", JoinSource="None", OutputFilter="")) is None
    assert _processing(_request("application/jsonlines", InputFilter="$.features")) is not None
    assert _processing(_request(JoinSource="Input")).join


def test_batches_number_the_records_by_line_and_skip_blank_ones():
    lines = [b"1,2\n", b"\n", b"3,4\n", b"5,6"]
    assert list(_batches(enumerate(lines, 1), limit=8, single=False)) == [
        [(1, b"1,2\n"), (3, b"3,4\n")], [(4, b"5,6\n")]]
    assert len(list(_batches(enumerate(lines, 1), limit=1000, single=True))) == 3


class _Counting:
    """A stand-in model answering each row with how many values it got, in the accepted type."""

    def __init__(self):
        self.payloads = []

    def invoke(self, body: bytes, content_type: str, accept: str | None) -> tuple[bytes, str]:
        self.payloads.append((body, content_type))
        if content_type == "text/csv":
            widths = [len(row) for row in csv.reader(io.StringIO(body.decode())) if row]
        else:
            widths = [len(instance) for instance in json.loads(body)["instances"]]
        if accept == "application/jsonlines":
            return "".join(json.dumps({"width": w}) + "\n" for w in widths).encode(), accept
        if accept == "application/json":
            return json.dumps({"predictions": [{"width": w} for w in widths]}).encode(), accept
        return "".join(f"{w}\n" for w in widths).encode(), "text/csv"


def test_csv_records_are_filtered_joined_and_filtered_again():
    model = _Counting()
    processing = _processing(_request(InputFilter="$[1:]", JoinSource="Input", OutputFilter="$[0,-1]"))
    out = processing.apply(model, [(1, b'k1,"x, y",2,3\n'), (2, b"k2,4,5,6\n")], "text/csv", None, "s3://b/in.csv")
    assert model.payloads == [(b'"x, y",2,3\n4,5,6\n', "text/csv")]  # the id left out, the quoting kept
    assert out == b"k1,3\nk2,3\n"
    whole = _processing(_request(JoinSource="Input")).apply(model, [(1, b"k1,2\n")], "text/csv", None, "s3://b/x")
    assert whole == b"k1,2,2\n"
    as_json = _processing(_request(JoinSource="Input")).apply(model, [(1, b"k1,2\n")], "text/csv",
                                                               "application/json", "s3://b/x")
    assert as_json == b'k1,2,"{""width"": 2}"\n'  # a JSON answer is one more field


def test_json_records_take_the_output_under_sagemaker_output():
    model = _Counting()
    lines = [(1, b'{"id": "a", "features": [1, 2]}\n'), (2, b'[5, 6, 7]\n')]
    joined = _processing(_request("application/jsonlines", JoinSource="Input")).apply(
        model, lines, "application/jsonlines", "application/jsonlines", "s3://b/in.jsonl")
    assert [json.loads(line) for line in joined.splitlines()] == [
        {"id": "a", "features": [1, 2], "SageMakerOutput": {"width": 2}},
        {"SageMakerInput": [5, 6, 7], "SageMakerOutput": {"width": 3}}]
    kept = _processing(_request("application/jsonlines", InputFilter="$.features", JoinSource="Input",
                                OutputFilter="$['id','SageMakerOutput']")).apply(
        model, lines[:1], "application/jsonlines", "application/json", "s3://b/in.jsonl")
    assert model.payloads[-1][0] == b'{"instances": [[1, 2]]}'
    assert json.loads(kept) == {"id": "a", "SageMakerOutput": {"width": 2}}
    unjoined = _processing(_request("application/jsonlines", OutputFilter="$.width")).apply(
        model, lines, "application/jsonlines", "application/jsonlines", "s3://b/in.jsonl")
    assert unjoined == b"2\n3\n"


def test_a_record_a_filter_cannot_take_names_the_object_and_the_record():
    processing = _processing(_request(InputFilter="$[1:3]"))
    with pytest.raises(RecordError) as short:
        processing.apply(_Counting(), [(1, b"k,1,2\n"), (4, b"k,1\n")], "text/csv", None, "s3://b/in.csv")
    assert short.value.message == ("s3://b/in.csv, record 4: DataProcessing.InputFilter '$[1:3]' cannot be "
                                   "applied: it has 2 columns; [1:3] is out of range")
    with pytest.raises(RecordError, match=r"s3://b/in.jsonl, record 2: cannot be read as JSON"):
        _processing(_request("application/jsonlines", InputFilter="$.x")).apply(
            _Counting(), [(1, b'{"x": [1]}\n'), (2, b"{oops\n")], "application/jsonlines", None, "s3://b/in.jsonl")


# --- a real server ----------------------------------------------------------------------------------------------


@pytest.fixture
def aws(fake_aws):
    pytest.importorskip("boto3")
    pytest.importorskip("moto")


def _transform(sagemaker, name: str, uri: str, content_type: str, accept: str | None = None, **processing) -> dict:
    from test_service import _until

    output = {"S3OutputPath": f"s3://data/{name}", "AssembleWith": "Line"} | ({"Accept": accept} if accept else {})
    sagemaker.create_transform_job(
        TransformJobName=name, ModelName="filtered-model", MaxPayloadInMB=1, BatchStrategy="MultiRecord",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}},
                        "ContentType": content_type, "SplitType": "Line"},
        TransformOutput=output, TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
        DataProcessing=processing)
    return _until(lambda: (lambda d: d if d["TransformJobStatus"] != "InProgress" else None)(
        sagemaker.describe_transform_job(TransformJobName=name)))


def test_a_transform_keeps_each_id_beside_the_models_prediction(aws, tmp_path, monkeypatch):
    import botocore
    from test_service import ROLE, Server, _ended, _request, _upload

    from autopilot_local.files import load_model
    from autopilot_local.serve import ModelEndpoint
    from autopilot_local.service.endpoints import model_file

    server = Server(tmp_path / "home")
    try:
        sagemaker, s3 = server.client("sagemaker"), server.client("s3")
        _upload(server, tmp_path)
        sagemaker.create_auto_ml_job_v2(**_request("filtered"))
        best = _ended(sagemaker, "filtered")["BestCandidate"]
        sagemaker.create_model(ModelName="filtered-model", Containers=best["InferenceContainers"],
                               ExecutionRoleArn=ROLE)
        rows = regression_frame(n=600, seed=2).drop(columns=["price"]).head(300)
        ids = [f"id-{i}" for i in range(len(rows))]
        features = rows.to_csv(header=False, index=False)  # money strings and text with commas: quoted fields
        keyed = rows.copy()
        keyed.insert(0, "key", ids)
        s3.put_object(Bucket="data", Key="keyed/rows.csv", Body=keyed.to_csv(header=False, index=False))

        monkeypatch.setenv("AUTOPILOT_LOCAL_HOME", str(tmp_path / "home"))  # the server's jobs, read directly
        path, keys = model_file(best["InferenceContainers"])
        direct = ModelEndpoint(load_model(path), keys)
        expected = [float(line) for line in direct.invoke(features.encode(), "text/csv", None)[0].decode().split()]

        done = _transform(sagemaker, "kept", "s3://data/keyed/", "text/csv",
                          InputFilter="$[1:]", JoinSource="Input", OutputFilter="$[0,-1]")
        assert done["TransformJobStatus"] == "Completed", done.get("FailureReason")
        assert done["DataProcessing"] == {"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"}
        out = list(csv.reader(io.StringIO(s3.get_object(Bucket="data", Key="kept/rows.csv.out")["Body"].read()
                                          .decode())))
        assert len(out) == len(rows)
        for number, (line, key, prediction) in enumerate(zip(out, ids, expected), 1):
            assert len(line) == 2 and line[0] == key, (number, line)
            assert float(line[1]) == pytest.approx(prediction, rel=1e-6), number

        whole = _transform(sagemaker, "joined", "s3://data/keyed/", "text/csv", InputFilter="$[1:]",
                           JoinSource="Input")
        assert whole["TransformJobStatus"] == "Completed", whole.get("FailureReason")
        joined = list(csv.reader(io.StringIO(s3.get_object(Bucket="data", Key="joined/rows.csv.out")["Body"]
                                             .read().decode())))
        inputs = list(csv.reader(io.StringIO(keyed.to_csv(header=False, index=False))))
        assert [line[:-1] for line in joined] == inputs  # every input field, as it came, then the prediction
        assert [float(line[-1]) for line in joined] == pytest.approx(expected, rel=1e-6)

        # JSON rows carry the model's feature columns only (serve.ModelEndpoint), as the CSV's own cells so that
        # both parse alike
        cells = csv.reader(io.StringIO(rows[direct.columns].to_csv(header=False, index=False)))
        records = [{"id": key, "features": values} for key, values in zip(ids, cells)]
        s3.put_object(Bucket="data", Key="lines/rows.jsonl", Body="".join(json.dumps(r) + "\n" for r in records))
        as_json = _transform(sagemaker, "lines", "s3://data/lines/", "application/jsonlines",
                             "application/jsonlines", InputFilter="$.features", JoinSource="Input",
                             OutputFilter="$['id','SageMakerOutput']")
        assert as_json["TransformJobStatus"] == "Completed", as_json.get("FailureReason")
        answered = [json.loads(line) for line in
                    s3.get_object(Bucket="data", Key="lines/rows.jsonl.out")["Body"].read().decode().splitlines()]
        assert [record["id"] for record in answered] == ids
        assert [record["SageMakerOutput"]["score"] for record in answered] == pytest.approx(expected, rel=1e-6)

        short = keyed.head(3).to_csv(header=False, index=False).splitlines()
        short[2] = short[2].split(",", 1)[1]  # the third record lacks its key: one field fewer
        s3.put_object(Bucket="data", Key="short/rows.csv", Body="\n".join(short) + "\n")
        failed = _transform(sagemaker, "short", "s3://data/short/", "text/csv",
                            InputFilter=f"$[1:{len(keyed.columns)}]", JoinSource="Input")
        assert failed["TransformJobStatus"] == "Failed"
        assert failed["FailureReason"].startswith("s3://data/short/rows.csv, record 3: DataProcessing.InputFilter")

        for member, path in (("InputFilter", "$[1:"), ("OutputFilter", "$..x"), ("InputFilter", "$.features")):
            with pytest.raises(botocore.exceptions.ClientError) as refused:
                _transform(sagemaker, "refused", "s3://data/keyed/", "text/csv", **{member: path})
            error = refused.value.response["Error"]
            assert error["Code"] == "ValidationException" and f"DataProcessing.{member} {path!r}" in error["Message"]
        assert not [j for j in sagemaker.list_transform_jobs()["TransformJobSummaries"]
                    if j["TransformJobName"] == "refused"]
    finally:
        server.stop()
