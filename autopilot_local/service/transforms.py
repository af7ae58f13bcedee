"""Batch transform as SageMaker runs it: every object under the input's S3 prefix (or listed by its manifest) split
into records, sent to the model in batches, and written back as ``<object>.out`` under the output path.

A job streams: each object is read line by line and each batch of at most MaxPayloadInMB is answered and written to
a file before the next is read, so memory stays flat however large the input. The records go through the same
`serve.ModelEndpoint` as an endpoint's invocations: what a transform answers is what an endpoint would.

A job's ``DataProcessing`` is honoured as SageMaker documents it ("Associate Prediction Results with Input
Records"): InputFilter selects what of each record the model gets, JoinSource "Input" joins each original record
with its prediction, OutputFilter selects what of that is written. A CSV record is an array of its fields, a JSON
lines record the JSON value on its line; the filters are the JSONPath subset SageMaker supports, parsed (and
refused at CreateTransformJob) by `jsonpath`.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3

from .. import s3
from ..artifacts import iso_time
from ..files import load_model
from ..serve import CSV, JSON, JSONLINES, ModelEndpoint, RequestError
from ..vocabulary import COMPLETED, FAILED, IN_PROGRESS, MAX_MESSAGE, STOPPED, STOPPING
from .endpoints import Endpoints, containers_of, model_file
from .jsonpath import JsonPath, parse_path, select
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
        _processing(request)  # a filter the job could not apply is refused now, not when the job reads a record
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
            if not isinstance(error, (RequestError, RecordError)):
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
        processing, where = _processing(record), f"s3://{source[0]}/{source[1]}"
        body = client.get_object(Bucket=source[0], Key=source[1])["Body"]
        with tempfile.NamedTemporaryFile() as out:
            if processing is None and split == "None":
                batches = [[(1, body.read())]]  # the object is one payload, whatever it holds
            else:  # with DataProcessing the records are lines even unsplit, for the filters to apply to each
                unsplit = split == "None"
                lines = body.read().splitlines(keepends=True) if unsplit else body.iter_lines(keepends=True)
                batches = _batches(enumerate(lines, 1), float("inf") if unsplit else limit, single)
            for batch in batches:
                if self.records.get(record["TransformJobName"])["TransformJobStatus"] == STOPPING:
                    return False
                if processing is not None:
                    out.write(processing.apply(endpoint, batch, content_type, accept, where))
                    continue
                data = b"".join(line for _, line in batch)
                answer, _ = endpoint.invoke(_payload(data, content_type), _request_type(content_type), accept)
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
        # a prefix given without its slash ("s3://b/in" for "in/a.csv") leaves one: "a.csv.out", not "/a.csv.out"
        relative = (key[len(base_dir):] if key.startswith(base_dir) else key.rpartition("/")[2]).lstrip("/")
        yield (bucket, key), (out_bucket, "/".join(filter(None, (out_prefix.strip("/"), relative))) + ".out")


def _batches(lines: Iterable[tuple[int, bytes]], limit: float, single: bool) -> Iterator[list[tuple[int, bytes]]]:
    """Numbered records, blank lines left out, gathered into payloads of at most ``limit`` bytes (one record each
    with ``single``); each record ends with a newline."""
    batch, size = [], 0
    for number, line in lines:
        if not line.strip():
            continue
        if batch and (single or size + len(line) > limit):
            yield batch
            batch, size = [], 0
        batch.append((number, line if line.endswith(b"\n") else line + b"\n"))
        size += len(line)
    if batch:
        yield batch


def _request_type(content_type: str | None) -> str | None:
    """JSON lines records go to the model as one JSON document of instances."""
    return JSON if (content_type or "").startswith(JSONLINES) else content_type


def _payload(batch: bytes, content_type: str | None) -> bytes:
    if not (content_type or "").startswith(JSONLINES):
        return batch
    return json.dumps({"instances": [json.loads(line) for line in batch.splitlines() if line.strip()]}).encode()


class RecordError(Exception):
    """A record the job's DataProcessing cannot be applied to; the job fails with this as its reason."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DataProcessing:
    """A job's DataProcessing, its paths parsed; `apply` answers one batch of records.

    Each record gets one output line: CSV when what is written is a CSV record (joined to CSV input, or a CSV
    answer), else a JSON line, even for an ``application/json`` answer, whose ``predictions`` are split per record
    so that each can be joined and filtered."""

    input_filter: JsonPath
    join: bool
    output_filter: JsonPath
    texts: tuple[str, str]  # the paths as given, for the messages

    def apply(self, endpoint: ModelEndpoint, batch: list[tuple[int, bytes]], content_type: str | None,
              accept: str | None, where: str) -> bytes:
        """The output lines of ``batch`` (numbered records of object ``where``): each record filtered, the
        filtered records sent to the model together, each answer joined with its record and filtered again."""
        tabular = not _is_json(content_type)
        records = [(number, _record(line, tabular, where, number)) for number, line in batch]
        chosen = [self._select(self.input_filter, "InputFilter", value, where, number) for number, value in records]
        if tabular:
            payload = _csv_lines(chosen).encode()
        else:
            payload = json.dumps({"instances": chosen}).encode()
        try:
            answer, response_type = endpoint.invoke(payload, CSV if tabular else JSON, accept)
        except RequestError as error:  # its row numbers count the filtered batch's rows
            raise RecordError(f"{where}, the batch of records {batch[0][0]} to {batch[-1][0]}: {error}") from None
        outputs = _answers(answer, response_type)
        if len(outputs) != len(records):
            raise RecordError(f"{where}: the model answered {len(outputs)} records for {len(records)}")
        written_tabular = tabular if self.join else response_type == CSV
        lines = []
        for (number, value), output in zip(records, outputs):
            joined = _joined(value, output, tabular, response_type) if self.join else output
            kept = self._select(self.output_filter, "OutputFilter", joined, where, number)
            lines.append(_csv_lines([kept]) if written_tabular else json.dumps(kept) + "\n")
        return "".join(lines).encode()

    def _select(self, path: JsonPath, member: str, value: Any, where: str, number: int) -> Any:
        try:
            return select(path, value)
        except LookupError as error:
            text = self.texts[member == "OutputFilter"]
            raise RecordError(f"{where}, record {number}: DataProcessing.{member} {text!r} cannot be applied: "
                              f"{error.args[0]}") from None


