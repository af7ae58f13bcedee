"""Crash safety: a job killed with SIGKILL mid-tuning resumes to the end, keeping every trial it had finished."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import regression_frame

from autopilot_local.cli import main

CLI = [sys.executable, "-c", "import sys; from autopilot_local.cli import main; sys.exit(main())"]
pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs POSIX process groups")


def _told(db) -> dict:
    """Trial number -> (state, value) of the trials the job's study holds (its queue is a study beside it)."""
    with sqlite3.connect(db) as connection:
        try:
            rows = connection.execute(
                "SELECT number, state, value FROM trials JOIN studies USING (study_id) "
                "LEFT JOIN trial_values USING (trial_id) WHERE study_name = ?", (db.parent.parent.name,)
            ).fetchall()
        except sqlite3.OperationalError:  # the job has created the file, not yet Optuna's tables
            return {}
        return {number: (state, value) for number, state, value in rows}


def _start(data, output, name, *extra):
    command = CLI + ["run", str(data), "--target", "price", "--output", str(output), "--job-name", name,
                     "--max-candidates", "24", "--seed", "3", "--quiet", *extra]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "homes.csv"
    regression_frame(n=600).to_csv(path, index=False)
    return path


def test_a_killed_job_resumes_keeping_its_finished_trials_and_ends_as_an_unbroken_run(tmp_path, data):
    process = _start(data, tmp_path, "killed")
    db = tmp_path / "killed" / "tuning" / "study.db"
    deadline = time.time() + 120
    while time.time() < deadline:
        if db.exists() and sum(s == "COMPLETE" for s, _ in _told(db).values()) >= 8:
            break
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)  # the job and every trial it had forked
    process.wait()
    before = {n: v for n, (s, v) in _told(db).items() if s == "COMPLETE"}
    assert 8 <= len(before) < 24
    assert json.loads((tmp_path / "killed" / "job.json").read_text())["AutoMLJobStatus"] == "InProgress"

    assert main(["resume", str(tmp_path / "killed"), "--quiet"]) == 0
    described = json.loads((tmp_path / "killed" / "job.json").read_text())
    assert described["AutoMLJobStatus"] == "Completed"
    assert described["AutoMLJobSecondaryStatus"] == "MaxCandidatesReached"
    after = _told(db)
    assert len(after) == 24 and all(state == "COMPLETE" for state, _ in after.values()), after
    assert {n: after[n][1] for n in before} == before  # finished before the kill: kept, unchanged

    unbroken = _start(data, tmp_path, "unbroken")
    assert unbroken.wait(timeout=300) == 0, unbroken.stdout.read().decode()
    boards = [pd.read_csv(tmp_path / name / "leaderboard.csv") for name in ("killed", "unbroken")]
    columns = ["pipeline", "algorithm", "objective_value", "hyperparameters"]
    pd.testing.assert_frame_equal(boards[0][columns], boards[1][columns])


def test_stop_ends_a_running_job_with_its_best_candidate(tmp_path, data):
    process = _start(data, tmp_path, "stopped", "--max-candidates", "250")
    db = tmp_path / "stopped" / "tuning" / "study.db"
    deadline = time.time() + 120
    while time.time() < deadline and not (db.exists() and any(s == "COMPLETE" for s, _ in _told(db).values())):
        time.sleep(0.2)
    assert main(["stop", str(tmp_path / "stopped"), "--wait", "60"]) == 0
    assert process.wait(timeout=60) == 0
    described = json.loads((tmp_path / "stopped" / "job.json").read_text())
    assert described["AutoMLJobStatus"] == "Stopped"
    assert described["BestCandidate"]["CandidateName"].startswith("stopped-")
    assert main(["stop", str(tmp_path / "stopped")]) == 2  # a stopped job has nothing left to stop
