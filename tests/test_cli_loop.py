"""``latentroom loop``: round trip, bad input (exit 2, one line, no files), kill -9 + resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from latentroom.seeds import SeedConfig, render_seed, write_seed

TESTS = Path(__file__).resolve().parent
CLI_SCRIPT = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
import torch
torch.set_num_threads(1)
from latentroom.codecs.registry import register_codec
register_codec("tiny", "helpers:make_tiny", "test codec")
from latentroom.cli.main import main
main(sys.argv[1:])
"""


@pytest.fixture(scope="module")
def short_seed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seed") / "seed.wav"
    write_seed(render_seed(SeedConfig(seconds=2.0)), path)
    return path


def test_round_trip(
    run_cli: Callable[..., Any], tiny_codec_name: str, short_seed: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = run_cli(
        "loop",
        short_seed,
        "-o",
        out,
        "--backend",
        "room:tiny",
        "--passes",
        "2",
        "--set",
        "gain=0.9",
        "--seed",
        "4",
        "--quiet",
    )
    assert result.exit_code == 0, result.stderr
    assert f"wrote {out / 'report.md'}" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["input"]["kind"] == "file"
    assert len(manifest["input"]["pulse_times"]) == 5  # detected onsets of the 2 s seed
    assert manifest["passes"][2]["used"] == {"strength": 0.45, "gain": 0.9}
    assert manifest["master_seed"] == 4
    assert (out / "iter_02.wav").is_file() and (out / "spectrograms.png").is_file()
    again = run_cli("loop", short_seed, "-o", out, "--backend", "room:tiny", "--passes", "2")
    assert again.exit_code == 2
    assert again.stderr.strip().endswith("already exists; pass --force to overwrite it")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        pytest.param(["--set", "strength=1.5"], "strength = 1.5 is out of range", id="strength"),
        pytest.param(["--passes", "0"], "passes = 0 is out of range", id="passes"),
        pytest.param(["INPUT_MISSING"], "no such file", id="missing-input"),
        pytest.param(["--backend", "nope"], "unknown backend 'nope'", id="backend"),
        pytest.param(["--schedule", "BAD_SCHEDULE"], "unknown key 'strenght'", id="schedule-key"),
        pytest.param(["--model", "x"], "takes no option 'model'", id="room-model"),
        pytest.param(["--level", "peak:-1"], "'peak:-1' is not a level policy", id="level"),
        pytest.param(["--level", "lufs:x"], "must be a finite loudness", id="level-target"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    run_cli: Callable[..., Any], tiny_codec_name: str, tmp_path: Path, args: list[str], match: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("passes = 2\n[[stage]]\nstart = 1\nstrenght = 0.5\n")
    args = [str(bad) if a == "BAD_SCHEDULE" else a for a in args]
    args = [str(tmp_path / "missing.wav") if a == "INPUT_MISSING" else a for a in args]
    backend = [] if "--backend" in args else ["--backend", "room:tiny"]
    result = run_cli("loop", *args, *backend, "-o", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert match in result.stderr
    assert not (tmp_path / "run").exists()


def test_acestep_missing_is_one_line(
    run_cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "acestep", None)
    result = run_cli("loop", "--backend", "acestep", "-o", tmp_path / "run")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "latentroom: error: ACE-Step 1.5 is not installed (it is not on PyPI); install it from "
        "source: git clone https://github.com/ace-step/ACE-Step-1.5 && pip install -e "
        "./ACE-Step-1.5"
    ]
    assert not (tmp_path / "run").exists()


def test_resume_usage_errors(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    mixed = run_cli("loop", "--resume", tmp_path, "--passes", "3")
    assert mixed.exit_code == 2 and "give only RUN_DIR" in mixed.stderr
    level = run_cli("loop", "--resume", tmp_path, "--level", "off")
    assert level.exit_code == 2 and "give only RUN_DIR" in level.stderr
    empty = run_cli("loop", "--resume", tmp_path)
    assert empty.exit_code == 2 and "not a loop run directory" in empty.stderr
    no_output = run_cli("loop")
    assert no_output.exit_code == 2 and "-o/--output" in no_output.stderr


def cli(*args: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-c", CLI_SCRIPT, *map(str, args)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def passes_recorded(run_dir: Path) -> int:
    try:
        return len(json.loads((run_dir / "manifest.json").read_text())["passes"])
    except (FileNotFoundError, json.JSONDecodeError, KeyError):
        return 0


def without_timings(path: Path) -> dict[str, Any]:
    manifest = json.loads(path.read_text())
    manifest.pop("timings")
    return manifest


@pytest.mark.slow
def test_kill_9_then_resume_gives_identical_bytes(short_seed: Path, tmp_path: Path) -> None:
    args = [short_seed, "--backend", "room:tiny", "--passes", "6", "--seed", "11", "--quiet"]
    whole = cli("loop", *args, "-o", tmp_path / "whole")
    killed_dir = tmp_path / "killed"
    victim = cli("loop", *args, "-o", killed_dir)
    deadline = time.monotonic() + 120
    while passes_recorded(killed_dir) < 2 and victim.poll() is None:  # pass 1 is in the manifest
        assert time.monotonic() < deadline, "the run never recorded pass 1"
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    assert whole.wait() == 0, whole.stderr.read() if whole.stderr else ""
    assert not (killed_dir / "report.md").exists()
    resumed = cli("loop", "--resume", killed_dir, "--quiet")
    assert resumed.wait() == 0, resumed.stderr.read() if resumed.stderr else ""
    names = sorted(p.name for p in (tmp_path / "whole").iterdir())
    assert sorted(p.name for p in killed_dir.iterdir()) == names
    for name in names:
        if name != "manifest.json":
            assert (killed_dir / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), (
                name
            )
    assert without_timings(killed_dir / "manifest.json") == without_timings(
        tmp_path / "whole" / "manifest.json"
    )
    timings = json.loads((killed_dir / "manifest.json").read_text())["timings"]
    assert timings["resumed_after_pass"] and timings["resumed_after_pass"][0] >= 1


def test_ctrl_c_says_how_to_resume(
    run_cli: Callable[..., Any],
    tiny_codec_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from latentroom.feedback.backends.room import RoomBackend

    calls = []
    process = RoomBackend.process

    def interrupted(self: RoomBackend, *args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:  # Ctrl-C during pass 2
            raise KeyboardInterrupt
        return process(self, *args, **kwargs)

    monkeypatch.setattr(RoomBackend, "process", interrupted)
    out = tmp_path / "run"
    result = run_cli("loop", "-o", out, "--backend", "room:tiny", "--passes", "2", "-q")
    assert result.exit_code == 130
    assert f"resume with `latentroom loop --resume {out}`" in caplog.text
    assert "interrupted after pass 1" in caplog.text
