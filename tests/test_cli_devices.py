"""``--device`` / ``--dtype`` on every command that runs a model: accepted, recorded, refused.

The refusals pretend the machine has no GPU, so they run (and must pass) on GPU machines too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from helpers import sine
from latentroom.analysis import synthetic
from latentroom.audio.io import save_audio
from latentroom.latents.corpus import write_corpus
from latentroom.latents.trajectory import LatentTrajectory
from test_compose_render import make_project
from test_train_codec import TINY_TRAIN

Run = Callable[..., Any]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Audio, a builtin latent file, a training config, a latent corpus and a compose project."""
    root = tmp_path_factory.mktemp("device_inputs")
    save_audio(root / "in.wav", sine(330.0, seconds=0.5, sample_rate=44_100))
    from latentroom.codecs.registry import get_codec
    from latentroom.latents.files import save_latents

    save_latents(root / "z.npy", get_codec("builtin").encode(sine(330.0, seconds=0.5)))
    (root / "train").mkdir()
    save_audio(root / "train" / "a.wav", sine(220.0, seconds=1.0))
    (root / "tiny.json").write_text(json.dumps({**TINY_TRAIN, "steps": 1}))
    arrays = synthetic.ar1_velocity(12, 30, 2, a=0.9, rng=np.random.default_rng(0))
    write_corpus(root / "c.zarr", [LatentTrajectory(a, 12.5, "synthetic") for a in arrays])
    return {"root": root, "spec": make_project(root / "project")}


def _commands(inputs: dict[str, Path], out: Path) -> dict[str, list[Any]]:
    """Each model-running command, writing into ``out``."""
    root = inputs["root"]
    return {
        "encode": ["encode", root / "in.wav", "-c", "builtin", "-o", out / "z.npy", "-q"],
        "decode": ["decode", root / "z.npy", "-o", out / "y.wav", "-q"],
        "loop": ["loop", root / "in.wav", "-o", out, "--passes", "1", "--quiet"],
        "train": [
            "train",
            "codec",
            "--data",
            root / "train",
            "-o",
            out,
            "--quiet",
            "--config",
            root / "tiny.json",
        ],
        "predict": [
            "analyze",
            "predict",
            root / "c.zarr",
            "-o",
            out,
            "--quiet",
            "--predictors",
            "marginal_diag,mdn",
            "--horizons",
            "1",
            "--max-epochs",
            "1",
            "--rollout-steps",
            "0",
            "--n-boot",
            "20",
        ],
        "compare": [
            "analyze",
            "compare",
            root / "train",
            "-o",
            out,
            "--quiet",
            "--codecs",
            "builtin",
        ],
        "eval": ["codec", "eval", "--codec", "builtin", "--data", root, "-o", out, "--quiet"],
        "render": ["compose", "render", inputs["spec"], "-o", out, "--quiet"],
        "stats": ["compose", "stats", root / "in.wav", "-o", out / "s.json", "--codec", "builtin"],
        "export": ["export", "nn-tilde", "-o", out / "m.ts"],
    }


NAMES = ["encode", "decode", "loop", "train", "predict", "compare", "eval", "render", "stats"]
NAMES += ["export"]


@pytest.mark.parametrize("command", NAMES)
def test_missing_gpu_exits_2_and_writes_nothing(
    run_cli: Run,
    inputs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tiny_codec_name: str,
    command: str,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "out"
    result = run_cli(*_commands(inputs, out)[command], "--device", "cuda")
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("latentroom: error: --device cuda: no CUDA GPU")
    assert "use --device cpu" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not out.exists()


def test_unknown_device_is_refused(run_cli: Run, inputs: dict[str, Path], tmp_path: Path) -> None:
    result = run_cli(*_commands(inputs, tmp_path / "out")["encode"], "--device", "gpu")
    assert result.exit_code == 2
    assert "unknown device 'gpu'; use auto, cpu, cuda" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["encode", "decode", "loop", "render", "stats"])
