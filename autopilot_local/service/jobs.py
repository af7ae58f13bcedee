"""The service's AutoML jobs: each runs as the engine runs it (`autopilot-local run --request`) in a process of its
own, at most ``max_running`` at once; the others wait as InProgress / Starting.

Every job the service accepts is recorded under the local home (``service/jobs/<name>.json``) before Create
answers, so a restart of the server (or a SIGKILL) loses none: a job that had not started starts, and one whose
process died while it ran resumes (`autopilot-local resume`), keeping its finished trials.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from .. import api, registry
from ..artifacts import arn, iso_time
from ..config import JobConfig
from ..errors import InputError
from ..files import JobFolder, read_json, write_json
from ..forks import alive
from ..job import Job
from ..progress import Reporter
from ..vocabulary import FAILED, IN_PROGRESS, MAX_MESSAGE, STOPPED, TERMINAL_STATUSES
from .protocol import in_use, limit_exceeded, not_found, validation

POLL = 0.5  # seconds between the runner's looks at its processes
DONE = ("ended", "stopped")  # the states of a record whose job no process will run again


class JobRunner:
    """Starts, queues, stops and describes the service's jobs.

    Parameters
    ----------
    endpoint_url : str
        The server's own URL: a job reads and writes ``s3://`` through it.
    max_running : int, default 1
        Jobs that run at once; a laptop is never oversubscribed.
    max_active : int, default 100
        Jobs InProgress at once, running or waiting; another is ResourceLimitExceeded, as a quota makes it.
    """

    def __init__(self, endpoint_url: str, max_running: int = 1, max_active: int = 100):
        self.endpoint_url, self.max_running, self.max_active = endpoint_url, max_running, max_active
        self.folder = registry.home() / "service" / "jobs"
        self.processes: dict[str, subprocess.Popen] = {}
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="job-runner", daemon=True)

    def start(self) -> None:
        """Take up the jobs recorded before (a restart) and start running jobs."""
        self.thread.start()

    def close(self) -> None:
        """Stop starting jobs; the running ones go on and are taken up again by the next server."""
        self.stopped.set()
        self.thread.join()

    # --- the API's calls --------------------------------------------------------------------------------------

    def create(self, request: dict) -> str:
        """Accept a CreateAutoMLJob(V2) request; return the job's ARN. The job starts when a slot is free."""
        name = request["AutoMLJobName"]
        try:
            config = JobConfig.from_request(request)
        except InputError as error:
            raise validation(str(error)) from None
        with self.lock:
            if registry.exists(name) or self._record_path(name).exists():
                raise in_use(f"Job with name {name} already exists")
            active = [n for n in self._recorded() if (self._record(n) or {}).get("state") not in DONE]
            if len(active) >= self.max_active:
                raise limit_exceeded("Maximum number of AutoML jobs in progress", self.max_active, "Jobs")
            write_json(self._record_path(name), {"request": request, "created": time.time(), "state": "queued"})
        return arn("automl-job", config.job_name)

    def folder_of(self, name: str) -> Path | None:
        """The folder of a job the service knows; None while it has none (waiting, or refused before it had one);
        ResourceNotFound for a job it does not know."""
        folder = self._folder(name)
        if folder is None and self._record(name) is None:
            raise not_found(f"Job {name} not found")
        return folder

    def describe(self, name: str, v1: bool = False) -> dict:
        """DescribeAutoMLJob(V2) of a job the service knows, started or not."""
        folder, record = self.folder_of(name), self._record(name)
        document = api.describe_auto_ml_job_v2(folder) if folder is not None else _waiting_document(record)
        if record is not None:  # AWS answers the Create's time and role; the job's process dates itself from when
            # a slot freed (CreationTime would jump as the job starts) and names a role of its own
            document |= {"CreationTime": iso_time(record["created"]), "RoleArn": record["request"]["RoleArn"]}
            if "failure" in record and document["AutoMLJobStatus"] == IN_PROGRESS:  # its process died mid-run
                document |= {"AutoMLJobStatus": FAILED, "AutoMLJobSecondaryStatus": FAILED,
                             "FailureReason": record["failure"][:MAX_MESSAGE], "EndTime": iso_time(record["ended"])}
        return api.v1_from_v2(document) if v1 else document

    def stop(self, name: str) -> None:
        """StopAutoMLJob: a running job writes its best candidate so far and ends Stopped; a waiting one is Stopped."""
        root = self.folder_of(name)
        if root is None:
            with self.lock:
                write_json(self._record_path(name), self._record(name) | {"state": "stopped"})
            return
        folder = JobFolder(root)
        status = self.describe(name)["AutoMLJobStatus"]
        if status in TERMINAL_STATUSES:
            raise validation(f"Job {name} is {status}: it cannot be stopped")
        folder.stop_request.parent.mkdir(parents=True, exist_ok=True)
        folder.stop_request.touch()

    def names(self) -> list[str]:
        """Every job the service knows: the registry's and those not started yet."""
        return sorted(set(registry.names()) | set(self._recorded()))

    # --- running ----------------------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self.stopped.is_set():
            try:
                self._step()
            except Exception as error:  # keep serving; the next look may succeed
                print(f"autopilot-local server: job runner: {error}", file=sys.stderr, flush=True)
            self.stopped.wait(POLL)

    def _step(self) -> None:
        with self.lock:
            for name, process in list(self.processes.items()):
                if process.poll() is not None:
                    del self.processes[name]
                    self._ended(name, process.returncode)
            records = sorted(((self._record(name), name) for name in self._recorded()),
                             key=lambda pair: pair[0]["created"] if pair[0] else 0)
            # a job whose process outlived the server that started it runs on: it holds a slot, and is not started twice
            adopted = {name for record, name in records if record and record["state"] == "running"
                       and name not in self.processes and alive(record.get("pid"))}
            for record, name in records:
                if record is None or name in self.processes or name in adopted or record["state"] in DONE:
                    continue
                if len(self.processes) + len(adopted) >= self.max_running:
                    return
                self._launch(name, record)

    def _launch(self, name: str, record: dict) -> None:
        folder = self._folder(name)
        if folder is not None:  # it ran before the server stopped: continue it, or note that it ended
            if read_json(JobFolder(folder).job_json)["AutoMLJobStatus"] != IN_PROGRESS:
                record["state"] = "ended"
                write_json(self._record_path(name), record)
                return
            command = ["resume", str(folder), "--quiet"]
        else:
            request_file = self.folder / f"{name}.request.json"
            write_json(request_file, record["request"])
            command = ["run", "--request", str(request_file), "--quiet"]
        log = (self.folder / f"{name}.log").open("a", encoding="utf-8")
        environment = os.environ | {"AWS_ENDPOINT_URL": self.endpoint_url}
        self.processes[name] = subprocess.Popen([sys.executable, "-m", "autopilot_local.cli", *command],
                                                stdout=log, stderr=subprocess.STDOUT, env=environment)
        log.close()
        record["state"], record["pid"] = "running", self.processes[name].pid
        write_json(self._record_path(name), record)

    def _ended(self, name: str, code: int) -> None:
        record = self._record(name)
        if record is None:
            return
        record["state"] = "ended"
        folder = self._folder(name)
        # refused before its folder existed, or its process ended (an error, a kill) leaving the job InProgress,
        # which no process would ever end: it failed, and the log's last line says why
        if folder is None or read_json(JobFolder(folder).job_json)["AutoMLJobStatus"] == IN_PROGRESS:
            lines = (self.folder / f"{name}.log").read_text(encoding="utf-8").strip().splitlines()
            record["failure"] = (lines[-1] if lines else f"the job's process exited with code {code}")
            record["failure"] = record["failure"].removeprefix("autopilot-local: error: ")
            record["ended"] = time.time()
        write_json(self._record_path(name), record)

    # --- records ----------------------------------------------------------------------------------------------

    def _record_path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def _record(self, name: str) -> dict | None:
        try:
            return read_json(self._record_path(name))
        except (FileNotFoundError, ValueError):
            return None

    def _recorded(self) -> list[str]:
        if not self.folder.exists():
            return []
        return [p.stem for p in self.folder.glob("*.json") if not p.name.endswith(".request.json")]

    def _folder(self, name: str) -> Path | None:
        try:
            return registry.job_dir(name)
        except InputError:
            return None


def _waiting_document(record: dict) -> dict:
    """DescribeAutoMLJobV2 of a job whose folder does not exist yet (waiting, starting, refused or stopped), as the
    job itself describes it."""
    job = Job(JobConfig.from_request(record["request"]), Reporter())
    job.created = record["created"]
    if "failure" in record:
        job.status, job.secondary_status, job.failure_reason = FAILED, FAILED, record["failure"][:MAX_MESSAGE]
        job.ended = record["ended"]
    elif record["state"] == "stopped":
        job.status, job.secondary_status, job.ended = STOPPED, STOPPED, record["created"]
    return job.describe()
