"""``latentroom corpus synth`` in-process: files, determinism, --force, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import soundfile as sf

ARGS = ("--minutes", "0.02", "--sample-rate", "16000", "--clip-seconds", "0.3", "--quiet")


def test_corpus_synth_writes_layout_and_is_deterministic(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "corpus"
    result = run_cli("corpus", "synth", "-o", out, "--seed", "4", "--families", "fm,noise", *ARGS)
    assert result.exit_code == 0, result.stderr
    assert "fm: 1 train, 1 holdout" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 4 and manifest["config"]["families"] == ["fm", "noise"]
    data, rate = sf.read(str(out / "train" / "noise" / "noise_00000.wav"))
    assert rate == 16_000 and data.shape == (4800,)
    again = tmp_path / "again"
    run_cli("corpus", "synth", "-o", again, "--seed", "4", "--families", "fm,noise", *ARGS)
    for path in out.rglob("*.wav"):
        assert path.read_bytes() == (again / path.relative_to(out)).read_bytes()


def test_corpus_synth_refuses_existing_output_without_force(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "corpus"
    out.mkdir()
    result = run_cli("corpus", "synth", "-o", out, "--families", "fm", *ARGS)
    assert result.exit_code == 2
    assert "--force" in result.stderr
    result = run_cli("corpus", "synth", "-o", out, "--families", "fm", "--force", *ARGS)
    assert result.exit_code == 0, result.stderr
    assert (out / "manifest.json").exists()


def test_corpus_synth_bad_values_exit_2_and_write_nothing(
    run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "corpus"
    result = run_cli("corpus", "synth", "-o", out, "--minutes", "-1")
    assert result.exit_code == 2
    assert "minutes must be > 0" in result.stderr
    result = run_cli("corpus", "synth", "-o", out, "--minutes", "1", "--families", "fm,oboe")
    assert result.exit_code == 2
    assert "oboe" in result.stderr
    assert list(tmp_path.iterdir()) == []
