"""Batch transform as SageMaker runs it: every object under the input's S3 prefix (or listed by its manifest) split
into records, sent to the model in batches, and written back as ``<object>.out`` under the output path.

A job streams: each object is read line by line and each batch of at most MaxPayloadInMB is answered and written to
a file before the next is read, so memory stays flat however large the input. The records go through the same
`serve.ModelEndpoint` as an endpoint's invocations: what a transform answers is what an endpoint would.
"""

from __future__ import annotations

import json
import sys
import tempfile
import threading
import time
import traceback

import boto3

from .. import s3
from ..artifacts import iso_time
from ..files import load_model
from ..serve import JSON, JSONLINES, ModelEndpoint, RequestError
from ..vocabulary import COMPLETED, FAILED, IN_PROGRESS, MAX_MESSAGE, STOPPED, STOPPING
from .endpoints import Endpoints, containers_of, model_file
from .protocol import validation
from .records import Records, page

DEFAULT_PAYLOAD_MB = 6


class TransformJobs:
    """CreateTransformJob and the calls that follow it.

    Parameters
    ----------
    endpoints : Endpoints
        The service's models.
    endpoint_url : str
        The server's own URL, through which the jobs read and write S3.
    """

    def __init__(self, endpoints: Endpoints, endpoint_url: str):
        self.endpoints, self.endpoint_url = endpoints, endpoint_url
        self.records = Records("transform-job", "Transform job")
        self.operations = {"CreateTransformJob": self.create, "DescribeTransformJob": self.describe,
                           "ListTransformJobs": self.list, "StopTransformJob": self.stop}

    def start(self) -> None:
        """Run again, from the start, the transforms a stopped server left InProgress."""
        for name in self.records.names():
            if self.records.get(name)["TransformJobStatus"] in (IN_PROGRESS, STOPPING):
                self._run_in_background(name)

    def create(self, request: dict) -> dict:
        """CreateTransformJob: answered at once; the job runs in the background."""
        self.endpoints.models.get(request["ModelName"])
        if request["TransformInput"].get("DataSource", {}).get("S3DataSource") is None:
            raise validation("TransformInput.DataSource must give an S3DataSource")
        record = self.records.create(request["TransformJobName"], request | {"TransformJobStatus": IN_PROGRESS})
        self._run_in_background(record["TransformJobName"])
        return {"TransformJobArn": record["Arn"]}

    def describe(self, request: dict) -> dict:
        """DescribeTransformJob."""
        record = self.records.get(request["TransformJobName"])
        return {key: value for key, value in record.items() if key not in ("Arn", "Tags", "ExperimentConfig")} | {
            "TransformJobArn": record["Arn"]}

    def list(self, request: dict) -> dict:
        """ListTransformJobs."""
        keys = ("TransformJobName", "CreationTime", "TransformEndTime", "LastModifiedTime", "TransformJobStatus",
                "FailureReason")
        items = [{key: r[key] for key in keys if key in r} | {"TransformJobArn": r["Arn"]}
                 for r in map(self.records.get, self.records.names())]
        found = page(items, request, "TransformJobName", {"Name": "TransformJobName", "CreationTime": "CreationTime",
                                                          "Status": "TransformJobStatus"})
        return {"TransformJobSummaries": found.pop("items")} | found

    def stop(self, request: dict) -> dict:
        """StopTransformJob: the job stops before its next batch."""
        name = request["TransformJobName"]
        if self.records.get(name)["TransformJobStatus"] == IN_PROGRESS:
            self.records.update(name, TransformJobStatus=STOPPING)
        return {}

    # --- running ----------------------------------------------------------------------------------------------

    def _run_in_background(self, name: str) -> None:
        threading.Thread(target=self._run, args=(name,), name=f"transform-{name}", daemon=True).start()

    def _run(self, name: str) -> None:
        record = self.records.update(name, TransformStartTime=iso_time(time.time()))
        try:
            model = self.endpoints.models.get(record["ModelName"])
            path, keys = model_file(containers_of(model))
            endpoint = ModelEndpoint(load_model(path), keys)
            client = boto3.client("s3", endpoint_url=self.endpoint_url)
            for source, target in _objects(client, record):
                if not self._transform_object(client, endpoint, record, source, target):
                    self.records.update(name, TransformJobStatus=STOPPED, TransformEndTime=iso_time(time.time()))
                    return
            self.records.update(name, TransformJobStatus=COMPLETED, TransformEndTime=iso_time(time.time()))
        except Exception as error:
            if not isinstance(error, RequestError):
                traceback.print_exc(file=sys.stderr)
            reason = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
            self.records.update(name, TransformJobStatus=FAILED, FailureReason=reason[:MAX_MESSAGE],
                                TransformEndTime=iso_time(time.time()))

    def _transform_object(self, client, endpoint: ModelEndpoint, record: dict, source: tuple, target: tuple) -> bool:
        """Transform one object; False if the job was stopped meanwhile."""
        content_type = record["TransformInput"].get("ContentType")
        accept = record["TransformOutput"].get("Accept")
        split = record["TransformInput"].get("SplitType", "None")
        limit = record.get("MaxPayloadInMB", DEFAULT_PAYLOAD_MB) * 2**20
        single = record.get("BatchStrategy") == "SingleRecord"
        ending = b"\n" if record["TransformOutput"].get("AssembleWith") == "Line" else b""
        body = client.get_object(Bucket=source[0], Key=source[1])["Body"]
        with tempfile.NamedTemporaryFile() as out:
            batches = [body.read()] if split == "None" else _batches(body.iter_lines(keepends=True), limit, single)
            for batch in batches:
                if self.records.get(record["TransformJobName"])["TransformJobStatus"] == STOPPING:
                    return False
                answer, _ = endpoint.invoke(_payload(batch, content_type), _request_type(content_type), accept)
                out.write(answer if not ending or answer.endswith(ending) else answer + ending)
            out.flush()
            client.upload_file(out.name, target[0], target[1])
        return True


