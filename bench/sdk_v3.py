"""The SageMaker Python SDK v3's resource classes, run as an Autopilot user runs them, against `autopilot-local server`:

    <python with sagemaker>=3> -m bench.sdk_v3 [--server-python PATH] [--data CSV --target COLUMN]

A server is started with a home of its own and the SDK reaches it through ``AWS_ENDPOINT_URL`` alone. The steps:
a CSV uploaded to a bucket; ``AutoMLJobV2.create`` (3 candidates), ``get``, ``wait``, ``refresh``; the job listed
with ``AutoMLJob.get_all`` and its filters (v3 has no ``AutoMLJobV2.get_all``) and described by ``AutoMLJob.get``;
its candidates listed; the best candidate's InferenceContainers made a ``Model``, an ``EndpointConfig`` and an
``Endpoint`` that is waited for and invoked; a ``TransformJob`` of the same rows, waited for and its output read; a
second job stopped with ``AutoMLJob.stop`` while it tunes; then every resource deleted. Prints each step's outcome;
exits 1 if one failed.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import time
import traceback
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autopilot_local import LocalService

SHARED = Path(__file__).resolve().parents[2] / "shared"
SERVER_PYTHON = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python"
DATA = SHARED / "data" / "airbnb" / "paris_gyodi_nawaro_weekdays.csv"
ROLE = "arn:aws:iam::000000000000:role/service-role/AmazonSageMaker-ExecutionRole"
BUCKET = "autopilot-local-sdk-v3"
NAME = "sdk-v3-job"
STOPPED = "sdk-v3-stopped"
TUNING = 15  # seconds the second job tunes before it is stopped
ROWS = 5  # rows sent to the endpoint and to the transform


class Steps:
    """Runs each step, printing its outcome; a step whose inputs failed is skipped."""

    def __init__(self):
        self.failed: list[str] = []

    def __call__(self, name: str, action, *needs):
        if any(need is None for need in needs):
            print(f"[skip] {name}: an earlier step failed", flush=True)
            return None
        started = time.time()
        try:
            result = action()
        except Exception as error:  # the outcome is what is reported; the run goes on
            self.failed.append(name)
            print(f"[FAIL] {name} ({time.time() - started:.1f} s): {type(error).__name__}: {error}", flush=True)
            if os.environ.get("SDK_V3_TRACEBACK"):
                traceback.print_exc()
            return None
        shown = result if isinstance(result, str) else ""
        print(f"[ ok ] {name} ({time.time() - started:.1f} s){': ' + shown if shown else ''}", flush=True)
        return result if result is not None else True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sdk_v3", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-python", default=str(SERVER_PYTHON),
                        help="a python with autopilot-local and its server extra (default: the project's .venv)")
    parser.add_argument("--data", default=str(DATA), help="a CSV with a header")
    parser.add_argument("--target", default="realSum", help="its target column")
    args = parser.parse_args(argv)

    home = Path(tempfile.mkdtemp(prefix="sdk-v3-"))
    with LocalService(home / "home", python=args.server_python) as service:
        failed = _run(Path(args.data), args.target)
    errors = [line for line in service.log.read_text().splitlines() if "Traceback" in line or "Error" in line]
    print(f"server log: {service.log} ({len(errors)} error lines)")
    print(f"{len(failed)} step(s) failed{': ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


def _run(data: Path, target: str) -> list[str]:
    import boto3
    from sagemaker.core import resources as r
    from sagemaker.core import shapes as s

    try:
        from importlib.metadata import version
        print(f"sagemaker {version('sagemaker')}, sagemaker-core {version('sagemaker-core')}, "
              f"boto3 {version('boto3')}")
    except Exception:  # versions are only informative
        pass
    step = Steps()
    s3 = boto3.client("s3")
    rows = _rows(data, target)

    def upload():
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(data), BUCKET, "input/train.csv")
        s3.put_object(Bucket=BUCKET, Key="transform/rows.csv", Body="".join(rows).encode())
        return f"s3://{BUCKET}/input/train.csv"

    uploaded = step("upload the CSV", upload)
    before = datetime.now(timezone.utc) - timedelta(minutes=1)

    def criteria(candidates: int) -> s.AutoMLProblemTypeConfig:
        return s.AutoMLProblemTypeConfig(tabular_job_config=s.TabularJobConfig(
            target_attribute_name=target, completion_criteria=s.AutoMLJobCompletionCriteria(max_candidates=candidates)))

    create_request = dict(
        auto_ml_job_name=NAME, role_arn=ROLE,
        auto_ml_job_input_data_config=[s.AutoMLJobChannel(
            channel_type="training", content_type="text/csv;header=present", compression_type="None",
            data_source=s.AutoMLDataSource(s3_data_source=s.AutoMLS3DataSource(
                s3_data_type="S3Prefix", s3_uri=f"s3://{BUCKET}/input/")))],
        output_data_config=s.AutoMLOutputDataConfig(s3_output_path=f"s3://{BUCKET}/output"),
        auto_ml_problem_type_config=criteria(50), tags=[s.Tag(key="project", value="sdk-v3")])

    def create():
        job = r.AutoMLJobV2.create(**(create_request | {"auto_ml_problem_type_config": criteria(3)}))
        assert job.role_arn == ROLE, job.role_arn
        return f"{job.auto_ml_job_arn} {job.auto_ml_job_status}/{job.auto_ml_job_secondary_status}"

    created = step("AutoMLJobV2.create", create, uploaded)
    job = step("AutoMLJobV2.get", lambda: r.AutoMLJobV2.get(auto_ml_job_name=NAME), created)
    created_at = job.creation_time if job else None
    step("AutoMLJobV2.wait", lambda: job.wait(poll=5, timeout=1800), job)

    def refresh():
        job.refresh()
        assert job.auto_ml_job_status == "Completed", (job.auto_ml_job_status, job.failure_reason)
        assert job.creation_time == created_at, ("CreationTime changed", created_at, job.creation_time)
        best = job.best_candidate
        return (f"{job.auto_ml_job_status}, best {best.candidate_name} "
                f"{best.final_auto_ml_job_objective_metric.metric_name}="
                f"{best.final_auto_ml_job_objective_metric.value:.4g}")

    refreshed = step("AutoMLJobV2.refresh", refresh, job)
    if hasattr(r.AutoMLJobV2, "get_all"):
        step("AutoMLJobV2.get_all", lambda: _names(r.AutoMLJobV2.get_all(name_contains="sdk-v3")), refreshed)
    else:
        print("[ n/a] AutoMLJobV2.get_all: this SDK has none (ListAutoMLJobs is AutoMLJob.get_all's)", flush=True)

    def listed():
        found = {
            "name_contains": _names(r.AutoMLJob.get_all(name_contains="sdk-v3")),
            "status_equals": _names(r.AutoMLJob.get_all(status_equals="Completed", sort_by="CreationTime",
                                                        sort_order="Ascending")),
            "creation_time_after": _names(r.AutoMLJob.get_all(creation_time_after=before)),
            "creation_time_before": _names(r.AutoMLJob.get_all(creation_time_before=before)),
            "last_modified_time_after": _names(r.AutoMLJob.get_all(last_modified_time_after=before)),
        }
        expected = {"creation_time_before": []}
        wrong = {k: v for k, v in found.items() if v != expected.get(k, [NAME])}
        assert not wrong, wrong
        return ", ".join(f"{k}={v}" for k, v in found.items())

    step("AutoMLJob.get_all with filters", listed, refreshed)
    v1 = step("AutoMLJob.get", lambda: r.AutoMLJob.get(auto_ml_job_name=NAME), refreshed)

    def candidates():
        found = list(v1.get_all_candidates(sort_by="FinalObjectiveMetricValue"))
        completed = list(v1.get_all_candidates(status_equals="Completed"))
        assert found and completed, (found, completed)
        return (f"{len(found)} candidates ({len(completed)} Completed): "
                + ", ".join(c.candidate_name for c in found))

    step("AutoMLJob.get_all_candidates", candidates, v1)

    def model():
        containers = [s.ContainerDefinition(image=c.image, model_data_url=c.model_data_url,
                                            environment=c.environment)
                      for c in job.best_candidate.inference_containers]
        made = r.Model.create(model_name="sdk-v3-model", containers=containers, execution_role_arn=ROLE)
        return made if made.model_arn else None

    made_model = step("Model.create from the best candidate's InferenceContainers", model, refreshed)
    config = step("EndpointConfig.create", lambda: r.EndpointConfig.create(
        endpoint_config_name="sdk-v3-config", production_variants=[s.ProductionVariant(
            variant_name="AllTraffic", model_name="sdk-v3-model", initial_instance_count=1,
            instance_type="ml.m5.large")]), made_model)
    endpoint = step("Endpoint.create", lambda: r.Endpoint.create(
        endpoint_name="sdk-v3-endpoint", endpoint_config_name="sdk-v3-config"), config)
    in_service = step("Endpoint.wait_for_status('InService')",
                      lambda: endpoint.wait_for_status("InService", poll=2, timeout=300), endpoint)

    def invoke():
        answer = endpoint.invoke(body="".join(rows), content_type="text/csv", accept="text/csv")
        body = answer.body.read() if hasattr(answer.body, "read") else answer.body
        text = body.decode() if isinstance(body, bytes) else str(body)
        assert len(text.strip().splitlines()) == ROWS, text
        return f"{answer.content_type} via {answer.invoked_production_variant}: {text.strip().splitlines()}"

    step("Endpoint.invoke", invoke, in_service)

    def transform():
        made = r.TransformJob.create(
            transform_job_name="sdk-v3-transform", model_name="sdk-v3-model",
            transform_input=s.TransformInput(data_source=s.TransformDataSource(s3_data_source=s.TransformS3DataSource(
                s3_data_type="S3Prefix", s3_uri=f"s3://{BUCKET}/transform/")), content_type="text/csv",
                split_type="Line"),
            transform_output=s.TransformOutput(s3_output_path=f"s3://{BUCKET}/transform-out", accept="text/csv",
                                               assemble_with="Line"),
            transform_resources=s.TransformResources(instance_type="ml.m5.large", instance_count=1))
        made.wait(poll=2, timeout=300)
        made.refresh()
        out = s3.get_object(Bucket=BUCKET, Key="transform-out/rows.csv.out")["Body"].read().decode()
        assert len(out.strip().splitlines()) == ROWS, out
        return f"{made.transform_job_status}: {out.strip().splitlines()}"

    step("TransformJob.create / wait", transform, made_model)
    step("TransformJob.get_all", lambda: _names(r.TransformJob.get_all(name_contains="sdk-v3")), made_model)

    def stop():
        stopped = r.AutoMLJobV2.create(**(create_request | {"auto_ml_job_name": STOPPED}))
        ends = time.time() + 300
        while stopped.refresh().auto_ml_job_secondary_status != "ModelTuning":
            assert time.time() < ends and stopped.auto_ml_job_status == "InProgress", stopped.failure_reason
            time.sleep(1)
        time.sleep(TUNING)  # candidates are listed only once tuning ends: some time for a few to finish
        r.AutoMLJob.get(auto_ml_job_name=STOPPED).stop()
        stopped.wait(poll=2, timeout=600)
        stopped.refresh()
        assert stopped.auto_ml_job_status == "Stopped", (stopped.auto_ml_job_status, stopped.failure_reason)
        return f"{stopped.auto_ml_job_status}, best {stopped.best_candidate.candidate_name}"

    step("AutoMLJob.stop of a second job while it tunes, AutoMLJobV2.wait", stop, refreshed)
    step("Endpoint.delete", lambda: endpoint.delete(), endpoint)
    step("EndpointConfig.delete", lambda: config.delete(), config)
    step("Model.delete", lambda: made_model.delete(), made_model)

    def gone():
        left = {"models": _names(r.Model.get_all(name_contains="sdk-v3")),
                "endpoint configs": _names(r.EndpointConfig.get_all(name_contains="sdk-v3")),
                "endpoints": _names(r.Endpoint.get_all(name_contains="sdk-v3"))}
        assert not any(left.values()), left
        return "none left"

    step("get_all after the deletes", gone, made_model)
    return step.failed


def _names(iterator) -> list[str]:
    return [item.get_name() for item in iterator]


def _rows(path: Path, target: str) -> list[str]:
    """The first rows of the CSV without their target and header: what an endpoint and a transform are sent."""
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        where = header.index(target)
        out = []
        for row, _ in zip(reader, range(ROWS)):
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow(row[:where] + row[where + 1:])
            out.append(buffer.getvalue())
    return out


if __name__ == "__main__":
    sys.exit(main())
