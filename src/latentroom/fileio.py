"""Atomic writes and output-path checks used by every command that writes files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from latentroom.errors import ConfigError, OutputExistsError


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


def check_outputs(
    paths: list[Path],
    *,
    force: bool,
    inputs: Sequence[str | os.PathLike[str]] = (),
    folders: bool = False,
) -> None:
    """Refuse before any work starts outputs that cannot or should not be written.

    Checked even with ``force``: an output that is a folder where a file goes (``folders``:
    outputs are folders, so a file is refused instead), a path below a regular file, a folder
    that cannot be written, and an output that is one of the ``inputs`` (``--force`` would
    destroy the input before it is read). Without ``force``: an output that exists.

    Raises
    ------
    OutputExistsError
        Naming the first existing path and the ``--force`` fix.
    ConfigError
        Naming the path that cannot be written and why.
    """
    sources = {Path(p).resolve() for p in inputs}
    for path in paths:
        _check_writable(Path(path), folder=folders)
        if Path(path).resolve() in sources:
            raise ConfigError(f"{path} is also an input; write the output to another path")
    if force:
        return
    for path in paths:
        if path.exists():
            raise OutputExistsError(f"{path} already exists; pass --force to overwrite it")


def _check_writable(path: Path, *, folder: bool) -> None:
    """Refuse a path of the wrong kind, below a file, or whose folder cannot be written."""
    if path.is_dir() and not folder:
        raise ConfigError(f"{path} is a folder; give a file name for this output")
    if path.is_file() and folder:
        raise ConfigError(f"{path} is a file; give a folder name for this output")
    parent = path.parent
    while not parent.exists():  # the nearest existing ancestor decides
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{path}: {parent} is a file, not a folder; choose another path")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{path}: cannot write into {parent}; choose a writable folder")


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
    folder.mkdir(parents=True, exist_ok=True)
    with hold_lock(folder / ".lock", what=folder):
        yield folder


@contextlib.contextmanager
def hold_lock(lock: Path, *, what: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on the file ``lock`` (created if missing) for ``what``.

    For outputs a writer may delete and rebuild whole (a zarr store replaced with ``--force``),
    the lock lives beside them: a lock file inside would be deleted while held.

    Raises
    ------
    OutputExistsError
        Another process holds the lock.
    """
    import fcntl

    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise OutputExistsError(
                f"{what} is being written by another latentroom process; "
                "wait for it to finish or choose another output"
            ) from err
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
