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
import socket
import sys
import threading
import traceback
from collections.abc import Sequence
from http import HTTPStatus
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pandas as pd

from .errors import InputError
from .predict import encode_csv, load_best_model, prediction_columns, resolve_keys
from .vocabulary import REGRESSION

DEFAULT_PORT = 8080  # SageMaker's inference containers listen on 8080
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker's invocation payload limit
KEEP_ALIVE_SECONDS = 60  # an idle connection is closed after this, as SageMaker's gunicorn containers do
# After a 413 the refused body is read and dropped (never held) up to this size, so that a client still sending it
# gets the answer rather than a reset connection; a larger one is cut off.
DISCARD_LIMIT_BYTES = 64 * 1024 * 1024
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

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """The response to request ``body`` (CSV when ``content_type`` is unset) and its type, the first one
        ``accept`` names that the endpoint speaks; `RequestError` for a request it refuses."""
        response_type = _response_type(accept)
        frame, row_numbers = self.rows(body, _media_type(content_type) or CSV)
        return self.encode(self.predict(frame, row_numbers), response_type), response_type

    def rows(self, body: bytes, media_type: str) -> tuple[pd.DataFrame, list[int]]:
        """The payload's rows as the batch transform reads them, and each row's number in the payload."""
        columns = self.columns
        if media_type == CSV:
            text, row_numbers, width = _checked_csv(_text(body), sorted(self.layouts))
            columns = self.layouts[width]
        elif media_type == JSON:
            text, row_numbers = _json_as_csv(_json(body), self.columns)
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


def _json(body: bytes):
    try:
        return json.loads(_text(body))
    except json.JSONDecodeError as error:
        raise RequestError(HTTPStatus.BAD_REQUEST, f"the payload is not JSON: {error}") from None


def _json_as_csv(document, columns: list[str]) -> tuple[str, list[int]]:
    """The JSON rows written as CSV lines, so that CSV and JSON requests parse to the same cells."""
    instances = document.get("instances", [document]) if isinstance(document, dict) else document
    if not isinstance(instances, list) or not instances:
        raise RequestError(HTTPStatus.BAD_REQUEST, 'expected {"instances": [...]} or a list of rows')
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for number, instance in enumerate(instances, start=1):
        writer.writerow(_json_row(instance, columns, number))
    return buffer.getvalue(), list(range(1, len(instances) + 1))


