"""A server the caller starts and stops: `autopilot-local server` in a process of its own, for a notebook, a script
or a test that runs the real SageMaker SDK or boto3 against it. Only the standard library is imported here, so a
python that has the SDK but not this project's dependencies can start a server from another python.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from ..errors import InputError

_LISTENING = re.compile(r"AWS_ENDPOINT_URL=(http://\S+)")
# the region the clients name: the SDKs look up images and settings by region, so it must be one of AWS's
CLIENT_REGION = "us-east-1"


class LocalService:
    """`autopilot-local server`, started now in a process of its own; as a context manager it also points this
    process's AWS clients at it (``AWS_ENDPOINT_URL`` and placeholder credentials) until the block ends.

    Parameters
    ----------
    home : str or Path, optional
        The server's ``AUTOPILOT_LOCAL_HOME`` (its jobs, models, endpoints and S3 buckets); by default this
        process's.
    port : int, default 0
        The port; 0 picks a free one.
    max_concurrent_jobs : int, default 1
        AutoML jobs that run at once.
    max_active_jobs, max_endpoints : int, default 100 and 10
        The quotas past which CreateAutoMLJob and CreateEndpoint are ResourceLimitExceeded.
    python : str, optional
        The python that runs the server (one with autopilot-local's ``server`` extra); by default this one.

    Attributes
    ----------
    url : str
        ``http://127.0.0.1:<port>``, what ``AWS_ENDPOINT_URL`` is set to.
    log : Path
        The server's log (``<home>/service/server.log``).

    Examples
    --------
    >>> with LocalService() as service:                      # doctest: +SKIP
    ...     import sagemaker
    ...     session = sagemaker.Session(default_bucket="my-bucket")
    """

    def __init__(self, home: str | Path | None = None, port: int = 0, max_concurrent_jobs: int = 1,
                 python: str | None = None, max_active_jobs: int = 100, max_endpoints: int = 10):
        self.home = Path(home or os.environ.get("AUTOPILOT_LOCAL_HOME") or Path.home() / ".autopilot-local")
        self.log = self.home / "service" / "server.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [python or sys.executable, "-m", "autopilot_local.cli", "server", "--port", str(port),
                   "--max-concurrent-jobs", str(max_concurrent_jobs), "--max-active-jobs", str(max_active_jobs),
                   "--max-endpoints", str(max_endpoints)]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                        env=os.environ | {"AUTOPILOT_LOCAL_HOME": str(self.home)})
        said = []  # what the server printed before it listened (warnings, say), or instead of listening
        while (line := self.process.stderr.readline()) and not (listening := _LISTENING.search(line)):
            said.append(line)
        if not line:
            self.process.wait(timeout=30)
            raise InputError(f"autopilot-local server did not start: {''.join(said).strip()}")
        self.log.write_text("".join(said + [line]), encoding="utf-8")
        self.url = listening.group(1)
        self._copier = threading.Thread(target=self._copy_log, daemon=True)  # a full pipe would stop the server
        self._copier.start()
        self._saved: dict[str, str | None] = {}

    @property
    def environment(self) -> dict[str, str]:
        """What points botocore (boto3, the SageMaker SDKs) at the server: its URL, a region, any credentials."""
        return {"AWS_ENDPOINT_URL": self.url, "AWS_DEFAULT_REGION": CLIENT_REGION, "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local", "AWS_EC2_METADATA_DISABLED": "true"}

    def client(self, service: str, **options):
        """A boto3 client of ``service`` ("sagemaker", "sagemaker-runtime", "s3", "sts") on the server."""
        import boto3

        settings = self.environment
        return boto3.client(service, endpoint_url=self.url, region_name=CLIENT_REGION,
                            aws_access_key_id=settings["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=settings["AWS_SECRET_ACCESS_KEY"], **options)

    def stop(self) -> None:
        """End the server as Ctrl-C does (running jobs go on, and the next server in this home takes them up)."""
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)
        self._copier.join(timeout=10)

    def kill(self) -> None:
        """End the server at once, as a crash would (SIGKILL): what it kept on disk is all that survives."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._copier.join(timeout=10)

    def __enter__(self) -> LocalService:
        self._saved = {name: os.environ.get(name) for name in self.environment}
        os.environ.update(self.environment)
        return self

    def __exit__(self, *_) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.stop()

    def _copy_log(self) -> None:
        with self.log.open("a", encoding="utf-8") as log:
            for line in self.process.stderr:
                log.write(line)
                log.flush()