def test_builtin_refuses_bfloat16(
    run_cli: Run, inputs: dict[str, Path], tmp_path: Path, command: str
) -> None:
    out = tmp_path / "out"
    args = _commands(inputs, out)[command]
    if command == "render":  # the example spec decodes with the builtin codec
        args = ["compose", "render", inputs["root"] / "project" / "builtin.toml", "-o", out]
        text = inputs["spec"].read_text().replace('codec = "tiny"', 'codec = "builtin"')
        args[2].write_text(text)
    result = run_cli(*args, "--device", "cpu", "--dtype", "bfloat16")
    assert result.exit_code == 2, result.stderr
    assert "--dtype bfloat16: the builtin codec" in result.stderr
    assert "use --dtype float32" in result.stderr
    assert not out.exists()


def test_encode_and_decode_record_the_device(
    run_cli: Run, inputs: dict[str, Path], tmp_path: Path
) -> None:
    commands = _commands(inputs, tmp_path)
    assert run_cli(*commands["encode"], "--device", "cpu").exit_code == 0
    sidecar = json.loads((tmp_path / "z.json").read_text())
    assert (sidecar["meta"]["device"], sidecar["meta"]["dtype"]) == ("cpu", "float32")
    assert run_cli(*commands["decode"], "--device", "cpu").exit_code == 0


def test_loop_records_the_device_and_resumes_on_one(
    run_cli: Run, inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = run_cli(*_commands(inputs, out)["loop"], "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["placement"] == {"device": "cpu", "dtype": "float32", "device_name": "cpu"}
    assert manifest["backend"]["codec"]["device"] == "cpu"
    assert manifest["backend"]["options"] == {}  # the device is not part of the run's identity
    refused = run_cli("loop", "--resume", out, "--dtype", "float16")
    assert refused.exit_code == 2 and "give only RUN_DIR" in refused.stderr


def test_train_records_the_device(run_cli: Run, inputs: dict[str, Path], tmp_path: Path) -> None:
    result = run_cli(*_commands(inputs, tmp_path / "m")["train"], "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    info = json.loads((tmp_path / "m" / "model.json").read_text())["training"]
    assert (info["device"], info["dtype"]) == ("cpu", "float32")


def test_predict_records_the_device(run_cli: Run, inputs: dict[str, Path], tmp_path: Path) -> None:
    result = run_cli(*_commands(inputs, tmp_path / "a")["predict"], "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    analysis = json.loads((tmp_path / "a" / "analysis.json").read_text())
    assert analysis["phase1_info"]["placement"]["device"] == "cpu"


def test_render_stats_and_export_accept_the_cpu(
    run_cli: Run, inputs: dict[str, Path], tmp_path: Path, tiny_codec_name: str
) -> None:
    commands = _commands(inputs, tmp_path / "o")
    assert run_cli(*commands["render"], "--device", "cpu").exit_code == 0
    assert run_cli(*commands["stats"], "--device", "cpu").exit_code == 0
    assert run_cli(*commands["export"], "--device", "cpu").exit_code == 0
    assert (tmp_path / "o" / "m.ts").is_file() and (tmp_path / "o" / "s.json").is_file()


def test_codec_eval_records_the_device(run_cli: Run, tmp_path: Path, tiny_codec_name: str) -> None:
    from latentroom.datasets.corpus import SynthCorpusConfig, build_synth_corpus

    config = SynthCorpusConfig(
        minutes=4 * 0.4 / 60, seed=1, sample_rate=16_000, clip_seconds=0.4, holdout=0.5,
        families=("koenig",),
    )  # fmt: skip
    build_synth_corpus(tmp_path / "corpus", config)
    out = tmp_path / "report"
    args = ("codec", "eval", "--codec", "tiny", "--data", tmp_path / "corpus", "-o", out, "-q")
    result = run_cli(*args, "--random-init", "--max-clips", "1", "--device", "cpu")
    assert result.exit_code == 0, result.stderr
    codec = json.loads((out / "metrics.json").read_text())["codec"]
    assert (codec["device"], codec["dtype"]) == ("cpu", "float32")


def test_device_option_reads_the_same_everywhere() -> None:
    import typer

    from latentroom.cli.main import app

    root = typer.main.get_command(app)
    helps = set()
    for path in (["encode"], ["decode"], ["loop"], ["train", "codec"], ["analyze", "predict"],
                 ["analyze", "compare"], ["codec", "eval"], ["compose", "render"],
                 ["compose", "stats"], ["export", "nn-tilde"]):  # fmt: skip
        command = root
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        option = next(p for p in command.params if p.name == "device")
        assert option.default == "auto" and option.opts == ["--device"]
        helps.add(option.help)
    assert len(helps) == 1
