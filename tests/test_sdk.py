"""Code written for the SageMaker Python SDK runs here with only its import changed: v2's AutoML and AutoMLV2,
v3's AutoMLJob resources, and s3:// paths against a real S3 endpoint (a moto server on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import AIRBNB, regression_frame

from autopilot_local import load_best_model, registry

WEEKDAYS = AIRBNB / "paris_gyodi_nawaro_weekdays.csv"
pytestmark = pytest.mark.usefixtures("fake_aws")

# A notebook cell as SageMaker's Autopilot examples write it; the test changes its first line only.
NOTEBOOK = '''
from sagemaker.automl.automl import AutoML

automl = AutoML(
    role=role,
    target_attribute_name="realSum",
    base_job_name="airbnb-paris",
    output_path=output_path,
    problem_type="Regression",
    job_objective={"MetricName": "MSE"},
    max_candidates=6,
)
automl.fit(inputs=input_data, job_name=job_name, wait=True, logs=False)

best_candidate = automl.best_candidate()
print("best:", best_candidate["CandidateName"], best_candidate["FinalAutoMLJobObjectiveMetric"]["Value"])
candidates = automl.list_candidates(sort_by="FinalObjectiveMetricValue", sort_order="Ascending", max_results=10)
for candidate in candidates:
    print(candidate["CandidateName"], candidate["FinalAutoMLJobObjectiveMetric"]["Value"])

predictor = automl.deploy(
    initial_instance_count=1,
    instance_type="ml.m5.xlarge",
    candidate=best_candidate,
    inference_response_keys=["predicted_label"],
)
prediction = predictor.predict(test_rows)
predictor.delete_endpoint()
'''


def test_a_notebook_written_for_the_sdk_runs_with_only_its_import_changed(tmp_path, airbnb):
    source = NOTEBOOK.replace("from sagemaker.automl.automl import AutoML", "from autopilot_local import AutoML")
    rows = pd.read_csv(WEEKDAYS)
    features = rows.drop(columns=["realSum"]).head(20)
    namespace = {"role": "arn:aws:iam::111122223333:role/service-role/AmazonSageMaker-ExecutionRole",
                 "output_path": str(tmp_path / "out"), "input_data": str(WEEKDAYS), "job_name": "paris-sdk",
                 "test_rows": features.to_csv(index=False, header=False)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the role and instance type say they have no local effect
        exec(compile(source, "notebook", "exec"), namespace)

    best, candidates = namespace["best_candidate"], namespace["candidates"]
    assert len(candidates) == 6
    values = [c["FinalAutoMLJobObjectiveMetric"]["Value"] for c in candidates]
    assert values == sorted(values) and values[0] == best["FinalAutoMLJobObjectiveMetric"]["Value"]
    job_dir = tmp_path / "out" / "paris-sdk"
    expected = load_best_model(job_dir).predict(features)
    np.testing.assert_allclose(np.ravel(np.asarray(namespace["prediction"], dtype=float)), expected, rtol=1e-6)
    assert registry.job_dir("paris-sdk") == job_dir.resolve()


def test_autoMLV2_and_attach_describe_the_same_job(tmp_path):
    from autopilot_local import AutoML, AutoMLTabularConfig, AutoMLV2, LocalAutoMLDataChannel

    data = tmp_path / "homes.csv"
    regression_frame(n=600).to_csv(data, index=False)
    automl = AutoMLV2(AutoMLTabularConfig(target_attribute_name="price", max_candidates=3,
                                          algorithms_config=["xgboost"]), output_path=str(tmp_path / "out"))
    automl.fit(LocalAutoMLDataChannel("S3Prefix", str(data)), job_name="homes-v2", logs=False)
    described = automl.describe_auto_ml_job()
    assert described["AutoMLJobStatus"] == "Completed" and described["AutoMLProblemTypeConfigName"] == "Tabular"
    attached = AutoML.attach("homes-v2")
    assert attached.describe_auto_ml_job()["BestCandidate"] == described["BestCandidate"]
    assert attached.target_attribute_name == "price" and attached.max_candidates == 3


def test_a_bad_request_fails_at_fit_with_the_reason(tmp_path):
    from autopilot_local import AutoML, InputError

    data = tmp_path / "homes.csv"
    regression_frame(n=600).to_csv(data, index=False)
    automl = AutoML(target_attribute_name="no_such_column", output_path=str(tmp_path / "out"))
    with pytest.raises(InputError, match="no_such_column"):
        automl.fit(str(data), job_name="refused", logs=False)
    assert not (tmp_path / "out" / "refused").exists()


def test_cloud_only_arguments_are_kept_and_said_once(tmp_path):
    from autopilot_local.sdk import automl as sdk

    sdk._SAID.clear()
    vpc = {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    with pytest.warns(UserWarning, match="vpc_config has no effect"):
        automl = sdk.AutoML(target_attribute_name="price", vpc_config=vpc, output_kms_key="alias/out",
                            tags=[{"Key": "team", "Value": "pricing"}], max_candidates=1,
                            output_path=str(tmp_path / "out"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second time it is silent
        sdk.AutoML(target_attribute_name="y", vpc_config=vpc)
    data = tmp_path / "homes.csv"
    regression_frame(n=600).to_csv(data, index=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        automl.fit(str(data), job_name="kept", logs=False)
    request = json.loads((tmp_path / "out" / "kept" / "request.json").read_text())
    assert request["SecurityConfig"]["VpcConfig"] == vpc  # recorded as a V2 request holds it
    assert request["OutputDataConfig"]["KmsKeyId"] == "alias/out"
    assert request["Tags"] == [{"Key": "team", "Value": "pricing"}]


def test_sdk_v3_resources_create_wait_and_list_candidates(tmp_path):
    from autopilot_local.sdk import resources, shapes

    data = tmp_path / "homes.csv"
    regression_frame(n=600).to_csv(data, index=False)
    job = resources.AutoMLJobV2.create(
        auto_ml_job_name="homes-v3",
        auto_ml_job_input_data_config=[shapes.AutoMLJobChannel(
            channel_type="training", content_type="text/csv;header=present",
            data_source=shapes.AutoMLDataSource(s3_data_source=shapes.AutoMLS3DataSource(
                s3_data_type="S3Prefix", s3_uri=str(data))))],
        output_data_config=shapes.AutoMLOutputDataConfig(s3_output_path=str(tmp_path / "out")),
        auto_ml_problem_type_config=shapes.AutoMLProblemTypeConfig(tabular_job_config=shapes.TabularJobConfig(
            target_attribute_name="price", completion_criteria=shapes.AutoMLJobCompletionCriteria(max_candidates=4))),
        role_arn="arn:aws:iam::111122223333:role/x",
    )
    job.wait(poll=1, timeout=300)
    assert job.auto_ml_job_status == "Completed"
    assert job.resolved_attributes.auto_ml_problem_type_resolved_attributes.tabular_resolved_attributes \
        .problem_type == "Regression"
    v1 = resources.AutoMLJob.get("homes-v3")
    candidates = list(v1.get_all_candidates(sort_by="FinalObjectiveMetricValue", sort_order="Ascending"))
    assert len(candidates) == 4
    assert candidates[0].candidate_name == job.best_candidate.candidate_name
    assert [j.auto_ml_job_name for j in resources.AutoMLJobV2.get_all(name_contains="homes-v3")] == ["homes-v3"]


# --- S3, through a real endpoint -------------------------------------------------------------------------------

def test_fit_reads_from_s3_and_leaves_the_job_folder_in_the_bucket(tmp_path, monkeypatch, moto_server, airbnb):
    import boto3

    from autopilot_local import AutoML

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    client = boto3.client("s3")
    client.create_bucket(Bucket="bucket")
    client.upload_file(str(WEEKDAYS), "bucket", "weekdays.csv")
    automl = AutoML(target_attribute_name="realSum", output_path="s3://bucket/out", max_candidates=2)
    automl.fit("s3://bucket/weekdays.csv", job_name="paris-s3", logs=False)
    keys = {item["Key"] for item in client.list_objects_v2(Bucket="bucket", Prefix="out/")["Contents"]}
    assert {"out/paris-s3/job.json", "out/paris-s3/candidates.json", "out/paris-s3/leaderboard.csv"} <= keys
    for notebook in ("SageMakerAutopilotDataExplorationNotebook", "SageMakerAutopilotCandidateDefinitionNotebook"):
        assert any(k.startswith("out/paris-s3/sagemaker-automl-candidates/") and
                   k.endswith(f"/notebooks/{notebook}.ipynb") for k in keys), notebook
    described = automl.describe_auto_ml_job()
    assert described["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == "s3://bucket/weekdays.csv"
    assert described["OutputDataConfig"]["S3OutputPath"] == "s3://bucket/out"


def test_a_missing_s3_object_is_a_clear_error(tmp_path, monkeypatch, moto_server, capsys):
    from autopilot_local.cli import main

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    code = main(["run", "s3://bucket/nothing-here.csv", "--target", "y", "--output", str(tmp_path), "--quiet"])
    assert code == 2 and "s3://bucket/nothing-here.csv" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []
