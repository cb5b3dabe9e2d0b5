"""ACE-Step adapters against a fake ``acestep`` package that records its calls.

ACE-Step cannot run here (no GPU, no weights, not installed): these tests check what the
adapters hand to its API, not what the model does.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from latentroom.errors import BackendUnavailableError, ConfigError
from latentroom.feedback import LoopSettings, default_schedule, get_backend, seed_input, start_run
from latentroom.feedback.backends.acestep_setup import ACESTEP_ENV, CHECKPOINTS_ENV, REQUIRED
from latentroom.feedback.schedule import PROMPT, PROMPT_EXTENDED

FAKE_INIT = "CALLS: list = []\n"
FAKE_HANDLER = """
import os

import acestep

class AceStepHandler:
    config_path = None

    def initialize_service(self, project_root, config_path, device="auto", **kwargs):
        env = os.environ.get("ACESTEP_CHECKPOINTS_DIR")
        acestep.CALLS.append(("initialize_service", project_root, config_path, device, env))
        if config_path == "missing-model":
            return "Error initializing model: no checkpoints\\nTraceback: ...", False
        self.config_path = config_path
        return "ok", True

    def is_turbo_model(self):  # ACE-Step reads config.is_turbo of the loaded DiT
        return "turbo" in self.config_path
"""
FAKE_DOWNLOADER = """
import os
from pathlib import Path

def get_checkpoints_dir(custom_dir=None):  # ACE-Step since 2026-04-07: the variable first
    env = os.environ.get("ACESTEP_CHECKPOINTS_DIR")
    return Path(env).expanduser().resolve() if env else Path.cwd() / "checkpoints"
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
    stereo = source if source.shape[1] == 2 else source.repeat(2, axis=1)
    frames = max(128, len(stereo) // 1920) * 1920  # ACE-Step pads to 5.12 s, floors to frames
    out = torch.zeros(2, frames)
    kept = min(frames, len(stereo))
    out[:, :kept] = 0.5 * torch.from_numpy(stereo[:kept].T.copy())
    path = os.path.join(save_dir, "out.wav")  # "wav" is 16-bit, "wav32" float, as in ACE-Step
    subtype = "FLOAT" if config.audio_format == "wav32" else "PCM_16"
    sf.write(path, out.numpy().T, rate, subtype=subtype)
    return GenerationResult(audios=[{"path": path, "tensor": out, "sample_rate": rate}])
"""
OLD_INFERENCE = """
from dataclasses import dataclass

@dataclass
class GenerationParams:  # ACE-Step 1.5 of 2026-02-08 (f30aee4), and the PyPI fork of 2026-02-12
    task_type: str = "text2music"
    src_audio: str = None
    audio_cover_strength: float = 1.0
"""
OLD_HANDLER = """
class AceStepHandler:
    def initialize_service(self, checkpoint_dir, config_path, device="auto"):
        raise AssertionError("an old ACE-Step must be refused before it is called")
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


def _write_package(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / "acestep" / f"{name.replace('.', '/')}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _import_fake(root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in [m for m in sys.modules if m == "acestep" or m.startswith("acestep.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(root))
    import acestep

    yield acestep
    for name in [m for m in sys.modules if m == "acestep" or m.startswith("acestep.")]:
        del sys.modules[name]


def make_checkpoints(folder: Path, *models: str) -> Path:
    """Folders with stand-in weight files, as ACE-Step's checks see them."""
    for name in {*REQUIRED, *models}:
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "model.safetensors").write_bytes(b"stub")
        (folder / name / "silence_latent.pt").write_bytes(b"stub")
    return folder


@pytest.fixture
def checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A complete checkpoints folder for base and sft, named by latentroom's variable."""
    folder = make_checkpoints(
        tmp_path / "ace" / "checkpoints", "acestep-v15-base", "acestep-v15-sft"
    )
    monkeypatch.setenv(CHECKPOINTS_ENV, str(folder))
    monkeypatch.delenv(ACESTEP_ENV, raising=False)
    monkeypatch.delenv("ACESTEP_PROJECT_ROOT", raising=False)
    return folder


