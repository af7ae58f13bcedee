"""The local endpoint over real HTTP on 127.0.0.1, and `predict` streaming a file in chunks."""

from __future__ import annotations

import ast
import csv
import gzip
import http.client
import io
import json
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from conftest import classification_frame, regression_frame

from autopilot_local import JobConfig, run_job
from autopilot_local import predict as batch
from autopilot_local.cli import main
from autopilot_local.errors import InputError
from autopilot_local.io import read_table
from autopilot_local.serve import (
    MAX_PAYLOAD_BYTES,
    READ_LIMIT_BYTES,
    ModelEndpoint,
    ModelProcesses,
    RequestError,
    _one_row_frame,
    start_endpoint,
)

ALL_KEYS = ("predicted_label", "probability", "probabilities", "labels")


def _build_job(folder: Path, frame: pd.DataFrame, target: str, name: str) -> tuple[Path, Path]:
    data = folder / f"{name}.csv"
    frame.to_csv(data, index=False)
    config = JobConfig(data=str(data), target=target, output_dir=str(folder / "jobs"), job_name=name, seed=0,
                       max_candidates=3, algorithms=("xgboost",), allow_small=True)
    assert run_job(config)["AutoMLJobStatus"] == "Completed"
    return config.job_dir, data


@pytest.fixture(scope="module")
def regression_job(tmp_path_factory):
    return _build_job(tmp_path_factory.mktemp("regression"), regression_frame(), "price", "homes")


@pytest.fixture(scope="module")
def binary_job(tmp_path_factory):
    return _build_job(tmp_path_factory.mktemp("binary"), classification_frame(), "label", "churn")


@pytest.fixture(scope="module")
def regression_endpoint(regression_job):
    endpoint = start_endpoint(regression_job[0])
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module")
def binary_endpoint(binary_job):
    endpoint = start_endpoint(binary_job[0], output_keys=ALL_KEYS)
    yield endpoint
    endpoint.close()


def _connect(url: str) -> http.client.HTTPConnection:
    host, port = url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=30)


def _call(connection, method: str, path: str, body=None, content_type="text/csv", accept=None) -> tuple[int, str]:
    headers = {"Content-Type": content_type} | ({"Accept": accept} if accept else {})
    connection.request(method, path, body, headers)
    response = connection.getresponse()
    return response.status, response.read().decode()


def _invoke(url: str, body, content_type="text/csv", accept=None) -> tuple[int, str]:
    connection = _connect(url)
    try:
        return _call(connection, "POST", "/invocations", body, content_type, accept)
    finally:
        connection.close()


def _features(job: tuple[Path, Path], count: int) -> pd.DataFrame:
    columns = batch.load_best_model(job[0]).feature_columns
    return pd.read_csv(job[1]).head(count)[columns]


def _json_rows(frame: pd.DataFrame) -> list[list]:
    return [[None if pd.isna(value) else value for value in row] for row in frame.astype(object).to_numpy().tolist()]


def _cli_predict(tmp_path: Path, job_dir: Path, rows: pd.DataFrame, *flags: str) -> str:
    data, out = tmp_path / "rows.csv", tmp_path / "out.csv"
    rows.to_csv(data, index=False)
    assert main(["predict", str(job_dir), str(data), "--output", str(out), *flags]) == 0
    return out.read_text()


def test_ping_and_unknown_paths(regression_endpoint):
    connection = _connect(regression_endpoint.url)
    assert _call(connection, "GET", "/ping") == (200, "")
    assert _call(connection, "GET", "/health")[0] == 404
    assert _call(connection, "POST", "/predict", "1,2")[0] == 404
    assert _call(connection, "GET", "/ping")[0] == 200  # the same keep-alive connection still serves
    connection.close()


