"""The job's work queue: trials the tuner has asked, waiting for any worker on any machine to run them.

The queue is an Optuna study of its own beside the job's study, in the same storage (SQLite in the job folder, or a
shared PostgreSQL), so a worker needs nothing but the storage URL and the job's name. An entry is a WAITING trial
whose user attributes say which trial of the job's study to run. A worker claims an entry by moving it to RUNNING,
a step Optuna's storages make atomic (it is how they hand out enqueued trials), keeps it alive with a heartbeat
and completes it with the trial's result. Only the job's own process asks and tells the job's study, so the search
is the same whoever runs its trials.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

import optuna
from optuna.exceptions import UpdateFinishedTrialError
from optuna.trial import TrialState
from sqlalchemy.exc import IntegrityError, ProgrammingError

from ..errors import InputError
from ..forks import alive
from ..vocabulary import IN_PROGRESS, TERMINAL_STATUSES

SUFFIX = ":queue"  # job names are letters, digits and hyphens: no job study can take this name
BEAT = 5.0  # seconds between the heartbeats of a claimed entry
LEASE = 60.0  # an entry claimed and not heard of for this long is handed to another worker
POLL = 0.25  # seconds between looks at the storage while trials run elsewhere (a trial takes a second or more)
ACTIVE, FINAL = IN_PROGRESS, TERMINAL_STATUSES  # the job's state, as its queue tells workers


@dataclass
class Entry:
    """One claimed trial: its position in the job's study and what to run."""

    trial_id: int
    position: int
    candidate: str
    params: dict
    deadline: float | None  # time.time() after which it may not run (the job's MaxAutoMLJobRuntimeInSeconds)


