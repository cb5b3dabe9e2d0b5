"""The output folder of ``corpus build``: its lock-protected state, journal and replacement rules.

``DIR/.build/settings.json`` holds what a resumed build must match; ``DIR/.build/journal.jsonl``
one line per finished source file; ``DIR/corpus.json`` (written last) marks a finished corpus.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from latentroom.errors import ConfigError, OutputExistsError

KIND = "latentroom-built-corpus"
MANIFEST = "corpus.json"
STATE = ".build"  # journal, settings and MIDI renders of an unfinished build
JOURNAL = "journal.jsonl"


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Finished files' records; a line torn by a kill (and anything after it) is dropped."""
    records: list[dict[str, Any]] = []
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            break
    return records


def append_journal(path: Path, record: dict[str, Any]) -> None:
    """Append one record and flush it to disk before the next file starts."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def prepare_output(out_dir: Path, wanted: dict[str, Any], *, force: bool) -> None:
    """Make ``out_dir`` ready to (re)start: empty, resumable, or replaced with ``force``.

    Called with the folder locked. Stale temporary clip files from a kill are removed.

    Raises
    ------
    OutputExistsError
        A finished corpus without ``force``, or a folder that is no corpus at all.
    ConfigError
        An unfinished build with other settings (without ``force``).
    """
    from latentroom.fileio import write_text_atomic

    state = out_dir / STATE
    entries = [p for p in out_dir.iterdir() if p.name != ".lock"]
    if (out_dir / MANIFEST).exists() or (entries and not state.is_dir()):
        check_replaceable(out_dir)
        if not force:
            raise OutputExistsError(f"{out_dir} already exists; pass --force to overwrite it")
        clear(out_dir)
    elif state.is_dir():
        try:
            old = json.loads((state / "settings.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = None
        if old != wanted:
            if not force:
                raise ConfigError(
                    f"{out_dir} holds an unfinished build with other settings; rerun it with "
                    "the same sources and options to resume, or pass --force to start over"
                )
            clear(out_dir)
    for stale in out_dir.rglob(".*.tmp*"):
        stale.unlink()
    state.mkdir(exist_ok=True)
    write_text_atomic(state / "settings.json", json.dumps(wanted, indent=2, sort_keys=True) + "\n")


def clear(out_dir: Path) -> None:
    """Delete everything in ``out_dir`` but the lock file."""
    for entry in out_dir.iterdir():
        if entry.name == ".lock":
            continue
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def check_replaceable(out_dir: Path) -> None:
    """Refuse to touch a non-empty folder that holds no built corpus (a mistyped ``-o``).

    Raises
    ------
    OutputExistsError
        ``out_dir`` is a file, or a folder without a ``corpus.json`` of this kind.
    """
    try:
        kind = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        kind = None
    if kind != KIND:
        raise OutputExistsError(
            f"{out_dir} exists and is not a latentroom built corpus; refusing to write into it "
            "even with --force; choose another -o folder"
        )


def check_target(out_dir: Path) -> None:
    """Before anything is created: ``out_dir`` must be absent, a folder we may write into."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir} is a file; choose a folder for -o")
    entries = out_dir.is_dir() and any(p.name != ".lock" for p in out_dir.iterdir())
    if entries and not (out_dir / STATE).is_dir():
        check_replaceable(out_dir)
