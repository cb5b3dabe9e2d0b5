"""Build a corpus from folders of real audio: ``train/<family>/``, ``holdout/<family>/``, manifest.

The layout matches ``corpus synth`` so training and evaluation read either. Every clip is mono
(a file's channels are averaged; there is no upmix), resampled with soxr to the chosen rate and
written as 16-bit WAV. The split is by *work* (a song, a drum kit, a voice): by default a file's
work is its top-level folder inside the source (a file directly in the source is its own work),
or what ``work_regex`` picks out of its path; each source holds out its own share of works,
and no work has clips in both splits.

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
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

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
MIDI_SUFFIXES = (".mid", ".midi")
SILENCE_PEAK_DB = -60.0  # a clip whose peak stays below this is silence-only and skipped
FAMILY_PATTERN = re.compile(r"[a-z][a-z0-9_-]*\Z")
UNKNOWN_LICENSE = "unknown"


@dataclass(frozen=True)
class Source:
    """A folder (or one file) of audio, the family its clips belong to, and the license of the
    files whose Debian copyright file names none (files in no package, free-text copyright)."""

    path: Path
    family: str
    license: str | None = None


@dataclass(frozen=True)
class BuildConfig:
    """How clips are cut, split and admitted (see the module docstring)."""

    sample_rate: int = 48_000  # Hz
    clip_seconds: float = 4.0
    holdout: float = 0.1  # fraction of each source's works held out (at least one of two or more)
    seed: int = 0  # picks clip offsets and the split
    max_clips_per_file: int = 8
    max_hours: float | None = None  # stop once this much audio is written, sources interleaved
    pad_short: bool = False  # pad files shorter than a clip with silence instead of skipping them
    work_regex: str | None = None  # group 1 (or the whole match) of the relative path is the work
    soundfont: str | None = None  # a .sf2 for rendering MIDI with fluidsynth
    allow_unknown_license: bool = False

    def __post_init__(self) -> None:
        if not 8_000 <= self.sample_rate <= 192_000:
            raise ConfigError(f"sample_rate must be in 8000..192000 Hz; got {self.sample_rate}")
        if not 0.05 <= self.clip_seconds <= 600:
            raise ConfigError(f"clip_seconds must be in 0.05..600; got {self.clip_seconds}")
        if not 0.0 <= self.holdout < 1.0:
            raise ConfigError(f"holdout must be in [0, 1); got {self.holdout}")
        if self.max_clips_per_file < 1:
            raise ConfigError(f"max_clips_per_file must be >= 1; got {self.max_clips_per_file}")
        if self.max_hours is not None and not self.max_hours > 0:
            raise ConfigError(f"max_hours must be > 0; got {self.max_hours}")
        if self.work_regex is not None:
            try:
                re.compile(self.work_regex)
            except re.error as err:
                raise ConfigError(f"work_regex {self.work_regex!r} is not a regex: {err}") from err
        if self.soundfont is not None and not Path(self.soundfont).is_file():
            raise ConfigError(f"soundfont {self.soundfont}: no such file; give a .sf2 file")

    @property
    def clip_samples(self) -> int:
        return round(self.clip_seconds * self.sample_rate)


@dataclass(frozen=True)
class SourceFile:
    """One input file and what the manifest says about each of its clips."""

    path: Path
    relpath: str  # inside its source, for the work and the clip names
    source: str  # the source folder's name
    family: str
    work: str  # "<source>/<work>"
    package: str | None
    license: str | None

    @property
    def key(self) -> str:
        return f"{self.source}/{self.relpath}"


def parse_source(text: str, default_family: str | None) -> Source:
    """``PATH=FAMILY`` or ``PATH`` (with ``default_family``) as given on the command line."""
    path, sep, family = text.rpartition("=")
    if not sep:
        path, family = text, default_family or ""
    if not family:
        raise ConfigError(
            f"source {text!r} has no family; write it as {text}=FAMILY (e.g. =music) "
            "or pass --family"
        )
    if not FAMILY_PATTERN.match(family):
        raise ConfigError(
            f"family {family!r} of source {path!r} must be lower-case letters, digits, - or _"
        )
    return Source(Path(path), family)


def attach_licenses(sources: list[Source], licenses: list[str]) -> list[Source]:
    """Apply ``--license`` values: ``PATH=LICENSE`` for that source, plain ``LICENSE`` for all."""
    out = list(sources)
    for text in licenses:
        path, sep, name = text.rpartition("=")
        if not name.strip():
            raise ConfigError(f"--license {text!r} names no license; e.g. --license CC-BY-SA-4.0")
        hits = [i for i, s in enumerate(out) if not sep or Path(path) == s.path]
        if not hits:
            raise ConfigError(f"--license {text!r}: {path} is not one of the sources")
        for i in hits:
            out[i] = replace(out[i], license=name.strip())
    return out


def find_files(source: Path) -> list[Path]:
    """Audio and MIDI files under ``source`` (or ``source`` itself), sorted."""
    from latentroom.audio.io import AUDIO_SUFFIXES

    suffixes = (*AUDIO_SUFFIXES, *MIDI_SUFFIXES)
    if source.is_file():
        return [source]
    return sorted(
        p
        for p in source.rglob("*")
        if p.suffix.lower() in suffixes and p.is_file() and not p.name.startswith(".")
    )


def work_of(relpath: str, work_regex: str | None) -> str:
    """The work a file belongs to (see the module docstring)."""
    if work_regex is not None:
        found = re.search(work_regex, relpath)
        if found is None:
            raise ConfigError(
                f"--work-regex {work_regex!r} does not match {relpath!r}; "
                "widen it so every file's path matches"
            )
        return found.group(1) if found.re.groups else found.group(0)
    parts = Path(relpath).parts
    return parts[0] if len(parts) > 1 else Path(relpath).stem


def scan_sources(sources: list[Source], config: BuildConfig) -> list[SourceFile]:
    """Every input file with its family, work, package and license; refuses bad sources first.

    Raises
    ------
    ConfigError
        A missing or empty source, two sources of one name, MIDI without a SoundFont or
        fluidsynth, a file without a license (unless ``allow_unknown_license``).
    """
    from latentroom.datasets.licenses import owning_packages, package_license

    names = [s.path.resolve().name for s in sources]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"two sources are named {name!r}; give each source its own name")
    found: list[tuple[Source, Path, list[Path]]] = []
    for source in sources:
        root = source.path.resolve()
        if not root.exists():
            raise ConfigError(f"source {source.path}: no such folder; check the path")
        paths = find_files(root)
        if not paths:
            raise ConfigError(
                f"source {source.path}: no audio in it (looked for WAV, FLAC, OGG, MP3, AIFF, "
                "MIDI); point at a folder with audio files"
            )
        found.append((source, root, paths))
    midi = [p for _, _, paths in found for p in paths if p.suffix.lower() in MIDI_SUFFIXES]
    if midi and config.soundfont is None:
        raise ConfigError(
            f"{midi[0]}: MIDI needs a SoundFont to be rendered; pass --soundfont FILE.sf2 "
            "(Debian: apt-get install fluidsynth fluid-soundfont-gm)"
        )
    if midi and shutil.which("fluidsynth") is None:
        raise ConfigError(
            f"{midi[0]}: rendering MIDI needs the fluidsynth program; apt-get install fluidsynth"
        )
    owners = owning_packages(p for _, _, paths in found for p in paths)
    files: list[SourceFile] = []
    for (source, root, paths), name in zip(found, names, strict=True):
        for path in paths:
            relpath = path.relative_to(root).as_posix() if path != root else path.name
            package = owners.get(path)
            license = None if package is None else package_license(package, path)
            if license is None:
                license = source.license
            work = f"{name}/{work_of(relpath, config.work_regex)}"
            files.append(SourceFile(path, relpath, name, source.family, work, package, license))
    unknown = [f for f in files if f.license is None]
    if unknown and not config.allow_unknown_license:
        raise ConfigError(
            f"{len(unknown)} files have no readable license, e.g. {unknown[0].path} "
            f"(package {unknown[0].package or 'none'}); read its terms and pass "
            f"--license {unknown[0].source}=LICENSE, or --allow-unknown-license"
        )
    return files


def stable_key(text: str) -> int:
    """A 64-bit integer from ``text`` that every Python run agrees on (``hash`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")


def split_works(files: list[SourceFile], config: BuildConfig) -> dict[str, str]:
    """``{work: split}``: per source, a seeded shuffle of its works, the last ones held out.

    Per source rather than per family, so a family fed by several packages (game scores and band
    songs) holds out works of each of them.
    """
    by_source: dict[str, list[str]] = {}
    for f in files:
        works = by_source.setdefault(f.source, [])
        if f.work not in works:
            works.append(f.work)
    splits: dict[str, str] = {}
    for source, works in sorted(by_source.items()):
        rng = np.random.default_rng(
            np.random.SeedSequence(config.seed, spawn_key=(0, stable_key(source)))
        )
        order = [works[i] for i in rng.permutation(len(works))]
        n_holdout = round(len(order) * config.holdout)
        if config.holdout > 0 and len(order) >= 2:
            n_holdout = max(1, n_holdout)
        for i, work in enumerate(order):
            splits[work] = "holdout" if i >= len(order) - n_holdout else "train"
    return splits


def interleave(files: list[SourceFile]) -> list[SourceFile]:
    """Round-robin over sources, so ``max_hours`` takes from every source alike."""
    queues: dict[str, list[SourceFile]] = {}
    for f in files:
        queues.setdefault(f.source, []).append(f)
    out: list[SourceFile] = []
    lists = list(queues.values())
    for i in range(max(len(q) for q in lists)):
        out.extend(q[i] for q in lists if i < len(q))
    return out


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
