"""``latentroom compose``: stats -> synth -> pattern round trip, tempo, render, exit code 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import TinyConvCodec, sine
from latentroom.audio import save_audio
from latentroom.latents.files import load_latents, save_latents
from latentroom.latents.latent_wav import save_latent_wav
from test_compose_render import make_project

Run = Callable[..., Any]


@pytest.fixture
def latent_files(tmp_path: Path) -> list[Path]:
    codec = TinyConvCodec()
    paths = []
    for index, freq in enumerate((220.0, 330.0)):
        path = tmp_path / f"in{index}.npy"
        save_latents(path, codec.encode(sine(freq, seconds=0.4)))
        paths.append(path)
    return paths


def test_stats_synth_pattern_round_trip(run_cli: Run, tmp_path: Path, latent_files: list) -> None:
    stats = tmp_path / "stats.json"
    result = run_cli("compose", "stats", *latent_files, "-o", stats)
    assert result.exit_code == 0, result.stderr
    assert "80 frames x 8 dims at 100 Hz from 2 input(s)" in result.stdout
    raw = json.loads(stats.read_text())
    assert (raw["codec"], raw["frame_rate"], raw["latent_dim"], raw["n_frames"]) == (
        "tiny",
        100.0,
        8,
        80,
    )
    assert raw["sources"] == [str(p) for p in latent_files]
    synth = tmp_path / "synth.npy"
    args = ["--stats", stats, "--distribution", "ar", "--frames", "30", "--seed", "4"]
    assert run_cli("compose", "synth", *args, "-o", synth).exit_code == 0
    made = load_latents(synth)
    assert made.data.shape == (30, 8) and made.codec == "tiny" and made.frame_rate == 100.0
    out = tmp_path / "orale.npy"
    result = run_cli("compose", "pattern", "orale", synth, "--depth", "2", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert load_latents(out).n_frames == 16 * 30


def test_stats_read_latent_wav_like_npy(run_cli: Run, tmp_path: Path, latent_files: list) -> None:
    wav = tmp_path / "in0.latent.wav"
    save_latent_wav(wav, load_latents(latent_files[0]))
    from_npy, from_wav = tmp_path / "npy.json", tmp_path / "wav.json"
    assert run_cli("compose", "stats", latent_files[0], "-o", from_npy).exit_code == 0
    assert run_cli("compose", "stats", wav, "-o", from_wav).exit_code == 0
    npy_stats, wav_stats = json.loads(from_npy.read_text()), json.loads(from_wav.read_text())
    assert npy_stats.pop("sources") != wav_stats.pop("sources")
    assert npy_stats == wav_stats


def test_stats_encodes_audio_with_codec(run_cli: Run, tmp_path: Path, tiny_codec_name: str) -> None:
    save_audio(tmp_path / "tone.wav", sine(440.0, seconds=0.5))
    stats = tmp_path / "stats.json"
    args = ["compose", "stats", tmp_path / "tone.wav", "--codec", tiny_codec_name, "-o", stats]
    assert run_cli(*args).exit_code == 0
    assert json.loads(stats.read_text())["n_frames"] == 50


def test_audio_without_codec_refused(run_cli: Run, tmp_path: Path) -> None:
    save_audio(tmp_path / "tone.wav", sine(440.0, seconds=0.1))
    result = run_cli("compose", "stats", tmp_path / "tone.wav", "-o", tmp_path / "s.json")
    assert result.exit_code == 2
    assert "looks like audio" in result.stderr and "--codec" in result.stderr
    assert not (tmp_path / "s.json").exists()


@pytest.mark.parametrize(
    ("distribution", "frames", "message"),
    [
        pytest.param("normal", "0", "frames must be in 1..10000000; got 0", id="zero-frames"),
        pytest.param("gauss", "3", "unknown distribution 'gauss'", id="unknown-distribution"),
    ],
)
def test_bad_synth_exit_2_nothing_written(
    run_cli: Run, tmp_path: Path, latent_files: list, distribution: str, frames: str, message: str
) -> None:
    stats = tmp_path / "stats.json"
    run_cli("compose", "stats", *latent_files, "-o", stats)
    args = ["--stats", stats, "--distribution", distribution, "--frames", frames]
    result = run_cli("compose", "synth", *args, "-o", tmp_path / "x.npy")
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "x.npy").exists() and not (tmp_path / "x.json").exists()


def test_pattern_shape_mismatch_exit_2(run_cli: Run, tmp_path: Path, latent_files: list) -> None:
    short = tmp_path / "short.npy"
    trajectory = load_latents(latent_files[1])
    save_latents(short, trajectory.with_data(np.array(trajectory.data[:5])))
    out = tmp_path / "b.npy"
    result = run_cli("compose", "pattern", "blender", latent_files[0], "--b", short, "-o", out)
    assert result.exit_code == 2
    assert "A has shape (40, 8) but B has shape (5, 8)" in result.stderr
    assert not out.exists()


def test_existing_output_needs_force(run_cli: Run, tmp_path: Path, latent_files: list) -> None:
    stats = tmp_path / "stats.json"
    stats.write_text("{}")
    result = run_cli("compose", "stats", *latent_files, "-o", stats)
    assert result.exit_code == 2 and "--force" in result.stderr
    assert run_cli("compose", "stats", *latent_files, "-o", stats, "--force").exit_code == 0


def test_tempo_table_and_nearest(run_cli: Run) -> None:
    result = run_cli("compose", "tempo", "--sample-rate", "44100", "--hop", "2048", "--bpm", "120")
    assert result.exit_code == 0
    assert "  11    117.45            <- nearest to 120 BPM" in result.stdout
    assert "  10    129.20    258.40\n" in result.stdout
    assert "k = 11 -> 117.45 BPM (error -2.55 BPM)" in result.stdout


def test_tempo_from_codec(run_cli: Run, tiny_codec_name: str) -> None:
    args = ["--codec", tiny_codec_name, "--k-min", "10", "--k-max", "10"]
    result = run_cli("compose", "tempo", *args)
    assert result.exit_code == 0 and "frame rate 100 Hz" in result.stdout
    assert "  10    600.00   1200.00" in result.stdout


def test_tempo_of_a_hub_codec_needs_no_weights(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))  # empty
    result = run_cli("compose", "tempo", "--codec", "mimi", "--k-min", "4", "--k-max", "4")
    assert result.exit_code == 0, result.stderr
    assert "frame rate 12.5 Hz" in result.stdout and "   4    187.50" in result.stdout


def test_tempo_needs_one_rate(run_cli: Run) -> None:
    result = run_cli("compose", "tempo")
    assert result.exit_code == 2 and "give exactly one of --codec" in result.stderr


def test_render(run_cli: Run, tmp_path: Path, tiny_codec_name: str) -> None:
    spec = make_project(tmp_path / "project")
    result = run_cli("compose", "render", spec, "-o", tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert f"latent_wav: {tmp_path / 'out' / 'composition.latent.wav'}" in result.stdout
    assert (tmp_path / "out" / "spec.resolved.toml").exists()


def test_render_malformed_spec_names_key(run_cli: Run, tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('codec = "tiny"\n[sources.a]\npath = "a.npy"\nloop = 2\n')
    result = run_cli("compose", "render", spec, "-o", tmp_path / "out", "--quiet")
    assert result.exit_code == 2
    assert "sources.a.loop: unknown key" in result.stderr
    assert not (tmp_path / "out").exists()
