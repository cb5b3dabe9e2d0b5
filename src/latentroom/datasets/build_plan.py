"""What goes into a corpus build: sources, their files' families, works and licenses, the split.

``latentroom.datasets.build`` cuts and writes the clips; this module decides which files there
are, which work each belongs to (a song, a drum kit, a voice: by default a file's top-level
folder inside its source, or what ``work_regex`` picks out of its path), under which license,
and which works are held out (per source, seeded), before anything is written.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from latentroom.errors import ConfigError

MIDI_SUFFIXES = (".mid", ".midi")
FAMILY_PATTERN = re.compile(r"[a-z][a-z0-9_-]*\Z")


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