def test_csv_and_json_invocations_match_the_batch_transform(tmp_path, regression_job, regression_endpoint):
    rows = _features(regression_job, 25)
    assert rows.isna().any().any()  # missing cells travel as empty fields and as null
    expected = _cli_predict(tmp_path, regression_job[0], rows)
    url = regression_endpoint.url

    assert _invoke(url, rows.to_csv(header=False, index=False)) == (200, expected)
    values = [float(line) for line in expected.splitlines()]
    records = [dict(zip(rows.columns, row)) for row in _json_rows(rows)]
    for document in ({"instances": [{"features": row} for row in _json_rows(rows)]},
                     {"instances": _json_rows(rows)},
                     records,
                     {"instances": records}):
        status, body = _invoke(url, json.dumps(document), "application/json", "application/json")
        assert status == 200, body
        assert [p["score"] for p in json.loads(body)["predictions"]] == values
    status, body = _invoke(url, json.dumps({"instances": _json_rows(rows)}), "application/json; charset=utf-8")
    assert (status, body) == (200, expected)  # the answer follows Accept (CSV by default), not the request type
    inputs = pd.read_csv(regression_job[1]).head(25).drop(columns="price")  # every training column but the target
    assert len(inputs.columns) > len(rows.columns)
    for document in (_json_rows(inputs), [{"features": row} for row in _json_rows(inputs)]):
        assert _invoke(url, json.dumps({"instances": document}), "application/json") == (200, expected)


def test_csv_quoting_is_honoured(regression_job, regression_endpoint):
    rows = _features(regression_job, 3)
    text_column = next(c for c in rows.columns if rows[c].astype(str).str.contains(" ").all())
    rows[text_column] = rows[text_column] + ', "quoted", and\na new line'
    body = rows.to_csv(header=False, index=False)
    status, answer = _invoke(regression_endpoint.url, body)
    assert status == 200 and len(answer.splitlines()) == 3


