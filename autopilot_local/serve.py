"""A local endpoint for a finished job's best candidate, speaking SageMaker's inference container contract.

``GET /ping`` answers 200 once the model is loaded; ``POST /invocations`` takes ``text/csv`` (no header, the
training columns in order, one row per line) or ``application/json`` (``{"instances": [{"features": [...]}]}``,
``{"instances": [[...]]}``, or objects keyed by column name, bare or under ``"instances"``) and answers in the
``Accept`` type: ``text/csv`` (default), ``application/json`` (``{"predictions": [{...}, ...]}``) or
``application/jsonlines``. Classification responses carry the keys chosen per server (``output_keys``, else
``SAGEMAKER_INFERENCE_OUTPUT``, else ``predicted_label``), as Autopilot's containers do; regression responses the
value (``{"score": v}`` in JSON, as SageMaker's XGBoost and linear learner containers write it).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import queue
import re
import signal
import socket
import sys
import threading
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .files import load_model
from .model import CandidateModel
from .predict import best_model_file, encode_csv, load_best_model, prediction_columns, resolve_keys
from .vocabulary import REGRESSION

DEFAULT_PORT = 8080  # SageMaker's inference containers listen on 8080
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker's invocation payload limit
KEEP_ALIVE_SECONDS = 60  # an idle connection is closed after this, as SageMaker's gunicorn containers do
# A body over the payload limit is still read (to a temporary file), so that the client hears the 413 rather than
# a reset connection; past this size it is refused unread.
READ_LIMIT_BYTES = 64 * 1024 * 1024
SWITCH_INTERVAL_SECONDS = 0.0005
CSV, JSON, JSONLINES = "text/csv", "application/json", "application/jsonlines"
_SCALARS = (str, int, float, bool, type(None))


class RequestError(Exception):
    """A request the endpoint refuses: the status to answer and a message naming the row or header at fault."""

    def __init__(self, status: HTTPStatus, message: str):
        super().__init__(message)
        self.status = status


class ModelEndpoint:
    """The model behind the HTTP layer: request body in, response body out, loaded once for every request."""

    def __init__(self, model, output_keys: str | Sequence[str] | None = None):
        self.model = model
        self.keys = resolve_keys(output_keys, model.problem_type)
        self.columns = list(model.feature_columns)
        # rows come as Autopilot's containers take them (every training column but the target) or with the
        # model's feature columns only; their width tells which
        inputs = list(getattr(model, "input_columns", self.columns))  # models saved before it was kept: none
        self.layouts = {len(self.columns): self.columns, len(inputs): inputs}
        # a frame is built from a dict of columns on the one-row path: only when no name repeats
        self.one_row_layouts = {width: names for width, names in self.layouts.items() if len(set(names)) == width}

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """The response to request ``body`` (CSV when ``content_type`` is unset) and its type, the first one
        ``accept`` names that the endpoint speaks; `RequestError` for a request it refuses."""
        response_type = _response_type(accept)
        frame, row_numbers = self.rows(body, _media_type(content_type) or CSV)
        return self.encode(self.predict(frame, row_numbers), response_type), response_type

    def rows(self, body: bytes, media_type: str) -> tuple[pd.DataFrame, list[int]]:
        """The payload's rows as the batch transform reads them, and each row's number in the payload."""
        if media_type == CSV and (frame := _one_row_frame(body, self.one_row_layouts)) is not None:
            return frame, [1]
        if media_type == CSV:
            text, row_numbers, width = _checked_csv(_text(body), sorted(self.layouts))
            columns = self.layouts[width]
        elif media_type == JSON:
            text, row_numbers, columns = _json_as_csv(_json(body), self.layouts)
        else:
            raise RequestError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                               f"content type {media_type!r} is not supported; send {CSV} or {JSON}")
        try:  # pandas parses the cells exactly as `autopilot-local predict` parses a file's
            frame = pd.read_csv(io.StringIO(text), header=None, names=columns, low_memory=False)
        except (pd.errors.ParserError, ValueError) as error:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"malformed CSV: {error}") from None
        return frame, row_numbers

    def predict(self, frame: pd.DataFrame, row_numbers: list[int]) -> dict:
        """The prediction columns of ``frame`` under the endpoint's keys; `RequestError` names the first row the
        model cannot take, by its number in ``row_numbers``."""
        try:
            return prediction_columns(self.model, frame, self.keys)
        except Exception as error:
            row = _first_failing_row(lambda part: prediction_columns(self.model, part, self.keys), frame)
            where = f"row {row_numbers[row]}" if row is not None else "the rows"
            raise RequestError(HTTPStatus.BAD_REQUEST, f"{where}: the model cannot take its values: {error}") from None

    def encode(self, columns: dict, response_type: str) -> bytes:
        """The prediction ``columns`` as a ``response_type`` body: CSV rows, or JSON or JSON lines records."""
        if response_type == CSV:
            return encode_csv(columns).encode()
        if self.model.problem_type == REGRESSION:
            records = [{"score": value} for value in columns["predicted_label"]]
        else:
            records = [dict(zip(columns, values)) for values in zip(*columns.values())]
        if response_type == JSONLINES:
            return "".join(json.dumps(record) + "\n" for record in records).encode()
        return json.dumps({"predictions": records}).encode()


class ModelProcesses:
    """A model answered by processes of its own, as an endpoint's instances answer in SageMaker.

    Each process loads the model once and answers one request at a time, so that one endpoint's requests are
    predicted side by side on the machine's cores rather than in turn under the server's interpreter lock (two
    clients got no more answers than one), and a model that brings its process down fails only the request it was
    answering (the process is started again). `invoke` is `ModelEndpoint.invoke`'s.

    Parameters
    ----------
    model_file : str or Path
        A `CandidateModel`'s file.
    output_keys : str or sequence of str, optional
        The inference keys, as `ModelEndpoint` takes them.
    processes : int, optional
        How many; by default one per core.

    Attributes
    ----------
    name, problem_type, keys
        The model's candidate name, its problem type and the inference keys its answers carry.
    """

    def __init__(self, model_file: str | Path, output_keys: str | Sequence[str] | None = None,
                 processes: int | None = None):
        import multiprocessing

        self.model_file, self.output_keys = str(model_file), output_keys
        self._context = multiprocessing.get_context("spawn")  # the server has threads: a fork would copy locks
        self._idle: queue.LifoQueue = queue.LifoQueue()  # the process used last is warm: its caches, its core
        self._workers = [self._start() for _ in range(processes or os.cpu_count() or 1)]  # they load side by side
        try:
            for worker in self._workers:
                self.name, self.problem_type, self.keys = self._ready(worker)
                self._idle.put(worker)
        except InputError:
            self.close()
            raise

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """The response to request ``body`` and its type, from the first process free; `RequestError` as
        `ModelEndpoint.invoke` raises it."""
        worker = self._idle.get()
        try:
            worker.connection.send((body, content_type, accept))
            kind, value = worker.connection.recv()
        except (EOFError, OSError):
            worker = self._restarted(worker)
            raise RequestError(HTTPStatus.INTERNAL_SERVER_ERROR,
                               "the model's process ended while it answered; it has been started again") from None
        finally:
            self._idle.put(worker)
        if kind == "refused":
            raise RequestError(HTTPStatus(value[0]), value[1])
        if kind == "failed":
            raise RuntimeError(value)
        return value

    def close(self) -> None:
        """End the processes once each has answered what it was asked (they exit when their pipe closes)."""
        for worker in self._workers:
            worker.connection.close()
        for worker in self._workers:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=_answer_requests, args=(self.model_file, self.output_keys, theirs),
                                        name=f"model {Path(self.model_file).parent.name}", daemon=True)
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def _ready(self, worker: _Worker) -> tuple:
        try:
            kind, value = worker.connection.recv()
        except EOFError:
            kind, value = "failed", f"the model's process exited with code {worker.process.exitcode}"
        if kind != "ready":
            raise InputError(f"cannot serve {self.model_file}: {value}")
        return value

    def _restarted(self, worker: _Worker) -> _Worker:
        worker.connection.close()
        worker.process.join(timeout=10)
        replacement = self._start()
        self._workers[self._workers.index(worker)] = replacement
        self._ready(replacement)
        return replacement


@dataclass
class _Worker:
    process: object
    connection: object


def _answer_requests(model_file: str, output_keys, connection) -> None:
    """A model process: load the model, say so, then answer each request the pipe brings until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's; it closes the pipe, which ends this
    try:
        model = load_model(Path(model_file))
        if not isinstance(model, CandidateModel):
            raise InputError(f"{model_file} holds no autopilot-local model")
        endpoint = ModelEndpoint(model, output_keys)
    except Exception as error:
        connection.send(("failed", str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"))
        return
    connection.send(("ready", (model.name, model.problem_type, endpoint.keys)))
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        try:
            connection.send(("answer", endpoint.invoke(*request)))
        except RequestError as error:
            connection.send(("refused", (error.status.value, str(error))))
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            connection.send(("failed", f"{type(error).__name__}: {error}"))


def _media_type(header: str | None) -> str:
    return (header or "").split(";")[0].strip().lower()


def _response_type(accept: str | None) -> str:
    """The first supported type the ``Accept`` header names; CSV for none or a wildcard."""
    for media_type in (_media_type(part) for part in (accept or "").split(",")):
        if media_type in (CSV, JSON, JSONLINES):
            return media_type
        if media_type in ("", "*/*", "text/*"):
            return CSV
    raise RequestError(HTTPStatus.NOT_ACCEPTABLE, f"cannot answer in {accept!r}; accept {CSV}, {JSON} or {JSONLINES}")


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"the payload is not UTF-8 text: {error}") from None


def _checked_csv(text: str, widths: list[int]) -> tuple[str, list[int], int]:
    """Check every row holds as many fields as the first, one of ``widths`` (CSV quoting honoured); blank lines
    are skipped, as pandas does. Returns the text, each row's number and the width."""
    reader = csv.reader(io.StringIO(text))
    row_numbers, width = [], None
    try:
        for number, fields in enumerate(reader, start=1):
            if not fields:
                continue
            if len(fields) != (width or len(fields)) or len(fields) not in widths:
                takes = " or ".join(map(str, [width] if width else widths))
                raise RequestError(HTTPStatus.BAD_REQUEST,
                                   f"row {number} has {len(fields)} fields; the model takes {takes}")
            width = len(fields)
            row_numbers.append(number)
    except csv.Error as error:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"row {reader.line_num}: malformed CSV: {error}") from None
    if not row_numbers:
        raise RequestError(HTTPStatus.BAD_REQUEST, "the payload holds no rows")
    return text, row_numbers, width


