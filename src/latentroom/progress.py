"""A progress bar for long jobs (rich, on stderr), handed to library code as a plain callback."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

#: Library functions that run long take ``progress: Progress | None`` and call it with the
#: number of units just finished; they never draw anything themselves.
Progress = Callable[[int], None]


@contextlib.contextmanager
def progress_bar(
    total: int | None, description: str, *, enabled: bool = True
) -> Iterator[Progress]:
    """Show a rich progress bar on stderr while the block runs; yield the advance callback.

    Parameters
    ----------
    total : int or None
        Units of work (None: unknown, the bar pulses).
    description : str
        Text to the left of the bar.
    enabled : bool
        False yields a callback that does nothing (``--quiet``, tests).
    """
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import (
        Progress as RichProgress,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with RichProgress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