def _objects(client, record: dict):
    """(bucket, key) of each input object and of its output, ``<key relative to the prefix>.out``."""
    source = record["TransformInput"]["DataSource"]["S3DataSource"]
    bucket, prefix = s3.split(source["S3Uri"])
    out_bucket, out_prefix = s3.split(record["TransformOutput"]["S3OutputPath"])
    if source.get("S3DataType", "S3Prefix") == "ManifestFile":
        manifest = json.loads(client.get_object(Bucket=bucket, Key=prefix)["Body"].read())
        bucket, base = s3.split(manifest[0]["prefix"])
        keys = [base + relative for relative in manifest[1:]]
        base_dir = base
    else:
        keys = [item["Key"] for listing in client.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                                           Prefix=prefix)
                for item in listing.get("Contents", []) if not item["Key"].endswith("/")]
        base_dir = prefix if prefix.endswith("/") or prefix not in keys else prefix.rpartition("/")[0] + "/"
    if not keys:
        raise validation(f"no object under {source['S3Uri']}")
    for key in keys:
        relative = key[len(base_dir):] if key.startswith(base_dir) else key.rpartition("/")[2]
        yield (bucket, key), (out_bucket, "/".join(filter(None, (out_prefix.strip("/"), relative))) + ".out")


def _batches(lines, limit: int, single: bool):
    """Records joined into payloads of at most ``limit`` bytes (one record each with ``single``)."""
    batch, size = [], 0
    for line in lines:
        if not line.strip():
            continue
        if batch and (single or size + len(line) > limit):
            yield b"".join(batch)
            batch, size = [], 0
        batch.append(line if line.endswith(b"\n") else line + b"\n")
        size += len(line)
    if batch:
        yield b"".join(batch)


def _request_type(content_type: str | None) -> str | None:
    """JSON lines records go to the model as one JSON document of instances."""
    return JSON if (content_type or "").startswith(JSONLINES) else content_type


def _payload(batch: bytes, content_type: str | None) -> bytes:
    if not (content_type or "").startswith(JSONLINES):
        return batch
    return json.dumps({"instances": [json.loads(line) for line in batch.splitlines() if line.strip()]}).encode()