def _processing(request: dict) -> DataProcessing | None:
    """The request's DataProcessing; None when it asks for nothing (the records go to the model as they are).
    ValidationException naming the member and the path for a path that cannot be parsed, or that names keys of
    CSV records (arrays of fields)."""
    given = request.get("DataProcessing") or {}
    texts = (given.get("InputFilter") or "$", given.get("OutputFilter") or "$")
    paths = []
    for member, text in zip(("InputFilter", "OutputFilter"), texts):
        try:
            paths.append(parse_path(text))
        except ValueError as error:
            raise validation(f"DataProcessing.{member} {text!r} is not a JSONPath batch transform supports: "
                             f"{error}") from None
    join = given.get("JoinSource", "None") == "Input"
    tabular = not _is_json(request["TransformInput"].get("ContentType"))  # what an unjoined answer is: unknown yet
    for member, text, path, checked in zip(("InputFilter", "OutputFilter"), texts, paths, (tabular, tabular and join)):
        if checked and any(step.keys for step in path):
            raise validation(f"DataProcessing.{member} {text!r} names keys, but its CSV records are arrays of "
                             "fields: select them by index, as in '$[1:]'")
    if not paths[0] and not paths[1] and not join:
        return None
    return DataProcessing(paths[0], join, paths[1], texts)


def _is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in (JSON, JSONLINES)


def _record(line: bytes, tabular: bool, where: str, number: int) -> Any:
    """A record as the filters see it: a CSV line's fields, or a JSON line's value."""
    try:
        text = line.decode("utf-8-sig")
        return next(csv.reader([text])) if tabular else json.loads(text)
    except (UnicodeDecodeError, ValueError, csv.Error) as error:
        raise RecordError(f"{where}, record {number}: cannot be read as {'CSV' if tabular else 'JSON'}: "
                          f"{error}") from None


def _answers(answer: bytes, response_type: str) -> list:
    """The model's answer split into one output per record: a CSV line's fields, or a JSON record."""
    text = answer.decode()
    if response_type == CSV:
        return [fields for fields in csv.reader(io.StringIO(text)) if fields]
    if response_type == JSONLINES:
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)["predictions"]


def _joined(record: Any, output: Any, tabular: bool, response_type: str) -> Any:
    """SageMaker's join: CSV fields followed by the output's; a JSON object with the output under
    "SageMakerOutput", any other JSON value under "SageMakerInput" beside it. A CSV answer joined to a JSON
    record is its one field, or its list of fields."""
    if tabular:
        return record + (output if response_type == CSV else [output])
    if response_type == CSV:
        output = output[0] if len(output) == 1 else output
    if isinstance(record, dict):
        return record | {"SageMakerOutput": output}
    return {"SageMakerInput": record, "SageMakerOutput": output}


def _csv_lines(rows: list) -> str:
    """Rows (a value standing for a row of one field) as CSV lines; a cell that is not text as its JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in rows:
        writer.writerow([cell if isinstance(cell, str) else json.dumps(cell) for cell in
                         (row if isinstance(row, list) else [row])])
    return buffer.getvalue()
