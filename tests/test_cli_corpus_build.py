"""``latentroom corpus build``: layout, manifest, determinism, bad input, lock, kill -9 + resume."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

ARGS = ("--sample-rate", "16000", "--clip-seconds", "0.5", "--quiet", "--seed", "7")


def write_tone(path: Path, seconds: float, rate: int = 22_050, channels: int = 1) -> None:
    t = np.arange(round(seconds * rate)) / rate
    x = 0.4 * np.sin(2 * np.pi * (110 + 7 * len(path.name)) * t)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.stack([x] * channels, axis=1), rate)


@pytest.fixture
def sources(tmp_path: Path) -> tuple[Path, Path]:
    """Two sources: songs (folders = works, stereo, one silent) and voices (files = works)."""
    songs, voices = tmp_path / "songs", tmp_path / "voices"
    for song in ("one", "two", "three"):
        write_tone(songs / song / "mix.wav", 2.0, channels=2)
    sf.write(str(songs / "three" / "silence.wav"), np.zeros(22_050 * 2), 22_050)
    (songs / "README.txt").write_text("not audio")
    for voice in ("anna", "bert"):
        write_tone(voices / f"{voice}.flac", 1.6)
    write_tone(voices / "tiny.wav", 0.2)  # shorter than a clip
    return songs, voices


def build_args(sources: tuple[Path, Path], out: Path) -> list[object]:
    songs, voices = sources
    return ["corpus", "build", f"{songs}=music", f"{voices}=voice", "-o", out, *ARGS,
            "--license", "CC0-1.0", "--holdout", "0.34"]  # fmt: skip


def test_build_writes_layout_manifest_and_is_deterministic(
    run_cli: Callable[..., Any], sources: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "corpus"
    result = run_cli(*build_args(sources, out))
    assert result.exit_code == 0, result.stderr
    assert "skipped: 4 silent clips, 1 short files, 0 unreadable files" in result.stdout
    manifest = json.loads((out / "corpus.json").read_text())
    assert manifest["kind"] == "latentroom-built-corpus" and manifest["seed"] == 7
    clips = manifest["clips"]
    assert len(clips) == 4 * 3 + 3 * 2  # 4 clips per 2 s song, 3 per 1.6 s voice
    for clip in clips:
        data, rate = sf.read(str(out / clip["path"]))
        assert rate == 16_000 and data.shape == (8000,)  # mono, resampled
        assert clip["path"].startswith(f"{clip['split']}/{clip['family']}/")
        assert hashlib.sha256((out / clip["path"]).read_bytes()).hexdigest() == clip["sha256"]
        assert clip["license"] == "CC0-1.0" and clip["duration_seconds"] == 0.5
        assert Path(clip["source"]).is_file()
    works: dict[str, set[str]] = {}
    for clip in clips:
        works.setdefault(clip["work"], set()).add(clip["split"])
    assert all(len(splits) == 1 for splits in works.values())
    assert manifest["families"]["music"]["holdout_works"] == 1
    assert manifest["families"]["voice"]["holdout_works"] == 1
    assert not (out / ".build").exists()
    again = tmp_path / "again"
    assert run_cli(*build_args(sources, again)).exit_code == 0
    assert (again / "corpus.json").read_text() == (out / "corpus.json").read_text()
    for clip in clips:
        assert (again / clip["path"]).read_bytes() == (out / clip["path"]).read_bytes()


def test_existing_corpus_needs_force_and_foreign_folder_is_never_replaced(
    run_cli: Callable[..., Any], sources: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "corpus"
    assert run_cli(*build_args(sources, out)).exit_code == 0
    result = run_cli(*build_args(sources, out))
    assert result.exit_code == 2 and "pass --force" in result.stderr
    assert run_cli(*build_args(sources, out), "--force").exit_code == 0
    foreign = tmp_path / "home"
    (foreign / "notes.txt").parent.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = run_cli(*build_args(sources, foreign), "--force")
    assert result.exit_code == 2 and "not a latentroom built corpus" in result.stderr
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_max_hours_and_max_clips_per_file(
    run_cli: Callable[..., Any], sources: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "corpus"
    result = run_cli(
        *build_args(sources, out), "--max-clips-per-file", "1", "--max-hours", "0.0005"
    )
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((out / "corpus.json").read_text())
    assert len(manifest["clips"]) == 4  # 0.5 s clips up to 1.8 s, sources taken in turn
    assert {c["family"] for c in manifest["clips"]} == {"music", "voice"}
    assert manifest["skipped"]["not_reached"] > 0


def test_unreadable_files_are_named_skipped_and_counted(
    run_cli: Callable[..., Any],
    sources: tuple[Path, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = sources[1] / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    out = tmp_path / "corpus"
    result = run_cli(*build_args(sources, out))
    assert result.exit_code == 0, result.stderr
    assert "unreadable: voices/broken.wav" in result.stdout
    assert "1 unreadable files" in result.stdout
    assert "broken.wav: not a readable audio file" in caplog.text  # warned as it happens
    assert json.loads((out / "corpus.json").read_text())["skipped"]["unreadable"] == [
        "voices/broken.wav"
    ]


def test_pad_short_keeps_short_files(
    run_cli: Callable[..., Any], sources: tuple[Path, Path], tmp_path: Path
) -> None:
    out = tmp_path / "corpus"
    assert run_cli(*build_args(sources, out), "--pad-short").exit_code == 0
    clips = json.loads((out / "corpus.json").read_text())["clips"]
    tiny = [c for c in clips if c["source"].endswith("tiny.wav")]
    assert len(tiny) == 1 and tiny[0]["source_seconds"] == pytest.approx(0.2)
    assert sf.read(str(out / tiny[0]["path"]))[0].shape == (8000,)


@pytest.mark.parametrize(
    ("make", "extra", "match"),
    [
        pytest.param("empty", [], "no audio in it", id="empty-source"),
        pytest.param("missing", [], "no such folder", id="missing-source"),
        pytest.param(
            "midi", [], "MIDI needs a SoundFont to be rendered; pass --soundfont", id="midi"
        ),
        pytest.param("nolicense", [], "no readable license", id="license"),
        pytest.param("short", [], "no clip came out", id="all-short"),
        pytest.param("ok", ["--clip-seconds", "0"], "clip_seconds must be in", id="clip"),
        pytest.param("ok", ["--soundfont", "nope.sf2"], "no such file", id="soundfont"),
        pytest.param("nofamily", [], "has no family", id="family"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    run_cli: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make: str,
    extra: list[str],
    match: str,
) -> None:
    from latentroom.datasets import licenses

    monkeypatch.setattr(licenses, "owning_packages", lambda paths: {})
    src = tmp_path / "src"
    src.mkdir()
    if make in ("ok", "nolicense", "nofamily"):
        write_tone(src / "a.wav", 1.0)
    if make == "midi":
        write_tone(src / "a.wav", 1.0)
        (src / "tune.mid").write_bytes(b"MThd")
    if make == "short":
        write_tone(src / "a.wav", 0.1)
    source = str(tmp_path / "missing") if make == "missing" else str(src)
    license = [] if make == "nolicense" else ["--license", "MIT"]
    spec = source if make == "nofamily" else f"{source}=music"
    out = tmp_path / "out"
    result = run_cli("corpus", "build", spec, "-o", out, *ARGS, *license, *extra)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert match in result.stderr
    assert not out.exists()


def test_a_second_build_on_a_locked_folder_is_refused(
    run_cli: Callable[..., Any], sources: tuple[Path, Path], tmp_path: Path
) -> None:
    from latentroom.fileio import locked_dir

    out = tmp_path / "corpus"
    with locked_dir(out):
        result = run_cli(*build_args(sources, out))
    assert result.exit_code == 2
    assert "being written by another latentroom process" in result.stderr
    assert [p.name for p in out.iterdir()] == [".lock"]


def journal_lines(out: Path) -> int:
    try:
        return len((out / ".build" / "journal.jsonl").read_text().splitlines())
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_kill_9_then_resume_gives_identical_bytes(tmp_path: Path) -> None:
    src = tmp_path / "many"
    for i in range(120):
        write_tone(src / f"work{i // 3:02d}" / f"take{i:03d}.wav", 3.0, rate=44_100, channels=2)
    args = ["corpus", "build", f"{src}=music", *ARGS, "--license", "CC0-1.0"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    script = "from latentroom.cli.main import main; import sys; main(sys.argv[1:])"

    def cli(out: Path) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-c", script, *map(str, args), "-o", str(out)]
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    whole_dir, killed_dir = tmp_path / "whole", tmp_path / "killed"
    assert cli(whole_dir).wait() == 0
    victim = cli(killed_dir)
    deadline = time.monotonic() + 120
    while journal_lines(killed_dir) < 3 and victim.poll() is None:
        assert time.monotonic() < deadline, "the build never finished a file"
        time.sleep(0.002)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    assert not (killed_dir / "corpus.json").exists()
    resumed = cli(killed_dir)
    assert resumed.wait() == 0, resumed.stderr.read() if resumed.stderr else ""
    names = sorted(p.relative_to(whole_dir) for p in whole_dir.rglob("*") if p.is_file())
    assert sorted(p.relative_to(killed_dir) for p in killed_dir.rglob("*") if p.is_file()) == names
    for name in names:
        assert (killed_dir / name).read_bytes() == (whole_dir / name).read_bytes(), name
    shutil.rmtree(src)
