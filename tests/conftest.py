"""Shared fixtures: paths to the real data under ../shared, and small tables written per test."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
AIRBNB = SHARED / "data" / "airbnb"


@pytest.fixture(scope="session")
def airbnb() -> Path:
    if not AIRBNB.exists():
        pytest.skip("../shared/data/airbnb is not beside the project")
    return AIRBNB


def regression_frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    """A small table with every column type and a known signal: numeric, money strings, categories, dates, text."""
    rng = np.random.default_rng(seed)
    size = rng.uniform(20, 200, n)
    rooms = rng.integers(1, 6, n)
    district = rng.choice(["north", "south", "east", "west"], n)
    opened = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D")
    words = np.array(["quiet", "bright", "view", "garden", "metro", "renovated", "cosy", "large"])
    text = [" ".join(rng.choice(words, 6)) for _ in range(n)]
    price = 3 * size + 40 * rooms + np.where(district == "north", 150, 0) + rng.normal(0, 10, n)
    frame = pd.DataFrame({
        "listing_id": np.arange(100000, 100000 + n),
        "size": size,
        "rooms": rooms,
        "deposit": [f"${v:,.2f}" for v in rng.uniform(100, 2000, n)],
        "district": district,
        "opened": opened.strftime("%Y-%m-%d"),
        "summary": text,
        "price": price,
    })
    frame.loc[rng.choice(n, 30, replace=False), "size"] = np.nan
    return frame


def classification_frame(n: int = 600, seed: int = 0, classes=("no", "yes")) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], n)
    score = x1 + 0.5 * x2 + (colour == "red") + rng.normal(0, 0.3, n)
    edges = np.quantile(score, np.linspace(0, 1, len(classes) + 1)[1:-1])
    label = np.array(classes)[np.digitize(score, edges)]
    return pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, "label": label})


@pytest.fixture
def regression_csv(tmp_path) -> Path:
    path = tmp_path / "homes.csv"
    regression_frame().to_csv(path, index=False)
    return path


@pytest.fixture
def binary_csv(tmp_path) -> Path:
    path = tmp_path / "churn.csv"
    classification_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="session", autouse=True)
def local_home(tmp_path_factory):
    """The job registry, S3 cache and staging of this test session, not the user's ~/.autopilot-local."""
    import os

    home = tmp_path_factory.mktemp("autopilot-local-home")
    previous = os.environ.get("AUTOPILOT_LOCAL_HOME")
    os.environ["AUTOPILOT_LOCAL_HOME"] = str(home)
    yield home
    if previous is None:
        os.environ.pop("AUTOPILOT_LOCAL_HOME", None)
    else:
        os.environ["AUTOPILOT_LOCAL_HOME"] = previous


@pytest.fixture
def fake_aws(monkeypatch):
    """Credentials that reach nothing real, and no EC2 metadata lookups."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_EC2_METADATA_DISABLED", "true")):
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="session")
def moto_server():
    """A moto S3 server on 127.0.0.1 in a process of its own: the code under test speaks real HTTP to it."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait()
