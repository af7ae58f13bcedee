"""Every bad input the engine knows ends with one clear line, exit code 2 and no job folder."""

from __future__ import annotations

import gzip
import subprocess
import sys

import pandas as pd
import pytest
from conftest import classification_frame, regression_frame

from autopilot_local.cli import main


def _run(capsys, *args) -> tuple[int, str]:
    code = main(["run", *map(str, args), "--quiet"])
    return code, capsys.readouterr().err


def _assert_clean_failure(code: int, err: str, output, *words) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for word in words:
        assert word.lower() in lines[0].lower(), (word, lines[0])
    assert not any(p.is_dir() and not p.name.startswith(".") for p in output.glob("*")) if output.exists() else True


def _write(tmp_path, name: str, frame: pd.DataFrame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_missing_file(tmp_path, capsys):
    code, err = _run(capsys, tmp_path / "nope.csv", "--target", "y", "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "nope.csv", "does not exist")


def test_unreadable_file(tmp_path, capsys):
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(gzip.compress(b"a,b\n1,2\n")[:15])
    code, err = _run(capsys, path, "--target", "a", "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "broken.csv.gz", "cannot read")


def test_empty_file(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    code, err = _run(capsys, path, "--target", "y", "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "empty.csv", "empty")


def test_header_only(tmp_path, capsys):
    path = tmp_path / "header.csv"
    path.write_text("a,b,y\n")
    code, err = _run(capsys, path, "--target", "y", "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "header.csv", "no data rows")


def test_target_absent(tmp_path, capsys, regression_csv):
    code, err = _run(capsys, regression_csv, "--target", "prize", "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "'prize'", "not in")


def test_target_all_missing(tmp_path, capsys):
    frame = regression_frame().assign(price=float("nan"))
    code, err = _run(capsys, _write(tmp_path, "t.csv", frame), "--target", "price", "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "price")


def test_single_class(tmp_path, capsys):
    frame = classification_frame().assign(label="yes")
    code, err = _run(capsys, _write(tmp_path, "t.csv", frame), "--target", "label", "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "label")


def test_constant_target(tmp_path, capsys):
    frame = regression_frame().assign(price=250.0)
    code, err = _run(capsys, _write(tmp_path, "t.csv", frame), "--target", "price", "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "price")


def test_too_few_rows(tmp_path, capsys):
    path = _write(tmp_path, "small.csv", regression_frame(n=200))
    code, err = _run(capsys, path, "--target", "price", "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "200 rows", "500", "--allow-small")


def test_duplicate_column_names(tmp_path, capsys):
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a,y\n" + "".join(f"{i},{i},{i},{i}\n" for i in range(600)))
    code, err = _run(capsys, path, "--target", "y", "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "duplicate column", "'a'")


def test_objective_does_not_fit_problem_type(tmp_path, capsys, regression_csv):
    code, err = _run(capsys, regression_csv, "--target", "price", "--objective", "Accuracy",
                     "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "Accuracy", "Regression")


def test_unknown_objective(tmp_path, capsys, regression_csv):
    code, err = _run(capsys, regression_csv, "--target", "price", "--objective", "Precision@5",
                     "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", "Precision@5")


def test_finished_job_folder_is_not_overwritten(tmp_path, capsys, regression_csv):
    args = [regression_csv, "--target", "price", "--output", tmp_path / "jobs", "--job-name", "again",
            "--max-candidates", "1", "--algorithms", "linear-learner"]
    assert _run(capsys, *args)[0] == 0
    before = (tmp_path / "jobs" / "again" / "job.json").read_text()
    code, err = _run(capsys, *args)
    assert code == 2 and "already holds a job (status Completed)" in err
    assert (tmp_path / "jobs" / "again" / "job.json").read_text() == before


@pytest.mark.parametrize("flag, value, words", [
    ("--job-name", "bad_name!", ["bad_name!"]),
    ("--validation-fraction", "1.5", ["validation fraction", "1.5"]),
    ("--max-candidates", "0", ["MaxCandidates"]),
    ("--algorithms", "xgboost,catboost", ["catboost"]),
])
def test_bad_settings(tmp_path, capsys, regression_csv, flag, value, words):
    code, err = _run(capsys, regression_csv, "--target", "price", flag, value, "--output", tmp_path / "jobs")
    _assert_clean_failure(code, err, tmp_path / "jobs", *words)


def test_the_installed_command_exits_2_without_a_traceback(tmp_path):
    process = subprocess.run(
        [sys.executable, "-m", "autopilot_local.cli", "run", str(tmp_path / "none.csv"), "--target", "y",
         "--output", str(tmp_path / "jobs")],
        capture_output=True, text=True,
    )
    assert process.returncode == 2
    assert process.stderr.count("\n") == 1 and "Traceback" not in process.stderr
    assert not (tmp_path / "jobs").exists()