def _json_row(instance, columns: list[str], number: int) -> list:
    """One row's values in training order, from ``[...]``, ``{"features": [...]}``,
    ``{"data": {"features": {"values": [...]}}}`` or ``{"column": value, ...}``."""
    if isinstance(instance, dict) and "features" in instance:
        instance = instance["features"]
    elif isinstance(instance, dict) and isinstance(instance.get("data"), dict):
        instance = (instance["data"].get("features") or {}).get("values")
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a client sends many requests over one connection
    server_version = "autopilot-local"
    disable_nagle_algorithm = True  # headers and body leave in two writes: Nagle would hold the body ~40 ms
    timeout = KEEP_ALIVE_SECONDS
    server: EndpointServer
    _unread = 0  # bytes of a refused body still on the connection

    def setup(self):
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self):
        self.server.connections.discard(self.connection)
        super().finish()

    def do_GET(self):
        if urlsplit(self.path).path == "/ping":
            self._reply(HTTPStatus.OK, b"", "text/plain")
        else:
            self._reply(HTTPStatus.NOT_FOUND, f"no such path: {self.path}\n".encode(), "text/plain")

    def do_POST(self):
        try:
            body = self._body()
            if urlsplit(self.path).path != "/invocations":
                raise RequestError(HTTPStatus.NOT_FOUND, f"no such path: {self.path}")
            answer, media_type = self.server.endpoint.invoke(body, self.headers["Content-Type"], self.headers["Accept"])
            self._reply(HTTPStatus.OK, answer, media_type)
        except RequestError as error:
            self._reply(error.status, f"{error}\n".encode(), "text/plain")
            self._discard_unread()
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            self._reply(HTTPStatus.INTERNAL_SERVER_ERROR, f"{type(error).__name__}: {error}\n".encode(), "text/plain")

    def _body(self) -> bytes:
        """The request body, refused with 413 as soon as it passes `MAX_PAYLOAD_BYTES` (the rest left unread)."""
        if "chunked" in (self.headers["Transfer-Encoding"] or "").lower():
            return self._chunked_body()
        try:
            length = int(self.headers["Content-Length"] or 0)
        except ValueError:
            raise self._fatal(HTTPStatus.BAD_REQUEST, "Content-Length is not a number") from None
        if length > MAX_PAYLOAD_BYTES:
            self._unread = length
            raise self._fatal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _too_large(length))
        return self.rfile.read(length)

    def _discard_unread(self) -> None:
        """Drop the body of a refused request as it arrives, in small pieces, after the answer has gone out."""
        unread, self._unread = min(self._unread, DISCARD_LIMIT_BYTES), 0
        try:
            while unread > 0:
                piece = self.rfile.read1(min(unread, 1 << 16))
                if not piece:
                    break
                unread -= len(piece)
        except OSError:
            pass

    def _chunked_body(self) -> bytes:
        parts, size = [], 0
        while True:
            try:
                length = int(self.rfile.readline(1024).split(b";")[0], 16)
            except ValueError:
                raise self._fatal(HTTPStatus.BAD_REQUEST, "malformed chunked body") from None
            if length == 0:
                while self.rfile.readline(1024).strip():  # trailers
                    pass
                return b"".join(parts)
            size += length
            if size > MAX_PAYLOAD_BYTES:
                raise self._fatal(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _too_large(size, "at least "))
            parts.append(self.rfile.read(length))
            self.rfile.readline()

    def _fatal(self, status: HTTPStatus, message: str) -> RequestError:
        """An error after which the connection closes: the unread body cannot be told from the next request."""
        self.close_connection = True
        return RequestError(status, message)

    def _reply(self, status: HTTPStatus, body: bytes, media_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # one line per request would cost more than a prediction
        pass


def _too_large(size: int, prefix: str = "") -> str:
    return f"the payload is {prefix}{size} bytes; the limit is {MAX_PAYLOAD_BYTES} bytes (6 MB)"


class EndpointServer(ThreadingHTTPServer):
    """One thread per connection; `close` also ends the open keep-alive connections."""

    daemon_threads = True

    def __init__(self, endpoint: ModelEndpoint, host: str, port: int):
        self.endpoint = endpoint
        self.connections: set[socket.socket] = set()
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            raise InputError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None

    @property
    def url(self) -> str:
        """The address the server listens on, ``http://<host>:<port>``."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        """Stop listening and shut down the open connections."""
        self.server_close()
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def create_server(job_dir: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                  output_keys: str | Sequence[str] | None = None) -> EndpointServer:
    """Load the job's best candidate and bind the endpoint (port 0: any free port); `serve_forever` serves it."""
    return EndpointServer(ModelEndpoint(load_best_model(Path(job_dir)), output_keys), host, port)


def serve(job_dir: str | Path, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          output_keys: str | Sequence[str] | None = None) -> None:
    """`autopilot-local serve`: print the URL, serve until Ctrl-C."""
    server = create_server(job_dir, host, port, output_keys)
    model = server.endpoint.model
    print(f"{server.url} serves {model.name} of {Path(job_dir).name} ({model.problem_type}; "
          f"keys {','.join(server.endpoint.keys)}): GET /ping, POST /invocations; Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


class Predictor:
    """A deployed local endpoint, used as the SageMaker SDK's ``Predictor`` with ``CSVSerializer`` and
    ``CSVDeserializer``: ``predict`` sends rows, returns one list of strings per row."""

    def __init__(self, server: EndpointServer, thread: threading.Thread):
        self.endpoint = server.url
        self._server, self._thread = server, thread
        self._local = threading.local()  # one keep-alive connection per calling thread
        self._deleted = False

    @property
    def feature_columns(self) -> list[str]:
        """The columns a row sends, in the order the endpoint takes them."""
        return self._server.endpoint.columns

    def predict(self, data, accept: str = CSV):
        """``data``: a DataFrame (its training columns are sent, in order), a list of rows, or CSV text.
        Returns the rows of the CSV answer, or the parsed JSON when ``accept`` is JSON."""
        status, body = self._post(_csv_payload(data, self.feature_columns), accept)
        if status != HTTPStatus.OK:
            raise InputError(f"the endpoint answered {status}: {body.decode(errors='replace').strip()}")
        if accept == CSV:
            return list(csv.reader(io.StringIO(body.decode())))
        return json.loads(body)

    def _post(self, payload: bytes, accept: str) -> tuple[int, bytes]:
        if self._deleted:
            raise InputError(f"the endpoint {self.endpoint} has been deleted")
        try:
            return self._send(payload, accept)
        except ConnectionError:  # the server closed an idle keep-alive connection: one more try on a new one
            self._close_connection()
            return self._send(payload, accept)

    def _send(self, payload: bytes, accept: str) -> tuple[int, bytes]:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            host, port = self._server.server_address[:2]
            connection = self._local.connection = HTTPConnection(host, port, timeout=KEEP_ALIVE_SECONDS)
        connection.request("POST", "/invocations", payload, {"Content-Type": CSV, "Accept": accept})
        response = connection.getresponse()
        return response.status, response.read()

    def _close_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None

    def delete_endpoint(self) -> None:
        """Stop the server and free its port."""
        self._close_connection()
        self._server.shutdown()
        self._server.close()
        self._thread.join()
        self._deleted = True


def _csv_payload(data, columns: list[str]) -> bytes:
    if isinstance(data, bytes):
        return data
    if isinstance(data, str):
        return data.encode()
    if isinstance(data, pd.DataFrame):
        if set(columns) <= set(data.columns):
            data = data[columns]
        return data.to_csv(header=False, index=False).encode()
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(np.asarray(data, dtype=object).tolist())
    return buffer.getvalue().encode()


def deploy(job_dir: str | Path, host: str = "127.0.0.1", port: int = 0,
           output_keys: str | Sequence[str] | None = None) -> Predictor:
    """Serve the job's best candidate from a background thread of this process (the model is loaded once, here,
    and the endpoint is up when this returns) and return its `Predictor`."""
    server = create_server(job_dir, host, port, output_keys)
    thread = threading.Thread(target=server.serve_forever, name=f"endpoint {server.url}", daemon=True)
    thread.start()
    return Predictor(server, thread)