def _one_row_frame(body: bytes, layouts: dict[int, list[str]]) -> pd.DataFrame | None:
    """A one-line, unquoted CSV payload read as `pd.read_csv` reads it, in a fraction of its time: a single-row
    invocation is the common request, and pandas' reader cost more than the model. None when the payload needs
    pandas (several lines, quoting, a width no layout has, a cell whose reading is not plain)."""
    try:
        text = body.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError:
        return None
    if not text or "\n" in text or "\r" in text or '"' in text:
        return None
    fields = text.split(",")
    columns = layouts.get(len(fields))
    if columns is None:
        return None
    values = [_cell(field) for field in fields]
    if any(value is _NOT_PLAIN for value in values):
        return None
    return pd.DataFrame({column: [value] for column, value in zip(columns, values)})


# pandas' default missing-value markers (read_csv's ``na_values``)
_NA_CELLS = frozenset(["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
                       "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"])
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_PLAIN = object()


def _cell(field: str):
    """One cell as read_csv types a column holding only it: NaN, int64, float64, bool or str; `_NOT_PLAIN` where
    pandas' own reading should decide (padding, integers past int64, infinities)."""
    if field in _NA_CELLS:
        return np.nan
    if field != field.strip():
        return _NOT_PLAIN
    if _INTEGER.fullmatch(field):
        number = int(field)
        return number if -(2**63) <= number < 2**63 else _NOT_PLAIN
    if _DECIMAL.fullmatch(field):
        return float(field)
    lowered = field.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return _NOT_PLAIN if "inf" in lowered else field


