"""Parity mode against real Autopilot jobs: the corpus's jobs with data (../shared/autopilot-jobs), from a folder and
from "AWS" (botocore's Stubber for SageMaker's read calls, validated against its service model; S3 on a moto
server), and every error path a user meets."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED

from autopilot_local.cli import main
from autopilot_local.errors import InputError
from bench.parity_corpus import CORPUS, JOBS, write_job_dir

pytestmark = [pytest.mark.skipif(not (SHARED / "autopilot-jobs").exists(), reason="../shared/autopilot-jobs is absent"),
              pytest.mark.usefixtures("fake_aws")]
BANK = next(job for job in JOBS if job.folder == "C24IO__Integrations")


def _report(output) -> dict:
    return json.loads(next(output.glob("*/parity/parity-report.json")).read_text())


@pytest.mark.parametrize("job", JOBS, ids=[job.folder.split("__")[0] for job in JOBS])
def test_every_corpus_job_with_data_gets_a_report(tmp_path, job, capsys):
    folder = write_job_dir(job, tmp_path / "cloud")
    code = main(["parity", "--from-dir", str(folder), "--output", str(tmp_path / "jobs"), "--max-candidates", "3",
                 "--max-job-runtime", "60", "--quiet"])
    assert code == 0, capsys.readouterr().err
    report = _report(tmp_path / "jobs")
    facts = json.loads((CORPUS / job.folder / "job.json").read_text())
    rows = {row["item"]: row for row in report["rows"]}
    assert rows["problem type"]["verdict"] == "agree"
    assert rows["objective"]["verdict"] == "agree"
    best = next(row for item, row in rows.items() if item.startswith("best "))
    assert best["cloud"] == facts["reported"]["value"] and best["local"] is not None
    assert best["ratio"] == pytest.approx(best["local"] / best["cloud"], rel=1e-3)
    assert best["verdict"] in ("agree", "better", "worse")
    markdown = next((tmp_path / "jobs").glob("*/parity/parity-report.md")).read_text()
    assert f"{facts['reported']['value']:.6g}" in markdown


def test_a_ten_pipeline_2020_job_lists_every_cloud_candidate_beside_the_local_ones(tmp_path):
    folder = write_job_dir(BANK, tmp_path / "cloud")
    assert main(["parity", "--from-dir", str(folder), "--output", str(tmp_path / "jobs"), "--max-candidates", "2",
                 "--max-job-runtime", "60", "--quiet"]) == 0
    pipelines = _report(tmp_path / "jobs")["pipelines"]
    cloud = [row for row in pipelines if row["cloud"] is not None]
    assert [row["dpp"] for row in cloud] == [f"dpp{i}" for i in range(10)]
    assert {row["cloud"]["algorithm"] for row in cloud} == {"xgboost", "linear-learner"}
    assert all(row["local"] is not None for row in cloud)  # ours beside each of theirs
    assert all(row["verdict"] in ("agree", "differ") for row in cloud)


def _recorded_job_in_aws(tmp_path, endpoint):
    """The bank job as AWS would hold it: artifacts and data in S3, Describe and ListCandidates stubbed."""
    import boto3
    from botocore.stub import Stubber

    folder = write_job_dir(BANK, tmp_path / "recorded")
    described = json.loads((folder / "describe.json").read_text())
    s3 = boto3.client("s3", endpoint_url=endpoint)
    s3.create_bucket(Bucket="corpus")
    notebook = described["AutoMLJobArtifacts"]["CandidateDefinitionNotebookLocation"]
    prefix = notebook[len("s3://corpus/"):].rsplit("/notebooks/", 1)[0]
    for path in (folder / "artifacts").rglob("*"):
        if path.name.endswith(".ipynb"):
            s3.upload_file(str(path), "corpus", f"{prefix}/notebooks/{path.name.split('/')[-1]}")
        elif path.name == "dpp_modules.facts.json":
            s3.upload_file(str(path), "corpus", f"{prefix}/generated_module/candidate_data_processors/{path.name}")
    s3.upload_file(str(folder / "train.csv"), "corpus", described["AutoMLJobInputDataConfig"][0]["DataSource"]
                   ["S3DataSource"]["S3Uri"][len("s3://corpus/"):])
    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    stubber = Stubber(sagemaker)  # every stubbed response is checked against the service model
    stubber.add_response("describe_auto_ml_job_v2", described, {"AutoMLJobName": described["AutoMLJobName"]})
    candidates = {"Candidates": [described["BestCandidate"]]}
    (folder / "candidates.json").write_text(json.dumps(candidates))  # the folder road has what AWS answers
    stubber.add_response("list_candidates_for_auto_ml_job", candidates, {"AutoMLJobName": described["AutoMLJobName"]})
    stubber.activate()
    return folder, described, sagemaker, s3


def test_the_job_name_road_gives_the_report_of_the_folder_road(tmp_path, moto_server):
    from autopilot_local.parity import report, sources

    folder, described, sagemaker, s3 = _recorded_job_in_aws(tmp_path, moto_server)
    fetched = sources.fetch(described["AutoMLJobName"], tmp_path / "fetched", sagemaker=sagemaker, s3=s3)
    documents = [report.compare(sources.from_dir(source), tmp_path / road, max_candidates=2, max_job_runtime=60)
                 for road, source in (("aws", fetched), ("dir", folder))]
    assert _comparable(documents[0]) == _comparable(documents[1])


def _comparable(document: dict) -> tuple:
    """A report's rows and pipelines, less what differs between two runs by nature (the local wall time)."""
    rows = [row for row in document["rows"] if row["item"] != "runtime (s)"]
    return rows, document["pipelines"]


@pytest.mark.parametrize("status, words", [("InProgress", "still InProgress"), ("Failed", "failed in the cloud")])
def test_a_job_that_has_not_completed_is_refused(tmp_path, status, words, capsys):
    folder = write_job_dir(BANK, tmp_path / "cloud")
    described = json.loads((folder / "describe.json").read_text())
    described |= {"AutoMLJobStatus": status, "FailureReason": "ClientError: no data"}
    (folder / "describe.json").write_text(json.dumps(described))
    assert main(["parity", "--from-dir", str(folder), "--output", str(tmp_path / "jobs")]) == 2
    error = capsys.readouterr().err
    assert words in error and len(error.strip().splitlines()) == 1
    assert not (tmp_path / "jobs").exists()


def test_missing_artifacts_and_data_are_named(tmp_path, capsys):
    assert main(["parity", "--from-dir", str(tmp_path), "--output", str(tmp_path / "jobs")]) == 2
    assert "describe.json" in capsys.readouterr().err
    folder = write_job_dir(BANK, tmp_path / "cloud")
    (folder / "train.csv").unlink()
    assert main(["parity", "--from-dir", str(folder), "--output", str(tmp_path / "jobs")]) == 2
    assert "--data" in capsys.readouterr().err


def test_aws_errors_are_clear(tmp_path, monkeypatch):
    import boto3
    from botocore.stub import Stubber

    from autopilot_local.parity import sources

    sagemaker = boto3.client("sagemaker", region_name="us-east-1")
    with Stubber(sagemaker) as stubber:
        stubber.add_client_error("describe_auto_ml_job_v2", "ResourceNotFound", "AutoML job nope not found")
        with pytest.raises(InputError, match="no AutoML job named 'nope'"):
            sources.fetch("nope", tmp_path, sagemaker=sagemaker, s3=boto3.client("s3"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(InputError, match="no AWS credentials"):
        sources.fetch("any", tmp_path / "x")
