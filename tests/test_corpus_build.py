"""``latentroom.datasets.build`` and ``licenses``: DEP-5 parsing, works and splits, clips, MIDI."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from latentroom.datasets import build, build_plan, licenses
from latentroom.datasets.build_plan import BuildConfig, Source
from latentroom.datasets.midi import drum_piece, melodic_piece, varlen, write_midi_set
from latentroom.errors import ConfigError

DEP5 = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: fake-sounds
License: GPL-2+

Files: *
Copyright: 2020 Someone
License: GPL-2+
 The full text would follow here.

Files: data/drums/*.flac
 data/extra/kit?.wav
Copyright: 2021 A Drummer
License: CC-BY-SA-4.0

Files: debian/*
Copyright: 2022 A Packager
License: MIT
"""


def write_tone(path: Path, seconds: float, rate: int = 16_000, *, amp: float = 0.5) -> Path:
    t = np.arange(round(seconds * rate)) / rate
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), amp * np.sin(2 * np.pi * 220 * t), rate)
    return path


def test_dep5_last_matching_stanza_wins_and_patterns_match_path_tails() -> None:
    installed = Path("/usr/share/games/fake/data/drums/kick.flac")
    assert licenses.license_from_copyright(DEP5, installed) == "CC-BY-SA-4.0"
    assert licenses.license_from_copyright(DEP5, Path("/x/data/extra/kit1.wav")) == "CC-BY-SA-4.0"
    assert licenses.license_from_copyright(DEP5, Path("/x/data/extra/kit12.wav")) == "GPL-2+"
    assert licenses.license_from_copyright(DEP5, Path("/usr/share/x/song.ogg")) == "GPL-2+"


def test_dep5_archive_pattern_matches_the_folder_it_is_unpacked_into() -> None:
    text = DEP5 + "\nFiles: drumkits/Big?Kit.h2drumkit\nLicense: CC0\n"
    kit = Path("/usr/share/hydrogen/data/drumkits/Big Kit/snare.flac")
    assert licenses.license_from_copyright(text, kit) == "CC0"
    other = Path("/usr/share/hydrogen/data/drumkits/Big Kitten/snare.flac")
    assert licenses.license_from_copyright(text, other) == "GPL-2+"


def test_dep5_header_license_when_no_stanza_matches_and_free_text_gives_none() -> None:
    header_only = DEP5.split("\n\n")[0] + "\n\nFiles: other/*\nLicense: MIT\n"
    assert licenses.license_from_copyright(header_only, Path("/a/b.wav")) == "GPL-2+"
    free_text = "This package was debianized by someone.\n\nLicense: it is free, we think\n"
    assert licenses.license_from_copyright(free_text, Path("/a/b.wav")) is None


def test_package_license_reads_the_copyright_file_under_doc_root(tmp_path: Path) -> None:
    (tmp_path / "fake-sounds").mkdir()
    (tmp_path / "fake-sounds" / "copyright").write_text(DEP5)
    path = Path("/usr/share/fake/data/drums/snare.flac")
    assert licenses.package_license("fake-sounds", path, doc_root=tmp_path) == "CC-BY-SA-4.0"
    assert licenses.package_license("not-installed", path, doc_root=tmp_path) is None


@pytest.fixture
def music(tmp_path: Path) -> Path:
    root = tmp_path / "music"
    for song in ("alpha", "beta", "gamma", "delta"):
        write_tone(root / song / "mix.wav", 2.0)
        write_tone(root / song / "guitar.wav", 2.0)
    write_tone(root / "loose.wav", 2.0)
    return root


def test_works_are_top_level_folders_and_never_split(music: Path) -> None:
    config = BuildConfig(sample_rate=16_000, clip_seconds=0.5, holdout=0.4, seed=3)
    files = build_plan.scan_sources([Source(music, "music", "CC0-1.0")], config)
    assert {f.work for f in files} == {
        f"music/{w}" for w in ("alpha", "beta", "gamma", "delta")
    } | {"music/loose"}
    splits = build_plan.split_works(files, config)
    assert sorted(splits.values()).count("holdout") == 2  # round(5 * 0.4)
    assert build_plan.split_works(files, config) == splits
    other = build_plan.split_works(files, BuildConfig(sample_rate=16_000, holdout=0.4, seed=4))
    assert set(other) == set(splits)


def test_each_source_of_a_family_holds_out_its_own_works(music: Path, tmp_path: Path) -> None:
    second = tmp_path / "songs"
    for song in ("x", "y"):
        write_tone(second / song / "mix.wav", 1.0)
    sources = [Source(music, "music", "MIT"), Source(second, "music", "MIT")]
    config = BuildConfig(holdout=0.1)
    splits = build_plan.split_works(build_plan.scan_sources(sources, config), config)
    assert [w for w, s in splits.items() if s == "holdout" and w.startswith("music/")] != []
    assert sorted(s for w, s in splits.items() if w.startswith("songs/")) == ["holdout", "train"]