@pytest.fixture
def fake_acestep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoints: Path
) -> Iterator[Any]:
    """A recording ACE-Step 1.5 (>= 2026-04-07) on ``sys.path`` for this test only."""
    files = {
        "__init__": FAKE_INIT,
        "handler": FAKE_HANDLER,
        "inference": FAKE_INFERENCE,
        "model_downloader": FAKE_DOWNLOADER,
        "pipeline_ace_step": FAKE_V1,
        "models.__init__": "",
        "core.__init__": "",
        "core.generation.__init__": "",
        "core.generation.handler.__init__": "",
        "core.generation.handler.init_service_orchestrator": "",
    }
    _write_package(tmp_path / "fake", files)
    yield from _import_fake(tmp_path / "fake", monkeypatch)


@pytest.fixture
def old_acestep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, checkpoints: Path
) -> Iterator[Any]:
    """ACE-Step 1.5 without ``cover_noise_strength`` and ``acestep/models/``."""
    files = {"__init__": "", "handler": OLD_HANDLER, "inference": OLD_INFERENCE}
    _write_package(tmp_path / "old", files)
    yield from _import_fake(tmp_path / "old", monkeypatch)


def test_cover_task_mapping(fake_acestep: Any, checkpoints: Path) -> None:
    backend = get_backend("acestep")
    # ACE-Step reads <project_root>/checkpoints, or (since 2026-04-07) the variable, pinned too
    init = ("initialize_service", str(checkpoints.parent), "acestep-v15-base", "auto")
    assert [(*init, str(checkpoints))] == fake_acestep.CALLS
    assert ACESTEP_ENV not in os.environ  # restored afterwards
    assert "ACESTEP_PROJECT_ROOT" not in os.environ
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
        "audio_format": "wav32",
    }
    assert torch_seed == 123  # torch.manual_seed(seed) right before the call
    assert rate == 48_000
    np.testing.assert_array_equal(source, audio.samples)  # src_audio is the pass input, exactly
    assert out.samples.shape == (2, audio.n_samples)  # ACE-Step's padding to 5.12 s is cut
    np.testing.assert_array_equal(out.samples[1], 0.5 * audio.samples[0])
    assert backend.honoured == {"strength", "guidance", "prompt", "steps"}
    assert backend.notes() == []
    described = backend.describe()
    assert described["checkpoints"] == str(checkpoints)
    assert described["turbo"] is False


def test_passes_are_carried_in_float(fake_acestep: Any) -> None:
    from latentroom.audio.types import Audio

    backend = get_backend("acestep")
    value = np.float32(0.3 + 1e-6)  # 16-bit PCM steps are 3e-5: a WAV read-back would lose it
    audio = Audio(np.full((2, 48_000), value, dtype=np.float32), 48_000)
    out = backend.process(audio, {}, seed=1)
    assert out.samples.dtype == np.float32
    np.testing.assert_array_equal(out.samples, np.float32(0.5) * value)


def test_other_rates_are_resampled_before_acestep(fake_acestep: Any) -> None:
    from latentroom.audio.types import Audio

    backend = get_backend("acestep")
    audio = Audio(np.zeros((1, 44_100), dtype=np.float32), 44_100)
    out = backend.process(audio, {}, seed=1)
    *_, source, rate = fake_acestep.CALLS[-1]
    assert rate == 48_000 and source.shape == (1, 48_000)
    assert out.sample_rate == 48_000 and out.n_samples == 48_000


def test_turbo_ignores_guidance_clamps_steps_and_says_so(fake_acestep: Any, tmp_path: Path) -> None:
    backend = get_backend("acestep", model="acestep-v15-turbo")
    assert "guidance" not in backend.honoured
    assert backend.defaults["steps"] == 8
    assert "turbo model: it ignores guidance (CFG) and runs at most 8 steps" in backend.notes()[0]
    settings = LoopSettings(
        default_schedule().with_passes(2).with_overrides(["steps=50"]),
        "acestep",
        {"model": "acestep-v15-turbo"},
        seed=3,
    )
    manifest = start_run(tmp_path / "run", seed_input({"seconds": 1.0}), settings, backend=backend)
    warnings = manifest["warnings"]
    assert any("ignores 'guidance'" in w for w in warnings)
    assert any("turbo model" in w for w in warnings)
    calls = [c for c in fake_acestep.CALLS if c[0] == "generate_music"]
    assert [c[2]["caption"] for c in calls] == [PROMPT, PROMPT_EXTENDED]
    assert [c[2]["cover_noise_strength"] for c in calls] == [0.6, 0.45]
    assert [c[2]["inference_steps"] for c in calls] == [8, 8]
    assert [c[3]["seeds"] for c in calls] == [[s] for s in manifest["pass_seeds"]]
    assert manifest["backend"]["model"] == "acestep-v15-turbo"
    assert manifest["backend"]["turbo"] is True
    assert manifest["passes"][1]["params"]["steps"] == 50  # what the schedule asked
    assert manifest["passes"][1]["used"] == {"strength": 0.6, "prompt": PROMPT, "steps": 8}
    lufs = [p["metrics"]["lufs"] for p in manifest["passes"]]
    assert lufs[2] == pytest.approx(lufs[1] - 6.02, abs=0.05)  # the fake halves each pass
    on_disk = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert on_disk["backend"]["options"] == {"model": "acestep-v15-turbo"}


def test_model_that_fails_to_load(fake_acestep: Any, checkpoints: Path) -> None:
    make_checkpoints(checkpoints, "missing-model")
    with pytest.raises(BackendUnavailableError, match="did not load: Error initializing model"):
        get_backend("acestep", model="missing-model")


@pytest.mark.parametrize("absent", [*REQUIRED, "acestep-v15-base"])
def test_each_missing_checkpoint_is_named_before_acestep_runs(
    fake_acestep: Any, checkpoints: Path, absent: str
) -> None:
    shutil.rmtree(checkpoints / absent)
    with pytest.raises(BackendUnavailableError) as caught:
        get_backend("acestep")
    message = str(caught.value)
    assert f"{checkpoints} lacks {absent} (" in message
    assert "even for acestep-v15-base without its LM" in message
    assert fake_acestep.CALLS == []  # ACE-Step never ran, so it never started a download


def test_a_dit_without_its_silence_latent_is_named(fake_acestep: Any, checkpoints: Path) -> None:
    (checkpoints / "acestep-v15-base" / "silence_latent.pt").unlink()
    with pytest.raises(BackendUnavailableError, match=r"lacks acestep-v15-base/silence_latent\.pt"):
        get_backend("acestep")


def test_no_checkpoints_fails_in_one_line_and_creates_nothing(
    fake_acestep: Any, run_cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CHECKPOINTS_ENV)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    result = run_cli("loop", "--backend", "acestep", "-o", work / "run", "--quiet")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"latentroom: error: ACE-Step checkpoints folder {work / 'checkpoints'} does not exist; "
        f"give the folder with --checkpoints DIR or ${CHECKPOINTS_ENV}"
    ]
    assert list(work.iterdir()) == []  # no empty checkpoints/, no run directory
    assert fake_acestep.CALLS == []


def test_checkpoints_option_on_the_cli(
    fake_acestep: Any, run_cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(CHECKPOINTS_ENV)
    folder = make_checkpoints(tmp_path / "models" / "checkpoints", "acestep-v15-base")
    result = run_cli(
        "loop", "--backend", "acestep", "--checkpoints", folder, "--passes", "1",
        "-o", tmp_path / "run", "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert fake_acestep.CALLS[0][1] == str(folder.parent)
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["backend"]["options"] == {"checkpoints": str(folder)}
    assert manifest["backend"]["checkpoints"] == str(folder)
    room = run_cli("loop", "--checkpoints", folder, "-o", tmp_path / "room", "--quiet")
    assert room.exit_code == 2 and "takes no option 'checkpoints'" in room.stderr


def test_checkpoints_are_resolved_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from latentroom.feedback.backends.acestep_setup import resolve_checkpoints

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(CHECKPOINTS_ENV, raising=False)
    monkeypatch.delenv(ACESTEP_ENV, raising=False)
    assert resolve_checkpoints(None) == tmp_path / "checkpoints"
    monkeypatch.setenv(ACESTEP_ENV, str(tmp_path / "theirs"))
    assert resolve_checkpoints(None) == tmp_path / "theirs"
    monkeypatch.setenv(CHECKPOINTS_ENV, "ours")
    assert resolve_checkpoints(None) == tmp_path / "ours"
    assert resolve_checkpoints("given") == tmp_path / "given"


@pytest.mark.parametrize(
    ("honours_env", "name", "expected"),
    [
        pytest.param(True, "models", "ok", id="env-any-name"),
        pytest.param(False, "checkpoints", "ok", id="project-root"),
        pytest.param(False, "models", "rename", id="project-root-other-name"),
    ],
)
def test_pinned_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, honours_env: bool, name: str, expected: str
) -> None:
    from latentroom.feedback.backends.acestep_setup import pinned_checkpoints

    def get_checkpoints_dir() -> Path:
        env = os.environ.get(ACESTEP_ENV)
        return Path(env) if honours_env and env else tmp_path / "elsewhere"

    downloader = SimpleNamespace(get_checkpoints_dir=get_checkpoints_dir)
    monkeypatch.setenv(ACESTEP_ENV, "users-own")
    monkeypatch.delenv("ACESTEP_PROJECT_ROOT", raising=False)
    folder = tmp_path / name
    if expected == "rename":
        with (
            pytest.raises(ConfigError, match=f"rename {folder} to 'checkpoints'"),
            pinned_checkpoints(folder, downloader),
        ):
            pass
    else:
        with pinned_checkpoints(folder, downloader) as root:
            assert root == str(tmp_path)
            assert os.environ[ACESTEP_ENV] == str(folder)
            assert os.environ["ACESTEP_PROJECT_ROOT"] == str(tmp_path)
    assert os.environ[ACESTEP_ENV] == "users-own"
    assert "ACESTEP_PROJECT_ROOT" not in os.environ


@pytest.mark.parametrize("model", ["../x", "/abs/acestep-v15-base", "", ".."])
def test_model_must_be_a_folder_name(fake_acestep: Any, model: str) -> None:
    with pytest.raises(ConfigError, match="must be a folder name inside the checkpoints folder"):
        get_backend("acestep", model=model)


def test_old_acestep_is_refused_in_one_line(
    old_acestep: Any, run_cli: Callable[..., Any], tmp_path: Path
) -> None:
    result = run_cli("loop", "--backend", "acestep", "-o", tmp_path / "run", "--quiet")
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    where = Path(old_acestep.__file__).parent
    assert lines[0].startswith(
        f"latentroom: error: ACE-Step 1.5 at {where} is too old: it lacks "
        "GenerationParams.cover_noise_strength, the model code acestep/models/, "
        "initialize_service(project_root=...); latentroom needs upstream "
        "ace-step/ACE-Step-1.5 >= a993293 (2026-02-17)"
    )
    assert "TypeError" not in result.stderr
    assert not (tmp_path / "run").exists()


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


def test_result_tensor_first_file_only_without_one(tmp_path: Path) -> None:
    import torch

    from latentroom.audio.io import save_audio
    from latentroom.audio.types import Audio
    from latentroom.feedback.backends.acestep import read_result

    tensor = torch.linspace(-0.5, 0.5, 96).reshape(2, 48)
    saved = save_audio(tmp_path / "saved.wav", Audio(np.zeros((2, 48), np.float32), 48_000))
    ok = SimpleNamespace(
        success=True, audios=[{"path": str(saved), "tensor": tensor, "sample_rate": 48_000}]
    )
    audio = read_result(ok)
    assert audio.sample_rate == 48_000
    np.testing.assert_array_equal(audio.samples, tensor.numpy())
    no_tensor = SimpleNamespace(success=True, audios=[{"path": str(saved), "tensor": None}])
    np.testing.assert_array_equal(read_result(no_tensor).samples, np.zeros((2, 48)))
    failed = SimpleNamespace(success=False, audios=[], error="CUDA out of memory")
    with pytest.raises(BackendUnavailableError, match="generation failed: CUDA out of memory"):
        read_result(failed)
