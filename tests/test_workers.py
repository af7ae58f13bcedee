"""One job spread over worker processes through Optuna's storage: PostgreSQL, as workers on other machines use it.

`bash .ci/run` installs PostgreSQL with apt, starts a server on 127.0.0.1 for the run and names it in
AUTOPILOT_TEST_POSTGRES; each test gets a fresh database on it. Without that variable the PostgreSQL tests skip.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pandas as pd
import pytest
from conftest import regression_frame
from sqlalchemy.exc import ProgrammingError

from autopilot_local.cli import main

CLI = [sys.executable, "-c", "import sys; from autopilot_local.cli import main; sys.exit(main())"]
SERVER = os.environ.get("AUTOPILOT_TEST_POSTGRES")
TRIALS = 16


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "homes.csv"
    regression_frame(n=600).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def reference(tmp_path_factory, data):
    """The leaderboard of the same job run by one process alone, in its own SQLite storage."""
    output = tmp_path_factory.mktemp("alone")
    assert main(["run", str(data), "--target", "price", "--output", str(output), "--job-name", "same",
                 "--max-candidates", str(TRIALS), "--seed", "5", "--workers", "1", "--quiet"]) == 0
    return pd.read_csv(output / "same" / "leaderboard.csv")


@pytest.fixture
def postgres():
    """A fresh database on the test server; dropped afterwards."""
    if not SERVER:
        pytest.skip("set AUTOPILOT_TEST_POSTGRES to a PostgreSQL server URL (bash .ci/run does)")
    from sqlalchemy import create_engine, text

    name = f"job_{uuid.uuid4().hex[:12]}"
    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield SERVER.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


def _leader(data, output, storage):
    command = CLI + ["run", str(data), "--target", "price", "--output", str(output), "--job-name", "same",
                     "--max-candidates", str(TRIALS), "--seed", "5", "--workers", "1", "--storage", storage, "--quiet"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _worker(storage, *extra):
    command = CLI + ["worker", "same", "--storage", storage, "--wait", "120", *extra]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _finished(process, timeout=300) -> str:
    output = process.communicate(timeout=timeout)[0].decode()
    assert process.returncode == 0, output
    return output


def _trials(storage, study: str) -> list[tuple]:
    """(number, state, user attributes) of a study's trials, read with SQL as any other client would."""
    from sqlalchemy import create_engine, text

    engine = create_engine(storage)
    query = text(
        "SELECT t.number, t.state, a.key, a.value_json FROM trials t JOIN studies s USING (study_id) "
        "LEFT JOIN trial_user_attributes a USING (trial_id) WHERE s.study_name = :study ORDER BY t.number"
    )
    trials: dict = {}
    with engine.connect() as connection:
        for number, state, key, value in connection.execute(query, {"study": study}):
            entry = trials.setdefault(number, (number, state, {}))
            if key is not None:
                entry[2][key] = json.loads(value)
    engine.dispose()
    return list(trials.values())


def _assert_job_done_once_per_trial(output, storage, reference) -> list[tuple]:
    described = json.loads((output / "same" / "job.json").read_text())
    assert (described["AutoMLJobStatus"], described["AutoMLJobSecondaryStatus"]) == ("Completed",
                                                                                     "MaxCandidatesReached")
    told = _trials(storage, "same")
    assert [number for number, *_ in told] == list(range(TRIALS))
    assert all(state == "COMPLETE" for _, state, _ in told)
    queue = _trials(storage, "same:queue")
    handed_in = [attrs["position"] for _, state, attrs in queue if state == "COMPLETE"]
    assert sorted(handed_in) == list(range(TRIALS))  # every trial's result handed in exactly once
    board = pd.read_csv(output / "same" / "leaderboard.csv")
    columns = ["pipeline", "algorithm", "objective_value", "hyperparameters"]
    pd.testing.assert_frame_equal(board[columns], reference[columns])  # as if one process had run it
    return queue


def test_three_workers_share_one_job_through_postgres(tmp_path, data, postgres, reference):
    leader = _leader(data, tmp_path, postgres)
    workers = [_worker(postgres) for _ in range(3)]
    logs = [_finished(worker) for worker in workers]
    _finished(leader)
    queue = _assert_job_done_once_per_trial(tmp_path, postgres, reference)
    by_worker = {}
    for _, state, attrs in queue:
        if state == "COMPLETE":
            by_worker[attrs["worker"]] = by_worker.get(attrs["worker"], 0) + 1
    ran = [int(log.rsplit("this worker ran ", 1)[1].split()[0]) for log in logs]
    assert sum(ran) + by_worker.get(next(w for w in by_worker if w.endswith(f":{leader.pid}")), 0) == TRIALS
    assert sum(count > 0 for count in ran) >= 2  # the work was spread, not left to the job's own process


def test_a_worker_killed_mid_trial_loses_no_trial(tmp_path, data, postgres, reference):
    leader = _leader(data, tmp_path, postgres)
    victim, survivor = _worker(postgres), _worker(postgres)
    deadline = time.time() + 180
    while time.time() < deadline:  # kill the victim while it holds a trial
        try:
            claims = [attrs for _, state, attrs in _trials(postgres, "same:queue") if state == "RUNNING"]
        except ProgrammingError:  # the job has not created Optuna's tables yet
            claims = []
        if any(attrs.get("worker", "").endswith(f":{victim.pid}") for attrs in claims):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the victim worker never claimed a trial")
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    _finished(survivor)
    _finished(leader)
    queue = _assert_job_done_once_per_trial(tmp_path, postgres, reference)
    retired = [attrs for _, state, attrs in queue if state == "FAIL"]
    assert len(retired) == 1 and retired[0]["worker"].endswith(f":{victim.pid}")  # its trial went to another


def test_a_worker_that_builds_other_features_refuses_to_run(tmp_path, data, capsys):
    assert main(["run", str(data), "--target", "price", "--output", str(tmp_path), "--job-name", "done",
                 "--max-candidates", "3", "--quiet"]) == 0
    storage = f"sqlite:///{tmp_path / 'done' / 'tuning' / 'study.db'}"
    other = tmp_path / "other.csv"
    regression_frame(n=600, seed=1).to_csv(other, index=False)
    assert main(["worker", "done", "--storage", storage, "--data", str(other), "--quiet"]) == 2
    assert "differ" in capsys.readouterr().err
    assert main(["worker", "done", "--storage", storage, "--quiet"]) == 0  # same data: the job has ended


def test_a_worker_for_a_job_the_storage_lacks_says_so(tmp_path, capsys):
    storage = f"sqlite:///{tmp_path / 'empty.db'}"
    assert main(["worker", "nothing", "--storage", storage, "--wait", "1"]) == 2
    error = capsys.readouterr().err
    assert "no job named 'nothing'" in error and "Traceback" not in error


def test_a_storage_password_is_never_printed_or_kept(capsys):
    from autopilot_local.tuning import shown_url

    url = "postgresql+psycopg2://me:s3cret@127.0.0.1:1/optuna?sslmode=require"
    assert shown_url(url) == "postgresql+psycopg2://me@127.0.0.1:1/optuna?sslmode=require"
    assert main(["worker", "job", "--storage", url, "--wait", "1"]) == 2  # nothing listens on port 1
    error = capsys.readouterr().err
    assert "cannot open storage postgresql+psycopg2://me@127.0.0.1:1/optuna" in error and "s3cret" not in error
