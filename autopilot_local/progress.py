"""Progress of a running job: a rich progress bar with candidates done, best objective so far and time left."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Reporter:
    """Silent: the base every reporter extends, and what ``--quiet`` uses."""

    def stage(self, secondary_status: str) -> None:
        """The job entered stage ``secondary_status`` (its AutoMLJobSecondaryStatus)."""

    def start_tuning(self, total: int, deadline: float | None, metric: str) -> None:
        """Model training began: ``total`` candidates at most, until ``deadline`` (``time.time()``; None: no
        limit), scored by objective ``metric``."""

    def trial(self, result, best) -> None:
        """A trial was told to the study; ``best`` is the best `TrialResult` so far (or None)."""

    def finish_tuning(self) -> None:
        """Model training ended."""


class RichReporter(Reporter):
    """Prints each stage with the time of day, and training as a progress bar with the best objective so far
    and the time left."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.progress = None

    def stage(self, secondary_status: str) -> None:
        """Print the stage with the time of day."""
        self.console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {secondary_status}")

    def start_tuning(self, total: int, deadline: float | None, metric: str) -> None:
        """Start the progress bar."""
        self.metric, self.deadline = metric, deadline
        self.progress = Progress(
            TextColumn("candidates"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[best]}"),
            TimeElapsedColumn(), TextColumn("{task.fields[left]}"), console=self.console, transient=False,
        )
        self.task = self.progress.add_task("tuning", total=total, best="", left=self._left())
        self.progress.start()

    def trial(self, result, best) -> None:
        """Advance the bar; show the best objective so far and the time left."""
        text = f"best {self.metric} {best.objective:.5g}" if best is not None else ""
        self.progress.update(self.task, advance=1, best=text, left=self._left())

    def finish_tuning(self) -> None:
        """Stop the progress bar."""
        if self.progress:
            self.progress.stop()

    def _left(self) -> str:
        if self.deadline is None:
            return ""
        return f"{max(0, self.deadline - time.time()):.0f} s left"
