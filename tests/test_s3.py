"""`s3://` inputs and outputs of `autopilot-local run`, through boto3 against a moto server on 127.0.0.1."""

from __future__ import annotations

import json
import os

import pytest

from autopilot_local.cli import main

boto3 = pytest.importorskip("boto3")
pytestmark = pytest.mark.usefixtures("fake_aws")


def test_a_job_reads_from_s3_and_leaves_its_folder_in_the_bucket(tmp_path, monkeypatch, moto_server, airbnb):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    client = boto3.client("s3")
    client.create_bucket(Bucket="bucket")
    client.upload_file(str(airbnb / "paris_gyodi_nawaro_weekdays.csv"), "bucket", "weekdays.csv")
    assert main(["run", "s3://bucket/weekdays.csv", "--target", "realSum", "--output", "s3://bucket/out",
                 "--job-name", "paris-s3", "--max-candidates", "2", "--quiet"]) == 0
    keys = {item["Key"] for item in client.list_objects_v2(Bucket="bucket", Prefix="out/")["Contents"]}
    assert {"out/paris-s3/job.json", "out/paris-s3/candidates.json", "out/paris-s3/leaderboard.csv"} <= keys
    for notebook in ("SageMakerAutopilotDataExplorationNotebook", "SageMakerAutopilotCandidateDefinitionNotebook"):
        assert any(k.startswith("out/paris-s3/sagemaker-automl-candidates/") and
                   k.endswith(f"/notebooks/{notebook}.ipynb") for k in keys), notebook
    described = json.loads(client.get_object(Bucket="bucket", Key="out/paris-s3/job.json")["Body"].read())
    assert described["AutoMLJobStatus"] == "Completed"
    assert described["AutoMLJobInputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == \
        "s3://bucket/weekdays.csv"
    assert described["OutputDataConfig"]["S3OutputPath"] == "s3://bucket/out"


def test_a_missing_s3_object_is_a_clear_error(tmp_path, monkeypatch, moto_server, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    code = main(["run", "s3://bucket/nothing-here.csv", "--target", "y", "--output", str(tmp_path), "--quiet"])
    assert code == 2 and "s3://bucket/nothing-here.csv" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []
