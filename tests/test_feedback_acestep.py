"""ACE-Step adapters against a fake ``acestep`` package that records its calls.

ACE-Step cannot run here (no GPU, no weights, not installed): these tests check what the
adapters hand to its API, not what the model does.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from latentroom.errors import BackendUnavailableError
from latentroom.feedback import LoopSettings, default_schedule, get_backend, seed_input, start_run
from latentroom.feedback.schedule import PROMPT, PROMPT_EXTENDED

FAKE_INIT = "CALLS: list = []\n"
FAKE_HANDLER = """
import acestep

class AceStepHandler:
    def initialize_service(self, project_root, config_path, device="auto", **kwargs):
        acestep.CALLS.append(("initialize_service", project_root, config_path, device))
        if config_path == "missing-model":
            return "Error initializing model: no checkpoints\\nTraceback: ...", False
        return "ok", True
"""
FAKE_INFERENCE = """
import os
from dataclasses import asdict, dataclass, field
from typing import Any, Optional

import soundfile as sf
import torch

import acestep

@dataclass
class GenerationParams:
    task_type: str = "text2music"
    src_audio: Optional[str] = None
    caption: str = ""
    lyrics: str = ""
    cover_noise_strength: float = 0.0
    audio_cover_strength: float = 1.0
    guidance_scale: float = 7.0
    inference_steps: int = 8

@dataclass
class GenerationConfig:
    batch_size: int = 2
    use_random_seed: bool = True
    seeds: Optional[list] = None
    audio_format: str = "flac"

@dataclass
class GenerationResult:
    audios: list = field(default_factory=list)
    success: bool = True
    error: Optional[str] = None

def generate_music(dit_handler, llm_handler, params, config, save_dir=None, progress=None):
    source, rate = sf.read(params.src_audio, dtype="float32", always_2d=True)
    acestep.CALLS.append(("generate_music", llm_handler, asdict(params), asdict(config),
                          torch.initial_seed(), source.T.copy(), rate))
    path = os.path.join(save_dir, "out.wav")
    stereo = source if source.shape[1] == 2 else source.repeat(2, axis=1)
    sf.write(path, 0.5 * stereo, rate, subtype="FLOAT")
    return GenerationResult(audios=[{"path": path, "sample_rate": rate}])
"""
FAKE_V1 = """
import os

import soundfile as sf
import torch

import acestep

class ACEStepPipeline:
    def __init__(self, checkpoint_dir=None, device_id=0, dtype="bfloat16"):
        acestep.CALLS.append(("ACEStepPipeline", checkpoint_dir, device_id, dtype))

    def __call__(self, **kwargs):
        acestep.CALLS.append(("__call__", kwargs, torch.initial_seed()))
        source, rate = sf.read(kwargs["ref_audio_input"], dtype="float32", always_2d=True)
        path = os.path.join(kwargs["save_path"], "output_0.wav")
        sf.write(path, source.repeat(2, axis=1), rate, subtype="FLOAT")
        return [path, {"format": kwargs["format"]}]
"""


@pytest.fixture
def fake_acestep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A recording ``acestep`` package on ``sys.path`` for this test only."""
    package = tmp_path / "fake" / "acestep"
    package.mkdir(parents=True)
    for name, text in [
        ("__init__", FAKE_INIT),
        ("handler", FAKE_HANDLER),
        ("inference", FAKE_INFERENCE),
        ("pipeline_ace_step", FAKE_V1),
    ]:
        (package / f"{name}.py").write_text(text)
    for name in [m for m in sys.modules if m == "acestep" or m.startswith("acestep.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(package.parent))
    import acestep

    yield acestep
    for name in [m for m in sys.modules if m == "acestep" or m.startswith("acestep.")]:
        del sys.modules[name]


def test_cover_task_mapping(fake_acestep: Any) -> None:
    backend = get_backend("acestep")
    assert fake_acestep.CALLS == [("initialize_service", ".", "acestep-v15-base", "auto")]
    audio = seed_input({"seconds": 1.0}).audio
    out = backend.process(audio, {"strength": 0.45, "prompt": "hiss", "steps": 32}, seed=123)
    _, llm, params, config, torch_seed, source, rate = fake_acestep.CALLS[-1]
    assert llm is None
    assert params["task_type"] == "cover"
    assert params["caption"] == "hiss"
    assert params["lyrics"] == "[Instrumental]"
    assert params["cover_noise_strength"] == 0.45
    assert params["guidance_scale"] == 15.0  # the backend default when the schedule sets none
    assert params["inference_steps"] == 32
    assert params["audio_cover_strength"] == 1.0
    assert config == {
        "batch_size": 1,
        "use_random_seed": False,
        "seeds": [123],
        "audio_format": "wav",
    }
    assert torch_seed == 123  # torch.manual_seed(seed) right before the call
    assert rate == 48_000
    np.testing.assert_array_equal(source, audio.samples)  # src_audio is the pass input, exactly
    assert out.samples.shape == (2, audio.n_samples)
    np.testing.assert_array_equal(out.samples[1], 0.5 * audio.samples[0])
    assert backend.honoured == {"strength", "guidance", "prompt", "steps"}
    assert backend.notes() == []


def test_turbo_ignores_guidance_and_says_so(fake_acestep: Any, tmp_path: Path) -> None:
    backend = get_backend("acestep", model="acestep-v15-turbo")
    assert "guidance" not in backend.honoured
    assert "turbo model: it ignores guidance" in backend.notes()[0]
    settings = LoopSettings(
        default_schedule().with_passes(2), "acestep", {"model": "acestep-v15-turbo"}, seed=3
    )
    manifest = start_run(tmp_path / "run", seed_input({"seconds": 1.0}), settings, backend=backend)
    warnings = manifest["warnings"]
    assert any("ignores 'guidance'" in w for w in warnings)
    assert any("turbo model" in w for w in warnings)
    calls = [c for c in fake_acestep.CALLS if c[0] == "generate_music"]
    assert [c[2]["caption"] for c in calls] == [PROMPT, PROMPT_EXTENDED]
    assert [c[2]["cover_noise_strength"] for c in calls] == [0.6, 0.45]
    assert [c[3]["seeds"] for c in calls] == [[s] for s in manifest["pass_seeds"]]
    assert manifest["backend"]["model"] == "acestep-v15-turbo"
    assert manifest["passes"][1]["used"] == {"strength": 0.6, "prompt": PROMPT, "steps": 50}
    lufs = [p["metrics"]["lufs"] for p in manifest["passes"]]
    assert lufs[2] == pytest.approx(lufs[1] - 6.02, abs=0.05)  # the fake halves each pass
    on_disk = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert on_disk["backend"]["options"] == {"model": "acestep-v15-turbo"}


def test_model_that_fails_to_load(fake_acestep: Any) -> None:
    with pytest.raises(BackendUnavailableError, match="did not load: Error initializing model"):
        get_backend("acestep", model="missing-model")


def test_v1_audio2audio_mapping(fake_acestep: Any) -> None:
    backend = get_backend("acestep-v1", model="/ckpt")
    assert fake_acestep.CALLS[0] == ("ACEStepPipeline", "/ckpt", 0, "float32")
    audio = seed_input({"seconds": 1.0}).audio
    backend.process(audio, {"strength": 0.6, "guidance": 15.0, "prompt": "p"}, seed=9)
    _, kwargs, torch_seed = fake_acestep.CALLS[-1]
    assert kwargs["audio2audio_enable"] is True
    assert kwargs["ref_audio_strength"] == 0.6
    assert kwargs["guidance_scale"] == 15.0
    assert kwargs["manual_seeds"] == [9] and torch_seed == 9
    assert kwargs["prompt"] == "p" and kwargs["lyrics"] == "[Instrumental]"
    assert kwargs["infer_step"] == 60 and kwargs["format"] == "wav"
    assert kwargs["audio_duration"] == pytest.approx(1.0)


def test_not_installed_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "acestep", None)  # import acestep -> ImportError
    with pytest.raises(BackendUnavailableError, match=r"ACE-Step 1\.5 is not installed"):
        get_backend("acestep")
    with pytest.raises(BackendUnavailableError, match="ACE-Step v1 is not installed"):
        get_backend("acestep-v1")


def test_result_without_a_file_uses_its_tensor() -> None:
    import torch

    from latentroom.feedback.backends.acestep import read_result

    tensor = torch.linspace(-0.5, 0.5, 96).reshape(2, 48)
    ok = SimpleNamespace(
        success=True, audios=[{"path": "", "tensor": tensor, "sample_rate": 48_000}]
    )
    audio = read_result(ok)
    assert audio.sample_rate == 48_000
    np.testing.assert_array_equal(audio.samples, tensor.numpy())
    failed = SimpleNamespace(success=False, audios=[], error="CUDA out of memory")
    with pytest.raises(BackendUnavailableError, match="generation failed: CUDA out of memory"):
        read_result(failed)