def _json(body: bytes):
    try:
        return json.loads(_text(body))
    except json.JSONDecodeError as error:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"the payload is not JSON: {error}") from None


def _json_as_csv(document, layouts: dict[int, list[str]]) -> tuple[str, list[int], list[str]]:
    """The JSON rows written as CSV lines, so that CSV and JSON requests parse to the same cells; with each row's
    number and the columns the lines hold. Rows of values hold every training column but the target, or the
    model's feature columns, as CSV rows do; rows of named values are taken by the feature columns' names."""
    instances = document.get("instances", [document]) if isinstance(document, dict) else document
    if not isinstance(instances, list) or not instances:
        raise RequestError(HTTPStatus.BAD_REQUEST, 'expected {"instances": [...]} or a list of rows')
    features = layouts[min(layouts)]
    first = _values(instances[0])
    columns = layouts.get(len(first), features) if isinstance(first, list) else features
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for number, instance in enumerate(instances, start=1):
        writer.writerow(_json_row(instance, columns, number))
    return buffer.getvalue(), list(range(1, len(instances) + 1)), columns


def _values(instance):
    """A row's values as given: ``[...]``, ``{"features": [...]}``, ``{"data": {"features": {"values": [...]}}}``,
    or the object ``{"column": value, ...}`` itself."""
    if isinstance(instance, dict) and "features" in instance:
        return instance["features"]
    if isinstance(instance, dict) and isinstance(instance.get("data"), dict):
        return (instance["data"].get("features") or {}).get("values")
    return instance


