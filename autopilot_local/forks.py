"""The one runner of work in forked child processes: trials, dpp transforms and ENSEMBLING's base models.

A child shares its parent's memory copy-on-write, so the data a piece of work reads is passed to it as plain
arguments and never pickled or copied; only its result comes back, through a pipe. Children run single-threaded so
that several side by side do not fight over the cores, and each may be killed at its own time limit. A crash in
native code or a kill costs that piece of work, never the job.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
import warnings
from dataclasses import dataclass
from multiprocessing.connection import wait

# None where the platform cannot fork: the work then runs in this process, without hard limits
FORK = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None


def alive(pid: int | None) -> bool:
    """Whether the process ``pid`` on this machine still runs (a zombie, which only waits for its parent to read
    its exit, does not)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return not stat.read().rsplit(") ", 1)[-1].startswith("Z")
    except OSError:  # no /proc here: the signal's answer stands
        return True


def error_text(error: BaseException) -> str:
    """The last line of an exception, as a failure reason (at most 500 characters)."""
    return traceback.format_exception_only(type(error), error)[-1].strip()[:500]


@dataclass
class Finished:
    """How one piece of work ended.

    ``value`` is what its function returned; ``error`` says why there is none (the exception's last line, or how
    the child died); ``timed_out`` marks work killed at its time limit.
    """

    key: object
    started: float
    ended: float
    value: object = None
    error: str = ""
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        """Whether the work returned, neither failing nor timing out."""
        return not self.error and not self.timed_out


@dataclass
class _Running:
    key: object
    process: object
    started: float
    ends: float | None  # when it is killed; None: no limit


class ForkPool:
    """Runs ``function(*args)`` calls in forked children, ``slots`` at once.

    Parameters
    ----------
    slots : int
        How many children run at once.
    fork : bool, default True
        False runs each call in this process when it is launched (no time limits): for one piece of work at a
        time, where a child would only add its start-up.
    """

    def __init__(self, slots: int, fork: bool = True):
        self.slots = slots
        self.fork = fork and FORK is not None
        self.running: dict = {}  # receiver -> _Running
        self.finished: list[Finished] = []  # ends of work run in this process, not yet collected

    def free(self) -> int:
        """Slots free for `launch`."""
        return self.slots - len(self.running) - len(self.finished)

    def keys(self) -> list:
        """The keys of the work running now."""
        return [running.key for running in self.running.values()]

    def launch(self, key, function, *args, limit: float | None = None) -> None:
        """Start ``function(*args)``; its `Finished` will carry ``key``. ``limit``: seconds before it is killed."""
        started = time.time()
        if not self.fork:
            value, error = _call(function, args)
            self.finished.append(Finished(key, started, time.time(), value, error))
            return
        receiver, sender = FORK.Pipe(duplex=False)
        process = FORK.Process(target=_child, args=(sender, function, args), daemon=True)
        process.start()
        sender.close()
        self.running[receiver] = _Running(key, process, started, started + limit if limit is not None else None)

    def collect(self, timeout: float) -> list[Finished]:
        """Wait up to ``timeout`` s for work to end; return how the work that ended did, killing work past its
        limit."""
        ended, self.finished = self.finished, []
        if not self.running:
            if not ended:
                time.sleep(timeout)
            return ended
        now = time.time()
        limits = [r.ends - now for r in self.running.values() if r.ends is not None]
        for receiver in wait(list(self.running), timeout=max(0.0, min([timeout, *limits]))):
            running = self.running.pop(receiver)
            value, error = _receive(receiver, running.process)
            ended.append(Finished(running.key, running.started, time.time(), value, error))
        now = time.time()
        for receiver, running in list(self.running.items()):
            if running.ends is not None and now >= running.ends:
                running.process.kill()
                running.process.join()
                del self.running[receiver]
                ended.append(Finished(running.key, running.started, now, timed_out=True))
        return ended

    def map(self, function, items: list, *shared) -> list[Finished]:
        """``function(item, *shared)`` for every item, ``slots`` at a time; how each ended (keyed by its item), in
        the items' order."""
        pending, ended = list(enumerate(items)), []
        try:
            while pending or self.running or self.finished:
                while pending and self.free() > 0:
                    position, item = pending.pop(0)
                    self.launch(position, function, item, *shared)
                ended.extend(self.collect(timeout=1.0))
        finally:
            self.stop()
        ended.sort(key=lambda finished: finished.key)
        for finished in ended:
            finished.key = items[finished.key]
        return ended

    def stop(self) -> None:
        """Kill every child still running; their work is lost."""
        for running in self.running.values():
            running.process.kill()
            running.process.join()
        self.running.clear()


def _call(function, args) -> tuple:
    try:
        return function(*args), ""
    except Exception as error:
        return None, error_text(error)


def _child(sender, function, args) -> None:
    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")  # convergence chatter of single fits would bury the progress bar
    with threadpool_limits(1):
        try:
            outcome = _call(function, args)
        except BaseException as error:  # report, never hang the parent
            outcome = None, error_text(error)
    sender.send(outcome)
    sender.close()
    os._exit(0)


def _receive(receiver, process) -> tuple:
    try:
        outcome = receiver.recv()
    except EOFError:
        process.join()
        return None, f"the training process died (exit code {process.exitcode})"
    process.join()
    return outcome