def open_storage(url: str, tries: int = 5) -> optuna.storages.BaseStorage:
    """The RDB storage at ``url``; `InputError` naming it (without its password) if it cannot be opened.

    Processes that start together on a fresh database race to create Optuna's tables and all but one fail: those
    try again, by when the tables are there.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for attempt in range(tries):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=_engine_options(url))
        except (IntegrityError, ProgrammingError):  # "duplicate key", "relation already exists"
            if attempt == tries - 1:
                raise
            time.sleep(0.5 + attempt)
        except Exception as error:  # the drivers' own exception types vary: name the URL and the driver's words
            raise InputError(f"cannot open storage {shown_url(url)}: {str(error).strip().splitlines()[0]}") from None


def shown_url(url: str | None) -> str | None:
    """A storage URL without its password, to print and to keep in the job folder."""
    if url is None:
        return None
    from sqlalchemy.engine import URL, make_url

    try:
        parsed = make_url(url)
    except Exception:  # not a URL SQLAlchemy parses: the config check refuses it, show it as given
        return url
    without = URL.create(parsed.drivername, parsed.username, None, parsed.host, parsed.port, parsed.database,
                         parsed.query)  # URL.set(password=None) would keep it: None there means "unchanged"
    return without.render_as_string(hide_password=False)


def _engine_options(url: str) -> dict:
    # Postgres drops idle connections behind NAT and proxies; a pinged pool survives a worker's long trial.
    return {} if url.startswith("sqlite") else {"pool_pre_ping": True}


def this_worker() -> str:
    """Who claims an entry: host and process, so the leader can tell a dead claimant on its own host at once."""
    return f"{socket.gethostname()}:{os.getpid()}"


class TrialQueue:
    """The queue of the job named ``job_name`` in ``storage``: the job's facts for its workers (its request, its
    state, its matrices' signatures) and the trials waiting for a worker, claimed, or handed back.

    Parameters
    ----------
    storage : optuna.storages.BaseStorage
        The job's storage (SQLite in the job folder, or a shared database).
    job_name : str
        The job's AutoMLJobName; the queue is the study named after it with ``":queue"`` added.
    """

    def __init__(self, storage: optuna.storages.BaseStorage, job_name: str):
        self.storage = storage
        self.study = optuna.load_study(storage=storage, study_name=job_name + SUFFIX)

    @classmethod
    def create(cls, storage, job_name: str, info: dict) -> TrialQueue:
        """A new queue whose study attributes hold ``info``: what a worker needs to rebuild the job."""
        optuna.create_study(storage=storage, study_name=job_name + SUFFIX)
        queue = cls(storage, job_name)
        queue.update(**info, state=ACTIVE)  # the state last: a worker reads the job once it has one
        return queue

    @classmethod
    def exists(cls, storage, job_name: str) -> bool:
        """Whether ``storage`` holds a queue for a job of this name."""
        try:
            storage.get_study_id_from_name(job_name + SUFFIX)
        except KeyError:
            return False
        return True

    # --- the job's facts ----------------------------------------------------------------------------------------

    def info(self) -> dict:
        """The job's facts, as `create` and `update` wrote them."""
        return self.storage.get_study_user_attrs(self.study._study_id)

    def update(self, **info) -> None:
        """Write facts of the job (its state, its candidates' signatures, the leader's heartbeat)."""
        for key, value in info.items():
            self.study.set_user_attr(key, value)

    # --- the leader's side ------------------------------------------------------------------------------------

    def publish(self, position: int, candidate: str, params: dict, deadline: float | None) -> None:
        """Queue trial ``position`` of the job's study for any worker to claim."""
        entry = {"position": position, "candidate": candidate, "params": params, "deadline": deadline}
        self.study.enqueue_trial({}, user_attrs=entry, skip_if_exists=False)

    def entries(self) -> list[optuna.trial.FrozenTrial]:
        """Every entry, in any state."""
        return self.storage.get_all_trials(self.study._study_id, deepcopy=False)

    def retire(self, entry: optuna.trial.FrozenTrial) -> bool:
        """Take a stale claim away; False if its worker completed it meanwhile (its result then stands)."""
        try:
            self.storage.set_trial_state_values(entry._trial_id, TrialState.FAIL)
        except UpdateFinishedTrialError:
            return False
        return True

    @staticmethod
    def is_stale(entry: optuna.trial.FrozenTrial, now: float) -> bool:
        """A claim whose worker is gone: a dead process on this host, or no heartbeat for LEASE seconds."""
        if entry.state != TrialState.RUNNING:
            return False
        host, _, pid = entry.user_attrs.get("worker", ":").rpartition(":")
        if host == socket.gethostname() and pid.isdigit() and not alive(int(pid)):
            return True
        beat = entry.user_attrs.get("beat") or entry.datetime_start.timestamp()
        return now - beat > LEASE

    # --- a worker's side --------------------------------------------------------------------------------------

    def claim(self, worker: str) -> Entry | None:
        """The first waiting entry, now this worker's; None when there is none."""
        for frozen in self.storage.get_all_trials(self.study._study_id, deepcopy=False, states=(TrialState.WAITING,)):
            try:
                if not self.storage.set_trial_state_values(frozen._trial_id, TrialState.RUNNING):
                    continue  # another worker was first
                self.storage.set_trial_user_attr(frozen._trial_id, "worker", worker)
                self.storage.set_trial_user_attr(frozen._trial_id, "beat", time.time())
            except UpdateFinishedTrialError:
                continue
            attrs = frozen.user_attrs
            return Entry(frozen._trial_id, attrs["position"], attrs["candidate"], attrs["params"], attrs["deadline"])
        return None

    def beat(self, entries) -> None:
        """Say that this worker still runs ``entries``."""
        for entry in entries:
            try:
                self.storage.set_trial_user_attr(entry.trial_id, "beat", time.time())
            except UpdateFinishedTrialError:
                pass  # taken away as stale: its result will be ignored

    def complete(self, entry: Entry, result: dict) -> bool:
        """Hand in a trial's result; False if the entry was taken away meanwhile."""
        try:
            self.storage.set_trial_user_attr(entry.trial_id, "result", result)
            # an entry's own value means nothing; COMPLETE marks the result as there
            self.storage.set_trial_state_values(entry.trial_id, TrialState.COMPLETE, values=[0.0])
        except UpdateFinishedTrialError:
            return False
        return True
