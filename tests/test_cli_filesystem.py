"""File-system and size errors: one line naming the path and the fix, exit 2, nothing written."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from latentroom.latents.files import save_latents
from latentroom.latents.trajectory import LatentTrajectory

Run = Callable[..., Any]


def _one_line_exit_2(result: Any, match: str) -> None:
    assert result.exit_code == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("latentroom: error: "), lines
    assert match in lines[0], lines[0]


def test_output_below_a_regular_file(run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = run_cli("seed", "-o", tmp_path / "file" / "seed.wav")
    _one_line_exit_2(result, "is a file, not a folder; choose another path")
    assert (tmp_path / "file").read_text() == "x"


def test_output_naming_an_existing_folder(run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "taken.wav").mkdir()
    result = run_cli("seed", "-o", tmp_path / "taken.wav", "--force")
    _one_line_exit_2(result, "taken.wav is a folder; give a file name for this output")
    assert list((tmp_path / "taken.wav").iterdir()) == []


def test_loop_run_directory_that_is_a_file(run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "run").write_text("x")
    result = run_cli("loop", "-o", tmp_path / "run", "--backend", "room:builtin", "--force")
    _one_line_exit_2(result, "run is a file; give a folder name for this output")
    assert (tmp_path / "run").read_text() == "x"


def test_unwritable_folder_is_refused_before_work(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root ignores permission bits, so the check is exercised through os.access.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    result = run_cli("seed", "-o", tmp_path / "ro" / "seed.wav")
    _one_line_exit_2(result, f"cannot write into {tmp_path}; choose a writable folder")
    assert not (tmp_path / "ro").exists()


def test_a_file_system_refusal_mid_write_is_one_line(
    run_cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import latentroom.fileio as fileio

    def read_only(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system", str(tmp_path / "seed.wav"))

    monkeypatch.setattr(fileio.tempfile, "mkstemp", read_only)
    result = run_cli("seed", "-o", tmp_path / "seed.wav")
    _one_line_exit_2(result, "seed.wav: Read-only file system; the file system is read-only")
    assert list(tmp_path.iterdir()) == []


def test_output_equal_to_the_input_is_refused_even_with_force(run_cli: Run, tmp_path: Path) -> None:
    latents = tmp_path / "z.npy"
    save_latents(latents, LatentTrajectory(np.zeros((4, 16), np.float32), 46.875, "builtin"))
    before = latents.read_bytes()
    result = run_cli("compose", "stats", latents, "-o", latents, "--force")
    _one_line_exit_2(result, "z.npy is also an input; write the output to another path")
    assert latents.read_bytes() == before


def test_a_one_sample_file_encodes_with_the_builtin_codec(run_cli: Run, tmp_path: Path) -> None:
    import soundfile as sf

    sf.write(str(tmp_path / "one.wav"), np.array([0.5], np.float32), 48_000, subtype="FLOAT")
    result = run_cli("encode", tmp_path / "one.wav", "-c", "builtin", "-o", tmp_path / "one.npy")
    assert result.exit_code == 0, result.stderr
    assert "1 frames x 16 dims" in result.stdout


def test_training_on_less_than_one_segment_is_refused(run_cli: Run, tmp_path: Path) -> None:
    import soundfile as sf

    (tmp_path / "data").mkdir()
    sf.write(str(tmp_path / "data" / "one.wav"), np.array([0.5], np.float32), 48_000)
    args = ("--data", tmp_path / "data", "-o", tmp_path / "model", "--steps", "1")
    result = run_cli("train", "codec", *args)
    _one_line_exit_2(result, "is less than one training segment")
    assert not (tmp_path / "model").exists()


@pytest.mark.parametrize("target", ["loop", "encode", "train"])
def test_a_second_writer_of_the_same_output_is_refused(
    run_cli: Run, tiny_codec_name: str, tmp_path: Path, target: str
) -> None:
    # Two loops with different seeds once wrote one folder at once and left a silent mix.
    import soundfile as sf

    from latentroom.fileio import hold_lock, locked_dir

    wav = tmp_path / "in" / "a.wav"
    wav.parent.mkdir()
    noise = 0.1 * np.random.default_rng(0).standard_normal(3 * 16_000)
    sf.write(str(wav), noise.astype(np.float32), 16_000)
    out = tmp_path / {"loop": "run", "encode": "c.zarr", "train": "model"}[target]
    args = {
        "loop": ("loop", wav, "-o", out, "--backend", "room:tiny", "--passes", "1", "-q"),
        "encode": ("encode", wav.parent, "-c", tiny_codec_name, "-o", out, "-q"),
        "train": ("train", "codec", "--data", wav.parent, "-o", out, "--steps", "1", "-q"),
    }[target]
    held = (
        hold_lock(out.with_name(f".{out.name}.lock"), what=out)
        if target == "encode"
        else (locked_dir(out))
    )
    with held:  # another process is writing it
        result = run_cli(*args)
    _one_line_exit_2(result, "is being written by another latentroom process")
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert left == ([] if target == "encode" else [".lock"])
