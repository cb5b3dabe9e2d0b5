"""``latentroom seed`` round trips into tmp_path; every bad input exits 2 and writes nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from latentroom.audio import load_audio

RunCli = Callable[..., Any]


def test_default_seed_round_trip(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "seed.wav"
    result = run_cli("seed", "-o", out, "--plot")
    assert result.exit_code == 0, result.stderr
    assert "rhythm x..x.x..x.x.." in result.stdout
    audio = load_audio(out)
    assert audio.samples.shape == (1, 480_000)
    pulses = [0, 110769, 184615, 295385, 369231]
    assert audio.samples[0, pulses].tolist() == [1.0] * 5
    sidecar = json.loads((tmp_path / "seed.json").read_text())
    assert sidecar["pulse_samples"] == pulses
    assert sidecar["config"]["pulses"] == 5 and sidecar["config"]["steps"] == 13
    assert (tmp_path / "seed.png").read_bytes()[:4] == b"\x89PNG"


def test_options_reach_the_render(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "s.flac"
    args = ["--pulses", "3", "--steps", "8", "--rotation", "1", "--seconds", "2"]
    args += ["--sample-rate", "16000", "--channels", "2", "--tail-ms", "0"]
    args += ["--subtype", "PCM_24", "--layer", "pulses=1,steps=4,level_db=-6"]
    result = run_cli("seed", "-o", out, *args)
    assert result.exit_code == 0, result.stderr
    audio = load_audio(out)
    assert audio.samples.shape == (2, 32_000)
    # E(3,8) rotated by 1 = [0,0,1,0,0,1,0,1]: steps 2, 5, 7 of 4000 samples; layer at 0 and 8000.
    onsets = np.flatnonzero(audio.samples[0])
    assert onsets.tolist() == [0, 8000, 20000, 28000]
    assert audio.samples[0, 0] == pytest.approx(10 ** (-6 / 20), abs=1e-6)
    assert json.loads((tmp_path / "s.json").read_text())["subtype"] == "PCM_24"


def test_same_seed_same_bytes_via_cli(run_cli: RunCli, tmp_path: Path) -> None:
    for name, seed in (("a.wav", "1"), ("b.wav", "1"), ("c.wav", "2")):
        assert (
            run_cli("seed", "-o", tmp_path / name, "--seed", seed, "--seconds", "1").exit_code == 0
        )
    a, b, c = ((tmp_path / n).read_bytes() for n in ("a.wav", "b.wav", "c.wav"))
    assert a == b != c


BAD = [
    pytest.param(["--pulses", "14"], r"pulses \(14\) cannot exceed steps \(13\)", id="k-above-n"),
    pytest.param(["--steps", "0", "--pulses", "0"], "steps must be >= 1", id="n-below-1"),
    pytest.param(["--pulses", "-1"], "pulses must be >= 0", id="k-negative"),
    pytest.param(["--seconds", "0"], "duration must be > 0", id="duration"),
    pytest.param(["--step-ms", "20000"], "longer than the 10 s buffer", id="step-too-long"),
    pytest.param(["--tail-ms", "800"], "tail of 800 ms is longer than a step", id="tail-too-long"),
    pytest.param(["--excitation", "gong"], "unknown excitation 'gong'", id="excitation"),
    pytest.param(["--sieve", "5@0|"], "malformed sieve", id="sieve"),
    pytest.param(["--layer", "pulses=x"], "pulses must be int", id="layer"),
    pytest.param(["--subtype", "VORBIS"], "'VORBIS' cannot be written to WAV", id="subtype"),
]


@pytest.mark.parametrize(("args", "message"), BAD)
def test_bad_input_exits_2_with_one_line_and_no_file(
    run_cli: RunCli, tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli("seed", "-o", tmp_path / "s.wav", "--plot", *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("latentroom: error: ")
    assert re.search(message, lines[0])
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffix_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    result = run_cli("seed", "-o", tmp_path / "s.mp4")
    assert result.exit_code == 2
    assert "cannot tell the audio format from suffix '.mp4'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_existing_output_needs_force(run_cli: RunCli, tmp_path: Path) -> None:
    png = tmp_path / "s.png"
    png.write_bytes(b"mine")
    result = run_cli("seed", "-o", tmp_path / "s.wav", "--plot")
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"latentroom: error: {png} already exists; pass --force to overwrite it"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["s.png"]
    assert run_cli("seed", "-o", tmp_path / "s.wav", "--plot", "--force").exit_code == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
