"""One virtual environment per peer system, built on demand from bench/requirements/<name>.txt.

The peers cannot share the project's environment: FLAML needs xgboost<3 and pandas<3, AutoGluon pins its own stack
and brings torch, and the project itself runs on pandas 3. Each env lives in bench/envs/<name>/ (git-ignored) and
carries the SHA-256 of the requirement lines it was built from, so that editing a pin rebuilds it on next use.
Standard library only: the harness imports this from the project's environment.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["ENVS", "REQUIREMENTS", "SYSTEM_ENVS", "build", "python_for"]

BENCH = Path(__file__).resolve().parent
REQUIREMENTS = BENCH / "requirements"
ENVS = BENCH / "envs"
STAMP = ".requirements-sha256"
COMMENT = re.compile(r"(^|\s)#.*$")  # pip's rule: '#' at the start of a line or after whitespace

SYSTEM_ENVS: dict[str, str] = {
    "flaml": "flaml",
    "autogluon_medium": "autogluon",
    "autogluon_best": "autogluon",
    "xgboost_untuned": "baselines",
    "lightgbm_untuned": "baselines",
    "seattle_handmade": "baselines",
}


def _requirements(name: str) -> Path:
    path = REQUIREMENTS / f"{name}.txt"
    if not path.is_file():
        raise ValueError(f"no requirements file for env {name!r}: {path}")
    return path


def _digest(path: Path) -> str:
    """SHA-256 of the requirement lines alone: editing a comment (the recorded install time) forces no rebuild."""
    lines = (COMMENT.sub("", line).strip() for line in path.read_text().splitlines())
    return hashlib.sha256("\n".join(line for line in lines if line).encode()).hexdigest()


def _python(env: Path) -> Path:
    return env / "bin" / "python"


def build(name: str) -> Path:
    """Create bench/envs/<name> afresh from its requirements file and return its interpreter.

    An existing env is removed first, so that a dropped or changed pin never leaves a stale package behind. The
    stamp is written last: an install that fails midway leaves no stamp and is rebuilt on the next call.
    """
    requirements = _requirements(name)
    env = ENVS / name
    print(f"bench.envs: building {env} from {requirements} (minutes; pip output follows)", file=sys.stderr, flush=True)
    shutil.rmtree(env, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    subprocess.run([str(_python(env)), "-m", "pip", "install", "--quiet", "-r", str(requirements)], check=True)
    (env / STAMP).write_text(_digest(requirements) + "\n")
    return _python(env)


def python_for(system: str) -> Path:
    """The interpreter of the venv that runs `system`, built first if it is missing or its requirements changed."""
    try:
        name = SYSTEM_ENVS[system]
    except KeyError:
        raise ValueError(f"unknown peer system {system!r}; known: {', '.join(SYSTEM_ENVS)}") from None
    env = ENVS / name
    stamp = env / STAMP
    built = stamp.read_text().strip() if stamp.is_file() else None
    if not _python(env).exists() or built != _digest(_requirements(name)):
        return build(name)
    return _python(env)