def test_work_regex_picks_the_work(music: Path) -> None:
    config = BuildConfig(work_regex=r"(mix|guitar|loose)")
    files = build_plan.scan_sources([Source(music, "music", "CC0-1.0")], config)
    assert {f.work for f in files} == {"music/mix", "music/guitar", "music/loose"}
    with pytest.raises(ConfigError, match="does not match"):
        build_plan.scan_sources([Source(music, "music", "CC0-1.0")], BuildConfig(work_regex="zzz"))


def test_clip_offsets_are_seeded_non_overlapping_and_capped(music: Path) -> None:
    config = BuildConfig(sample_rate=16_000, clip_seconds=0.25, max_clips_per_file=3, seed=1)
    file = build_plan.scan_sources([Source(music, "music", "CC0-1.0")], config)[0]
    offsets = build.clip_offsets(32_000, file, config)
    assert len(offsets) == 3 and offsets == sorted(offsets)
    assert all(b - a >= config.clip_samples for a, b in itertools.pairwise(offsets))
    assert offsets[-1] + config.clip_samples <= 32_000
    assert build.clip_offsets(32_000, file, config) == offsets


def test_licenses_come_from_the_package_copyright_file(
    music: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "doc"
    (docs / "fake-sounds").mkdir(parents=True)
    (docs / "fake-sounds" / "copyright").write_text(DEP5)
    monkeypatch.setattr(licenses, "DOC_ROOT", docs)
    monkeypatch.setattr(
        licenses, "owning_packages", lambda paths: dict.fromkeys(paths, "fake-sounds")
    )
    files = build_plan.scan_sources([Source(music, "music")], BuildConfig())
    assert {(f.package, f.license) for f in files} == {("fake-sounds", "GPL-2+")}
    given = build_plan.scan_sources([Source(music, "music", "MIT")], BuildConfig())
    assert {f.license for f in given} == {"GPL-2+"}  # the package's own word wins
    monkeypatch.setattr(licenses, "owning_packages", lambda paths: dict.fromkeys(paths, "other"))
    fallback = build_plan.scan_sources([Source(music, "music", "MIT")], BuildConfig())
    assert {(f.package, f.license) for f in fallback} == {("other", "MIT")}


def test_unknown_license_is_refused_unless_allowed(
    music: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(licenses, "owning_packages", lambda paths: {})
    with pytest.raises(ConfigError, match=r"no readable license.*--allow-unknown-license"):
        build_plan.scan_sources([Source(music, "music")], BuildConfig())
    files = build_plan.scan_sources(
        [Source(music, "music")], BuildConfig(allow_unknown_license=True)
    )
    assert all(f.license is None for f in files)


def test_parse_source_and_licenses() -> None:
    assert build_plan.parse_source("a/b=drums", None) == Source(Path("a/b"), "drums")
    assert build_plan.parse_source("a/b", "voice") == Source(Path("a/b"), "voice")
    with pytest.raises(ConfigError, match="has no family"):
        build_plan.parse_source("a/b", None)
    with pytest.raises(ConfigError, match="lower-case"):
        build_plan.parse_source("a/b=Drums!", None)
    sources = [Source(Path("a"), "music"), Source(Path("b"), "voice")]
    out = build_plan.attach_licenses(sources, ["b=MIT"])
    assert [s.license for s in out] == [None, "MIT"]
    assert [s.license for s in build_plan.attach_licenses(sources, ["CC0-1.0"])] == ["CC0-1.0"] * 2
    with pytest.raises(ConfigError, match="not one of the sources"):
        build_plan.attach_licenses(sources, ["c=MIT"])


def test_midi_files_are_well_formed_and_seeded(tmp_path: Path) -> None:
    assert varlen(0) == b"\x00" and varlen(0x80) == b"\x81\x00" and varlen(0x3FFF) == b"\xff\x7f"
    data = melodic_piece(40, np.random.default_rng(1))
    assert data[:4] == b"MThd" and data[14:18] == b"MTrk"
    assert int.from_bytes(data[18:22], "big") == len(data) - 22
    assert data.endswith(b"\x00\xff\x2f\x00") and b"\xc0\x28" in data  # program change to 40
    assert b"\x99" in drum_piece(np.random.default_rng(1))  # note-on on channel 10
    assert melodic_piece(40, np.random.default_rng(1)) == data
    assert write_midi_set(tmp_path, per_program=1, drums=2) == 130
    assert (tmp_path / "instrument" / "gm127" / "gm127_0.mid").is_file()


def test_owning_packages_parses_dpkg_query_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "dpkg-query"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        "echo 'diversion by foo from: /a/one.wav'\n"
        "echo 'sounds:amd64: /a/one.wav'\n"
        "echo 'kit-a, kit-b: /a/two.wav'\n"
        "echo 'dpkg-query: no path found matching pattern /a/three.wav' >&2\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    paths = [Path("/a/one.wav"), Path("/a/two.wav"), Path("/a/three.wav")]
    assert licenses.owning_packages(paths) == {
        Path("/a/one.wav"): "sounds",
        Path("/a/two.wav"): "kit-a",
    }
