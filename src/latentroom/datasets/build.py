"""Build a corpus from folders of real audio: ``train/<family>/``, ``holdout/<family>/``, manifest.

The layout matches ``corpus synth`` so training and evaluation read either. Every clip is mono
(a file's channels are averaged; there is no upmix), resampled with soxr to the chosen rate and
written as 16-bit WAV. The split is by *work* (a song, a drum kit, a voice): by default a file's
work is its top-level folder inside the source (a file directly in the source is its own work),
or what ``work_regex`` picks out of its path; each source holds out its own share of works,
and no work has clips in both splits (``latentroom.datasets.build_plan`` decides all that).

A build writes into its folder as it goes and keeps a journal of finished source files in
``.build/``; killed, it resumes where the journal ends and ends with the same bytes as an
uninterrupted build. ``corpus.json`` is written last, and the journal then removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from latentroom.datasets.build_plan import (
    MIDI_SUFFIXES,
    BuildConfig,
    Source,
    SourceFile,
    interleave,
    scan_sources,
    split_works,
    stable_key,
)
from latentroom.datasets.buildstate import (
    JOURNAL,
    KIND,
    MANIFEST,
    STATE,
    append_journal,
    check_target,
    clear,
    prepare_output,
    read_journal,
)
from latentroom.errors import ConfigError, InvalidAudioError
from latentroom.progress import Progress

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
SPLITS = ("train", "holdout")
SILENCE_PEAK_DB = -60.0  # a clip whose peak stays below this is silence-only and skipped
UNKNOWN_LICENSE = "unknown"


def clip_offsets(n_samples: int, file: SourceFile, config: BuildConfig) -> list[int]:
    """Seeded, non-overlapping clip starts: up to ``max_clips_per_file`` of the whole clips that
    fit, all shifted by one random offset so files do not always start a clip at sample 0."""
    length = config.clip_samples
    slots = n_samples // length
    n = min(slots, config.max_clips_per_file)
    rng = np.random.default_rng(
        np.random.SeedSequence(config.seed, spawn_key=(1, stable_key(file.key)))
    )
    base = int(rng.integers(0, n_samples - slots * length + 1))
    chosen = sorted(int(s) for s in rng.choice(slots, size=n, replace=False))
    return [base + s * length for s in chosen]


def load_mono(file: SourceFile, config: BuildConfig, scratch: Path) -> np.ndarray:
    """The file as mono at the corpus rate; MIDI is rendered with fluidsynth first.

    Raises
    ------
    InvalidAudioError
        The file cannot be read (or fluidsynth fails on it).
    """
    from latentroom.audio.io import load_audio

    path = file.path
    if path.suffix.lower() in MIDI_SUFFIXES:
        path = scratch / "render.wav"
        command = ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(config.sample_rate)]
        command += ["-F", str(path), str(config.soundfont), str(file.path)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not path.is_file():
            why = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise InvalidAudioError(f"{file.path}: fluidsynth could not render it ({why})")
    audio = load_audio(path, sample_rate=config.sample_rate, channels=1)
    return audio.samples[0]


def clip_name(file: SourceFile, index: int) -> str:
    """``<stem>-<8 hex of the file's key>-<index>.wav``: readable and unique per file."""
    stem = re.sub(r"[^A-Za-z0-9]+", "-", Path(file.relpath).stem).strip("-")[:40] or "clip"
    return f"{stem}-{stable_key(file.key):016x}"[:-8] + f"-{index:02d}.wav"


def process_file(
    file: SourceFile, split: str, out_dir: Path, config: BuildConfig, scratch: Path
) -> dict[str, Any]:
    """Cut, check and write one file's clips; return its journal record."""
    from latentroom.audio.io import write_frames

    record: dict[str, Any] = {"file": file.key, "clips": [], "silent": 0, "short": 0}
    try:
        samples = load_mono(file, config, scratch)
    except InvalidAudioError as err:
        logger.warning("skipping an unreadable file: %s", err)
        record["unreadable"] = str(err)
        return record
    source_seconds = samples.size / config.sample_rate
    if samples.size < config.clip_samples:
        if not config.pad_short:
            record["short"] = 1
            return record
        samples = np.pad(samples, (0, config.clip_samples - samples.size))
    threshold = 10 ** (SILENCE_PEAK_DB / 20)
    for index, offset in enumerate(clip_offsets(samples.size, file, config)):
        clip = samples[offset : offset + config.clip_samples]
        if float(np.max(np.abs(clip))) < threshold:
            record["silent"] += 1
            continue
        relpath = f"{split}/{file.family}/{clip_name(file, index)}"
        write_frames(
            out_dir / relpath, clip[:, None], config.sample_rate, subtype="PCM_16", fmt="WAV"
        )
        digest = hashlib.sha256((out_dir / relpath).read_bytes()).hexdigest()
        record["clips"].append(
            {
                "path": relpath,
                "split": split,
                "family": file.family,
                "work": file.work,
                "source": str(file.path),
                "package": file.package,
                "license": file.license or UNKNOWN_LICENSE,
                "offset_seconds": offset / config.sample_rate,
                "duration_seconds": config.clip_seconds,
                "source_seconds": min(source_seconds, config.clip_seconds),
                "sha256": digest,
            }
        )
    return record


def settings(sources: list[Source], config: BuildConfig) -> dict[str, Any]:
    """What must match for a build to resume another: the config and the sources."""
    return {
        "config": asdict(config),
        "sources": [
            {"path": str(s.path.resolve()), "family": s.family, "license": s.license}
            for s in sources
        ],
    }


