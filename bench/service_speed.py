"""What a user of `autopilot-local server` meets, end to end on this machine, beside `autopilot-local serve`:

    python -m bench.service_speed [--data FILE] [--target COL] [--seconds 10] [--clients 2] [--transform-rows N]

Starts a server in its own process (a home of its own in a temporary folder), uploads the data through its S3,
and measures: how long CreateAutoMLJobV2 takes to answer; the job's wall time; single-row CSV InvokeEndpoint on the
job's best candidate from ``--clients`` processes over keep-alive connections (requests per second, p50 and p99),
and the same load on `autopilot-local serve` of the same job, as a ratio; then a batch transform of
``--transform-rows`` rows (the data's rows repeated), its seconds and the server's peak resident memory.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import signal
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from autopilot_local import LocalService
from bench.serve_load import _client, _report, _start_server

DEFAULT_DATA = "../shared/data/airbnb/paris_gyodi_nawaro_weekdays.csv"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.service_speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--target", default="realSum")
    parser.add_argument("--seconds", type=float, default=10, help="measured seconds per client (default 10)")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--transform-rows", type=int, default=200_000)
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="service-speed-"))
    with LocalService(home) as service:
        report: dict = {"server": service.url}
        url = service.url
        s3, sagemaker = service.client("s3"), service.client("sagemaker")
        s3.create_bucket(Bucket="bench")
        s3.upload_file(args.data, "bench", "in/train.csv")
        started = time.time()
        sagemaker.create_auto_ml_job_v2(**_job_request(args.target))
        report["create_auto_ml_job_v2_s"] = round(time.time() - started, 3)
        while (described := sagemaker.describe_auto_ml_job_v2(AutoMLJobName="bench"))["AutoMLJobStatus"] == \
                "InProgress":
            time.sleep(0.5)
        report["job_wall_s"] = round(time.time() - started, 1)
        best = described["BestCandidate"]
        sagemaker.create_model(ModelName="bench", Containers=best["InferenceContainers"],
                               ExecutionRoleArn="arn:aws:iam::000000000000:role/bench")
        sagemaker.create_endpoint_config(EndpointConfigName="bench", ProductionVariants=[{
            "VariantName": "AllTraffic", "ModelName": "bench", "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large"}])
        sagemaker.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
        while sagemaker.describe_endpoint(EndpointName="bench")["EndpointStatus"] != "InService":
            time.sleep(0.2)
        rows = pd.read_csv(args.data).drop(columns=[args.target])
        lines = [line.encode() for line in rows.head(1000).to_csv(header=False, index=False).splitlines()]
        host, port = url.removeprefix("http://").split(":")
        report["service"] = _load(host, int(port), "/endpoints/bench/invocations", lines, args)
        job_dir = Path((home / "jobs" / "bench").read_text(encoding="utf-8"))  # the registry's entry
        serve, serve_url = _start_server(job_dir)
        try:
            serve_host, serve_port = serve_url.removeprefix("http://").split(":")
            report["serve"] = _load(serve_host, int(serve_port), "/invocations", lines, args)
        finally:
            serve.send_signal(signal.SIGINT)
            serve.wait(timeout=30)
        report["requests_per_second_ratio_service_to_serve"] = round(
            report["service"]["requests_per_second"] / report["serve"]["requests_per_second"], 2)
        report["transform"] = _transform(s3, sagemaker, service.process.pid, rows, args.transform_rows)
    print(json.dumps(report, indent=2))
    return 0


def _job_request(target: str) -> dict:
    return {
        "AutoMLJobName": "bench", "RoleArn": "arn:aws:iam::000000000000:role/bench",
        "AutoMLJobInputDataConfig": [{"ChannelType": "training", "ContentType": "text/csv;header=present",
                                      "CompressionType": "None", "DataSource": {"S3DataSource": {
                                          "S3DataType": "S3Prefix", "S3Uri": "s3://bench/in/"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://bench/out"},
        "AutoMLProblemTypeConfig": {"TabularJobConfig": {"TargetAttributeName": target, "CompletionCriteria": {
            "MaxCandidates": 4}}},
    }


def _load(host: str, port: int, path: str, lines: list[bytes], args) -> dict:
    with multiprocessing.get_context("fork").Pool(args.clients) as pool:
        results = pool.starmap(_client, [(host, port, lines[i::args.clients], args.seconds, path)
                                         for i in range(args.clients)])
    measured = _report(results, argparse.Namespace(job="bench", clients=args.clients), f"http://{host}:{port}{path}")
    return {key: measured[key] for key in ("requests_per_second", "errors", "p50_ms", "p99_ms")}


def _transform(s3, sagemaker, server_pid: int, rows: pd.DataFrame, count: int) -> dict:
    import psutil

    repeated = pd.concat([rows] * (count // len(rows) + 1), ignore_index=True).head(count)
    with tempfile.NamedTemporaryFile(suffix=".csv") as file:
        repeated.to_csv(file.name, header=False, index=False)
        s3.upload_file(file.name, "bench", "batch/rows.csv")
    process, peak = psutil.Process(server_pid), 0
    started = time.time()
    sagemaker.create_transform_job(
        TransformJobName="bench", ModelName="bench",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench/batch/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": "s3://bench/scored", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    while (described := sagemaker.describe_transform_job(TransformJobName="bench"))["TransformJobStatus"] == \
            "InProgress":
        peak = max(peak, process.memory_info().rss)
        time.sleep(0.1)
    return {"rows": count, "status": described["TransformJobStatus"], "seconds": round(time.time() - started, 1),
            "server_peak_rss_mib": round(peak / 2**20)}


if __name__ == "__main__":
    sys.exit(main())
