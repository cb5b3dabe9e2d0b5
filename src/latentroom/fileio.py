"""Atomic writes and output-path checks used by every command that writes files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from latentroom.errors import OutputExistsError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary file keeps the target's suffix so libraries that pick a format from the name
    (soundfile, matplotlib) still do. On any exception the temporary file is removed and the
    target is left as it was.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}", dir=target.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        tmp.chmod(_new_file_mode())  # mkstemp makes 0o600 files; give the usual permissions
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _new_file_mode() -> int:
    """The mode ``open()`` gives a new file under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def check_outputs(paths: list[Path], *, force: bool) -> None:
    """Refuse before any work starts if an output exists and ``force`` is not set.

    Raises
    ------
    OutputExistsError
        Naming the first existing path and the ``--force`` fix.
    """
    if force:
        return
    for path in paths:
        if path.exists():
            raise OutputExistsError(f"{path} already exists; pass --force to overwrite it")


@contextlib.contextmanager
def locked_dir(folder: Path) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder/.lock`` while the block runs (created if missing).

    Two writers of one folder at once would interleave their files; the second one is refused
    at once rather than made to wait. The lock file stays behind: unlinking it on exit would
    let a third writer lock a fresh file while the second still holds the old one.

    Raises
    ------
    OutputExistsError
        Another process holds the lock.
    """
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise OutputExistsError(
                f"{folder} is being written by another latentroom process; "
                "wait for it to finish or choose another output folder"
            ) from err
        try:
            yield folder
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