def test_payload_over_six_megabytes_is_refused_with_413(regression_job, regression_endpoint):
    url = regression_endpoint.url
    line = _features(regression_job, 1).to_csv(header=False, index=False)
    payload = line * (7 * 1024 * 1024 // len(line) + 1)
    assert len(payload) > MAX_PAYLOAD_BYTES
    status, body = _invoke(url, payload)
    assert status == 413 and "the limit is 6291456 bytes" in body

    connection = _connect(url)  # a body far past any payload is refused from its headers alone, unread
    connection.putrequest("POST", "/invocations")
    connection.putheader("Content-Type", "text/csv")
    connection.putheader("Content-Length", str(READ_LIMIT_BYTES + 1))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
    assert _invoke(url, line)[0] == 200


def test_bad_rows_get_400_naming_the_row_and_the_server_keeps_serving(regression_job, regression_endpoint):
    lines = _features(regression_job, 4).to_csv(header=False, index=False).splitlines()
    connection = _connect(regression_endpoint.url)
    lines[2] += ",surplus"
    status, body = _call(connection, "POST", "/invocations", "\n".join(lines))
    assert status == 400 and "row 3" in body

    good = _json_rows(_features(regression_job, 3))
    bad_rows = [
        {"instances": [good[0], good[1][:-1]]},
        {"instances": [good[0], good[1], {"nope": 1}]},
        {"instances": [good[0], [{"nested": 1}] + good[1][1:]]},
    ]
    for document, row in zip(bad_rows, ("row 2", "row 3", "row 2")):
        status, body = _call(connection, "POST", "/invocations", json.dumps(document), "application/json")
        assert status == 400 and row in body, body
    assert _call(connection, "POST", "/invocations", '{"instances": [1,', "application/json")[0] == 400
    assert _call(connection, "POST", "/invocations", "", "text/csv")[0] == 400
    assert _call(connection, "POST", "/invocations", "x", "image/png")[0] == 415
    assert _call(connection, "POST", "/invocations", lines[0], accept="application/xml")[0] == 406

    status, body = _call(connection, "POST", "/invocations", "\n".join(lines[:2]))
    assert status == 200 and len(body.splitlines()) == 2
    connection.close()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_a_value_the_model_cannot_take_gets_400_naming_its_row(tmp_path, airbnb):
    """1e308 parses as a number, then overflows the linear learner's scaling of the Paris coordinates."""
    config = JobConfig(data=str(airbnb / "paris_gyodi_nawaro_weekdays.csv"), target="realSum", seed=0,
                       output_dir=str(tmp_path / "jobs"), job_name="paris", max_candidates=1,
                       algorithms=("linear-learner",))
    run_job(config)
    endpoint = start_endpoint(config.job_dir)
    try:
        columns = endpoint.endpoint.columns
        lines = pd.read_csv(config.data).head(3)[columns].to_csv(header=False, index=False)
        too_large = ",".join(["1e308"] * len(columns))
        connection = _connect(endpoint.url)
        status, body = _call(connection, "POST", "/invocations", f"{lines}\n{too_large}\n")
        assert status == 400 and "row 5: the model cannot take its values" in body, body
        assert _call(connection, "POST", "/invocations", lines)[0] == 200
        connection.close()
    finally:
        endpoint.close()


def test_classification_answers_carry_the_requested_keys(tmp_path, binary_job, binary_endpoint):
    rows = _features(binary_job, 20)
    body = rows.to_csv(header=False, index=False)
    expected = _cli_predict(tmp_path, binary_job[0], rows, "--probabilities")

    status, answer = _invoke(binary_endpoint.url, body)
    assert status == 200
    assert expected.splitlines() == ["predicted_label,probability,probabilities,labels", *answer.splitlines()]
    for label, probability, probabilities, labels in csv.reader(io.StringIO(answer)):
        assert ast.literal_eval(labels) == ["no", "yes"]  # Autopilot's containers: "['no', 'yes']"
        pair = ast.literal_eval(probabilities)
        assert float(probability) == pair[1] and sum(pair) == pytest.approx(1)
        assert label == ("yes" if pair[1] > pair[0] else "no")

    status, answer = _invoke(binary_endpoint.url, body, accept="application/json")
    predictions = json.loads(answer)["predictions"]
    assert status == 200 and len(predictions) == 20
    assert all(list(p) == list(ALL_KEYS) and p["labels"] == ["no", "yes"] for p in predictions)
    assert [p["predicted_label"] for p in predictions] == [line.split(",")[0] for line in expected.splitlines()[1:]]


def test_keys_come_from_the_option_or_sagemaker_inference_output(monkeypatch, binary_job):
    body = _features(binary_job, 5).to_csv(header=False, index=False)
    default = start_endpoint(binary_job[0])
    try:
        labels = _invoke(default.url, body)[1].splitlines()
        assert len(labels) == 5 and set(labels) <= {"no", "yes"}
    finally:
        default.close()
    monkeypatch.setenv("SAGEMAKER_INFERENCE_OUTPUT", "probability, predicted_label")
    chosen = start_endpoint(binary_job[0])
    try:
        predictions = json.loads(_invoke(chosen.url, body, accept="application/json")[1])["predictions"]
        assert [list(p) for p in predictions] == [["probability", "predicted_label"]] * 5
        assert [line.split(",")[1] for line in _invoke(chosen.url, body)[1].splitlines()] == labels
    finally:
        chosen.close()
    with pytest.raises(InputError, match="inference keys"):
        start_endpoint(binary_job[0], output_keys="predicted_label,score")


def test_concurrent_requests_get_their_own_answers_and_close_frees_the_port(regression_job):
    """Requests that arrive together are predicted in one batch; each still gets exactly its rows' answers, as
    the same rows sent alone get them, and a request with a bad row fails alone."""
    endpoint = start_endpoint(regression_job[0])
    port = int(endpoint.url.rsplit(":", 1)[1])
    lines = _features(regression_job, 40).to_csv(header=False, index=False).splitlines()
    alone = [_invoke(endpoint.url, line)[1] for line in lines]
    bad = ",".join(["1e308"] * len(lines[0].split(",")))

    def send(chunk: list[str], answers: list) -> None:
        connection = _connect(endpoint.url)
        answers.extend((line, _call(connection, "POST", "/invocations", line)) for line in chunk)
        connection.close()

    answers: list = []
    threads = [threading.Thread(target=send, args=(lines[i::4] + [bad], answers)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    by_line = dict(zip(lines, alone))
    assert len(answers) == 44
    for line, (status, body) in answers:
        if line == bad:
            assert status in (200, 400)  # 1e308 may or may not overflow this model; it never fails the others
        else:
            assert (status, body) == (200, by_line[line])

    endpoint.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    socket.create_server(("127.0.0.1", port)).close()  # a new server can listen there (as a restart would)


def test_model_processes_answer_as_the_model_does_and_outlive_a_crash(regression_job):
    """The processes `serve` and the service answer from give the in-process endpoint's answers, side by side; a
    process that dies fails the one request it held, and is started again."""
    path = batch.best_model_file(regression_job[0])
    here = ModelEndpoint(batch.load_best_model(regression_job[0]))
    lines = _features(regression_job, 12).to_csv(header=False, index=False).splitlines()
    processes = ModelProcesses(path, processes=2)
    try:
        assert processes.name == here.model.name and processes.keys == here.keys
        answers: dict = {}
        threads = [threading.Thread(target=lambda line=line: answers.update({line: processes.invoke(
            line.encode(), "text/csv", None)})) for line in lines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == {line: here.invoke(line.encode(), "text/csv", None) for line in lines}
        with pytest.raises(RequestError, match="row 1 has 1 fields"):
            processes.invoke(b"1\n", "text/csv", None)
        for worker in processes._workers:
            worker.process.kill()
            worker.process.join()
        with pytest.raises(RequestError, match="started again"):
            processes.invoke(lines[0].encode(), "text/csv", None)
        assert processes.invoke(lines[0].encode(), "text/csv", None) == answers[lines[0]]
    finally:
        processes.close()
    with pytest.raises(InputError, match="cannot serve .*the keys probability are for classification"):
        ModelProcesses(path, output_keys="probability", processes=1)


def test_a_single_row_is_read_as_pandas_reads_it(airbnb):
    """The one-row path types each cell as `pd.read_csv` would, on real rows and on cells whose reading is not
    plain; those it leaves to pandas."""
    table = pd.read_csv(airbnb / "paris_2020-05_kkaci_train.csv", nrows=150)
    columns = list(table.columns)
    taken = 0
    for i in range(len(table)):
        line = table.iloc[[i]].to_csv(header=False, index=False)
        fast = _one_row_frame(line.encode(), {len(columns): columns})
        if fast is not None:
            taken += 1
            pd.testing.assert_frame_equal(fast, pd.read_csv(io.StringIO(line), header=None, names=columns))
    assert taken > 100
    cells = ["", "NA", "null", "7", "-0", "+3", "007", "1.", ".5", "-2.5e-3", "1E+05", "TRUE", "false", "yes",
             "1_000", "0x10", "e5", "1e", "#N/A", "<NA>", "ok"]
    names = [f"c{i}" for i in range(len(cells))]
    line = ",".join(cells).encode()
    pd.testing.assert_frame_equal(_one_row_frame(line, {len(names): names}),
                                  pd.read_csv(io.BytesIO(line), header=None, names=names))
    for unplain in (" 1", "inf", "-Infinity", "99999999999999999999", '"quoted"', "a\nb"):
        assert _one_row_frame(f"1,{unplain}".encode(), {2: ["a", "b"]}) is None


def test_serve_command_prints_the_url_and_stops_on_ctrl_c(regression_job):
    command = [sys.executable, "-m", "autopilot_local.cli", "serve", str(regression_job[0]), "--port", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().split()[0]
        assert url.startswith("http://127.0.0.1:")
        assert _call(_connect(url), "GET", "/ping")[0] == 200
        assert _invoke(url, _features(regression_job, 2).to_csv(header=False, index=False))[0] == 200
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
    finally:
        process.kill()
        process.communicate()


def test_bad_serve_and_predict_input_exits_2(capsys, tmp_path, regression_job, binary_job):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for argv, words in (
            (["serve", str(tmp_path)], "not a job folder"),
            (["serve", str(binary_job[0]), "--output-keys", "label"], "inference keys"),
            (["serve", str(regression_job[0]), "--output-keys", "probability"], "regression"),
            (["serve", str(regression_job[0]), "--port", str(port)], "cannot listen"),
            (["predict", str(regression_job[0]), str(tmp_path / "absent.csv")], "does not exist"),
        ):
            assert main(argv) == 2
            err = capsys.readouterr().err.strip()
            assert len(err.splitlines()) == 1 and words in err, err


@pytest.mark.parametrize("job_name, flags, suffix", [("regression_job", (), ".csv"),
                                                     ("binary_job", ("--probabilities",), ".csv.gz")])
def test_predict_streams_chunks_identical_to_the_whole_table(request, monkeypatch, tmp_path, job_name, flags, suffix):
    job_dir, data = request.getfixturevalue(job_name)
    path = tmp_path / f"rows{suffix}"
    text = data.read_text()
    path.write_bytes(gzip.compress(text.encode()) if suffix.endswith(".gz") else text.encode())
    model = batch.load_best_model(job_dir)
    keys = ALL_KEYS if flags else batch.DEFAULT_KEYS
    whole = batch.encode_csv(batch.prediction_columns(model, read_table(path), keys), header=bool(flags))

    monkeypatch.setattr(batch, "CHUNK_ROWS", 64)  # the 600 rows in ten chunks
    out = tmp_path / "streamed.csv"
    assert main(["predict", str(job_dir), str(path), "--output", str(out), *flags]) == 0
    assert out.read_text() == whole
    assert len(whole.splitlines()) == 600 + bool(flags)