def _json_row(instance, columns: list[str], number: int) -> list:
    """One row's values in the order of ``columns``; `RequestError` naming the row for one that does not fit."""
    instance = _values(instance)
    if isinstance(instance, dict):
        missing = [column for column in columns if column not in instance]
        if missing:
            raise RequestError(HTTPStatus.BAD_REQUEST, f"row {number} lacks column(s) {', '.join(map(repr, missing))}")
        instance = [instance[column] for column in columns]
    if not isinstance(instance, list):
        raise RequestError(HTTPStatus.BAD_REQUEST, f"row {number} is neither a list of values nor an object")
    if len(instance) != len(columns):
        raise RequestError(HTTPStatus.BAD_REQUEST,
                           f"row {number} has {len(instance)} values; the model takes {len(columns)}")
    for column, value in zip(columns, instance):
        if not isinstance(value, _SCALARS):
            raise RequestError(HTTPStatus.BAD_REQUEST, f"row {number}, column {column!r}: {value!r} is not a value")
    return instance


def _first_failing_row(predict, frame: pd.DataFrame) -> int | None:
    """The index of a row the model fails on, halving the rows; None when no single row fails alone."""
    low, high = 0, len(frame)
    while high - low > 1:
        middle = (low + high) // 2
        if _fails(predict, frame.iloc[low:middle]):
            high = middle
        else:
            low = middle
    return low if _fails(predict, frame.iloc[low:low + 1]) else None


def _fails(predict, part: pd.DataFrame) -> bool:
    try:
        predict(part)
    except Exception:
        return True
    return False


class EndpointApp:
    """The WSGI application of one endpoint: ``GET /ping`` and ``POST /invocations``, answered by ``endpoint``.

    Parameters
    ----------
    endpoint : ModelEndpoint
        The loaded model.
    """

    def __init__(self, endpoint: ModelEndpoint):
        self.endpoint = endpoint

    def __call__(self, environ, start_response):
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD")
        try:
            if path == "/ping" and method in ("GET", "HEAD"):
                return _answer(start_response, HTTPStatus.OK, b"", "text/plain")
            if path != "/invocations" or method != "POST":
                raise RequestError(HTTPStatus.NOT_FOUND, f"no such path: {method} {path}")
            answer, media_type = self.endpoint.invoke(
                payload(environ), environ.get("CONTENT_TYPE"), environ.get("HTTP_ACCEPT"))
            return _answer(start_response, HTTPStatus.OK, answer, media_type)
        except RequestError as error:
            return _answer(start_response, error.status, f"{error}\n".encode(), "text/plain")
        except Exception as error:  # a fault of ours: the request fails, the endpoint goes on serving
            traceback.print_exc(file=sys.stderr)
            return _answer(start_response, HTTPStatus.INTERNAL_SERVER_ERROR,
                           f"{type(error).__name__}: {error}\n".encode(), "text/plain")