def build_corpus(
    out_dir: Path,
    sources: list[Source],
    config: BuildConfig,
    *,
    force: bool = False,
    progress: Progress | None = None,
    files: list[SourceFile] | None = None,
) -> dict[str, Any]:
    """Build (or resume) a corpus in ``out_dir`` and return its manifest.

    Parameters
    ----------
    out_dir : Path
        The corpus folder: created, resumed (an unfinished build with the same settings), or
        replaced (a finished one, with ``force``).
    sources : list of Source
        Folders of audio with their families.
    config : BuildConfig
        How to cut, split and admit clips.
    force : bool
        Replace a finished corpus or an unfinished build with other settings.
    progress : callable or None
        Called with 1 after each source file.
    files : list of SourceFile or None
        ``scan_sources(sources, config)`` when the caller already has it (to size a progress
        bar); scanned here otherwise.

    Raises
    ------
    ConfigError
        Bad sources (see ``scan_sources``), or no clip at all came out of them.
    OutputExistsError
        ``out_dir`` exists (see ``prepare_output``) or another build holds its lock.
    """
    from latentroom.fileio import locked_dir, write_text_atomic

    if not sources:
        raise ConfigError("no source given; name at least one folder of audio")
    if files is None:
        files = scan_sources(sources, config)
    splits = split_works(files, config)
    check_target(out_dir)
    created = not out_dir.exists()
    wanted = settings(sources, config)
    with locked_dir(out_dir):
        prepare_output(out_dir, wanted, force=force)
        records = run_files(out_dir, interleave(files), splits, config, progress)
        manifest = make_manifest(sources, config, files, splits, records)
        if not manifest["clips"]:
            clear(out_dir)
            if created:
                (out_dir / ".lock").unlink()
                out_dir.rmdir()
            raise ConfigError(
                f"no clip came out of the sources ({manifest['skipped']['silent']} silent, "
                f"{manifest['skipped']['short']} shorter than {config.clip_seconds} s, "
                f"{len(manifest['skipped']['unreadable'])} unreadable); "
                "give longer audio, a shorter --clip-seconds, or --pad-short"
            )
        write_text_atomic(out_dir / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        shutil.rmtree(out_dir / STATE)
    return manifest


def run_files(
    out_dir: Path,
    order: list[SourceFile],
    splits: dict[str, str],
    config: BuildConfig,
    progress: Progress | None,
) -> list[dict[str, Any]]:
    """Process files in order after those the journal already holds; stop at ``max_hours``."""
    journal = out_dir / STATE / JOURNAL
    records = read_journal(journal)
    if journal.exists():  # rewrite without a torn tail before appending again
        journal.write_text(
            "".join(json.dumps(r, sort_keys=True) + "\n" for r in records), encoding="utf-8"
        )
    limit = None if config.max_hours is None else config.max_hours * 3600
    seconds = sum(c["duration_seconds"] for r in records for c in r["clips"])
    if progress is not None and records:
        progress(len(records))
    for file in order[len(records) :]:
        if limit is not None and seconds >= limit:
            break
        with tempfile.TemporaryDirectory(dir=out_dir / STATE) as scratch:  # MIDI renders
            record = process_file(file, splits[file.work], out_dir, config, Path(scratch))
        append_journal(journal, record)
        records.append(record)
        seconds += sum(c["duration_seconds"] for c in record["clips"])
        if progress is not None:
            progress(1)
    # Read back rather than return the records in memory: a resumed build only has the journal's
    # copies (keys sorted), and both must give the same manifest bytes.
    return read_journal(journal)


def make_manifest(
    sources: list[Source],
    config: BuildConfig,
    files: list[SourceFile],
    splits: dict[str, str],
    records: list[dict[str, Any]],
) -> dict[str, Any]:
    """Config, sources, packages, per-family counts, skips, and every clip (no timestamps, so a
    resumed build writes the same bytes as an uninterrupted one)."""
    from latentroom import __version__
    from latentroom.datasets.licenses import package_version

    clips = [clip for record in records for clip in record["clips"]]
    families: dict[str, dict[str, Any]] = {}
    for clip in clips:
        entry = families.setdefault(
            clip["family"],
            {**dict.fromkeys(SPLITS, 0), **{f"{s}_seconds": 0.0 for s in SPLITS}, "works": {}},
        )
        entry[clip["split"]] += 1
        entry[f"{clip['split']}_seconds"] += clip["duration_seconds"]
        entry["works"][clip["work"]] = clip["split"]
    for entry in families.values():
        works = entry.pop("works")
        for split in SPLITS:
            entry[f"{split}_works"] = sum(1 for s in works.values() if s == split)
    packages: dict[str, dict[str, Any]] = {}
    for clip in clips:
        if clip["package"] is not None:
            pkg = packages.setdefault(clip["package"], {"licenses": []})
            if clip["license"] not in pkg["licenses"]:
                pkg["licenses"].append(clip["license"])
    for name, pkg in packages.items():
        pkg["version"] = package_version(name)
    return {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "latentroom_version": __version__,
        "config": asdict(config),
        "seed": config.seed,
        "sources": settings(sources, config)["sources"],
        "silence_peak_db": SILENCE_PEAK_DB,
        "families": families,
        "packages": dict(sorted(packages.items())),
        "skipped": {
            "silent": sum(r["silent"] for r in records),
            "short": sum(r["short"] for r in records),
            "unreadable": [r["file"] for r in records if "unreadable" in r],
            "not_reached": len(files) - len(records),
        },
        "clips": clips,
    }
