"""Work in forked child processes, several at once, each killed at its own time limit.

A child shares its parent's memory copy-on-write (the cached feature matrices are never copied or pickled), runs
single-threaded so that children side by side do not fight over the cores, and sends its outcome back through a
pipe. A crash in native code or a kill at the limit costs that piece of work, never the job.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import traceback
import warnings
from multiprocessing.connection import wait

# None where the platform cannot fork: the work then runs in this process, without hard limits
FORK = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None


def error_text(error: BaseException) -> str:
    """The last line of an exception, as a failure reason (at most 500 characters)."""
    return traceback.format_exception_only(type(error), error)[-1].strip()[:500]


class ForkPool:
    """Runs callables in forked children, ``slots`` at once.

    `collect` returns ``(key, ("done", value))``, ``(key, ("error", reason))`` or ``(key, ("limit", None))``
    for a child killed at its limit.
    """

    def __init__(self, slots: int):
        self.slots = slots
        self.running: dict = {}  # receiver -> (key, process, ends)
        self.finished: list = []  # outcomes of work run in this process where fork is unavailable

    def free(self) -> int:
        return self.slots - len(self.running) - len(self.finished)

    def keys(self) -> list:
        return [key for key, *_ in self.running.values()]

    def launch(self, key, function, limit: float | None = None) -> None:
        if FORK is None:
            self.finished.append((key, _outcome(function)))
            return
        receiver, sender = FORK.Pipe(duplex=False)
        process = FORK.Process(target=_child, args=(sender, function), daemon=True)
        process.start()
        sender.close()
        self.running[receiver] = (key, process, time.time() + limit if limit is not None else None)

    def collect(self, timeout: float) -> list:
        """Wait up to ``timeout`` s for children to end; return the outcomes of those that did."""
        ended, self.finished = self.finished, []
        if not self.running:
            if not ended:
                time.sleep(timeout)
            return ended
        now = time.time()
        limits = [ends - now for _, _, ends in self.running.values() if ends is not None]
        for receiver in wait(list(self.running), timeout=max(0.0, min([timeout, *limits]))):
            key, process, _ = self.running.pop(receiver)
            ended.append((key, _receive(receiver, process)))
        now = time.time()
        for receiver, (key, process, ends) in list(self.running.items()):
            if ends is not None and now >= ends:
                process.kill()
                process.join()
                del self.running[receiver]
                ended.append((key, ("limit", None)))
        return ended

    def stop(self) -> None:
        for _, process, _ in self.running.values():
            process.kill()
            process.join()
        self.running.clear()


def _outcome(function) -> tuple:
    try:
        return "done", function()
    except Exception as error:
        return "error", error_text(error)


def _child(sender, function) -> None:
    from threadpoolctl import threadpool_limits

    warnings.simplefilter("ignore")  # convergence chatter of single fits would bury the progress bar
    with threadpool_limits(1):
        try:
            outcome = _outcome(function)
        except BaseException as error:  # report, never hang the parent
            outcome = "error", error_text(error)
    sender.send(outcome)
    sender.close()
    os._exit(0)


def _receive(receiver, process) -> tuple:
    try:
        outcome = receiver.recv()
    except EOFError:
        process.join()
        return "error", f"the training process died (exit code {process.exitcode})"
    process.join()
    return outcome