def payload(environ) -> bytes:
    """The request body; `RequestError` 413 when it passes `MAX_PAYLOAD_BYTES`. The server has read a chunked
    body whole before the application sees it, and gives its length."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_PAYLOAD_BYTES:
        raise RequestError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                           f"the payload is {length} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes (6 MB)")
    return environ["wsgi.input"].read(length) if length else b""


def _answer(start_response, status: HTTPStatus, body: bytes, media_type: str) -> list[bytes]:
    start_response(f"{status.value} {status.phrase}",
                   [("Content-Type", media_type), ("Content-Length", str(len(body)))])
    return [body]


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (0: any free port); `InputError` when it cannot be had."""
    try:
        return socket.create_server((host, port), backlog=1024)
    except OSError as error:
        raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def url_of(listening: socket.socket) -> str:
    """``http://<host>:<port>`` of a bound socket; a wildcard address is reached through 127.0.0.1."""
    host, port = listening.getsockname()[:2]
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"


def http_server(app, listening: socket.socket, threads: int = 4, max_body_bytes: int = 1 << 30):
    """Waitress serving ``app`` on ``listening``: keep-alive connections, bodies read whole (chunked included)
    before ``app`` sees them, a pool of ``threads``. A body over ``max_body_bytes`` gets 413 from the headers
    alone, unread. ``run()`` serves until ``close()``."""
    from waitress.server import create_server

    # A request waiting to be read or answered is not held behind another thread's prediction for Python's
    # default 5 ms between hand-overs of the interpreter lock: under two clients that made every answer 10 ms late.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is 2": a busy moment, not news
    server = create_server(app, sockets=[listening], threads=threads, channel_timeout=KEEP_ALIVE_SECONDS,
                           connection_limit=1000, max_request_body_size=max_body_bytes, ident="autopilot-local",
                           clear_untrusted_proxy_headers=True)
    server.channel_class = _channel_class()
    return server


def _channel_class():
    """waitress's connection, but for one thing: it answers ``Expect: 100-continue`` on a request with no body
    (botocore's PutObject of an empty object) with 100 Continue, then waits for a body that never comes, so the
    client times out. Such a request is whole already."""
    from waitress.channel import HTTPChannel

    class Channel(HTTPChannel):
        def send_continue(self):
            if self.request.content_length == 0 and not self.request.chunked:
                self.request.expect_continue = False
                return
            super().send_continue()

    return Channel


class RunningEndpoint:
    """An endpoint served from a background thread of this process (`start_endpoint`).

    Parameters
    ----------
    endpoint : ModelEndpoint
        The loaded model.
    host, port : str, int
        Where to listen (port 0: any free port).
    """

    def __init__(self, endpoint: ModelEndpoint, host: str, port: int):
        self.endpoint = endpoint
        listening = bind(host, port)
        self.url = url_of(listening)
        self._server = http_server(EndpointApp(endpoint), listening, max_body_bytes=READ_LIMIT_BYTES)
        self._thread = threading.Thread(target=self._server.run, name=f"endpoint {self.url}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving and free the port."""
        self._server.close()
        self._thread.join(timeout=30)


def start_endpoint(job_dir: str | Path, host: str = "127.0.0.1", port: int = 0,
                   output_keys: str | Sequence[str] | None = None) -> RunningEndpoint:
    """Serve the job's best candidate from a background thread of this process; the model is loaded here, once,
    and the endpoint answers when this returns."""
    return RunningEndpoint(ModelEndpoint(load_best_model(Path(job_dir)), output_keys), host, port)


def serve(job_dir: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          output_keys: str | Sequence[str] | None = None) -> None:
    """`autopilot-local serve`: print the URL, serve until Ctrl-C or SIGTERM; the model answers from one process
    per core (`ModelProcesses`)."""
    listening = bind(host, port)
    model = ModelProcesses(best_model_file(Path(job_dir)), output_keys)
    server = http_server(EndpointApp(model), listening, max_body_bytes=READ_LIMIT_BYTES)
    print(f"{url_of(listening)} serves {model.name} of {Path(job_dir).name} ({model.problem_type}; "
          f"keys {','.join(model.keys)}): GET /ping, POST /invocations; Ctrl-C stops", flush=True)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        model.close()
