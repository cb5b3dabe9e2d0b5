"""``acestep``: ACE-Step 1.5 audio-to-audio (its ``cover`` task) through its Python API.

Read from ace-step/ACE-Step-1.5 (``acestep/inference.py``, ``acestep/handler.py``): a pass is
``generate_music(handler, None, GenerationParams(task_type="cover", ...), GenerationConfig(...))``.
ACE-Step is optional, needs its checkpoints and in practice a GPU. CI tests the parameter mapping
against a fake ``acestep`` package, and runs the real source (when installed) on tiny random-init
checkpoints. The version and checkpoints checks are in ``acestep_setup``.
"""

from __future__ import annotations

import contextlib
import importlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from latentroom.errors import BackendUnavailableError
from latentroom.feedback.backends.acestep_setup import (
    check_checkpoints,
    check_version,
    pinned_checkpoints,
    resolve_checkpoints,
)
from latentroom.feedback.backends.base import Backend, Params, fit_length, reject_options
from latentroom.feedback.schedule import PROMPT

if TYPE_CHECKING:
    from latentroom.audio.types import Audio

INSTALL_15 = (
    "ACE-Step 1.5 is not installed (it is not on PyPI); install it from source: "
    "git clone https://github.com/ace-step/ACE-Step-1.5 && pip install -e ./ACE-Step-1.5"
)
DEFAULT_MODEL = "acestep-v15-base"  # base and sft honour guidance (CFG); turbo ignores it
LYRICS = "[Instrumental]"  # generate_music does not read 'instrumental'; lyrics say it
SAMPLE_RATE = 48_000  # ACE-Step resamples anything else with torchaudio, and on failure drops it
TURBO_MAX_STEPS = 8  # ACE-Step clamps a turbo model's inference_steps to 8


class AceStepBackend(Backend):
    """ACE-Step 1.5 ``cover``: strength -> ``cover_noise_strength``, guidance -> ``guidance_scale``.

    Each pass writes the input (resampled to 48 kHz if needed) to a temporary 32-bit WAV
    (``src_audio``), seeds torch's global generator with the pass seed (ACE-Step's VAE samples
    its posterior from it and takes no generator), and takes the float tensor ACE-Step returns,
    cut or zero-padded to the input's length (ACE-Step pads inputs under 5.12 s and floors others
    to whole latent frames). ACE-Step peak-normalises its output, so the engine's per-pass
    loudness is the record of level changes.
    """

    defaults: ClassVar[Params] = {
        "strength": 0.60,
        "guidance": 15.0,
        "prompt": PROMPT,
        "steps": 50,
    }

    honoured = frozenset({"strength", "guidance", "prompt", "steps"})
    turbo = False

    def __init__(
        self,
        handler: Any,
        api: Any,
        *,
        model: str,
        checkpoints: str | None = None,
        name: str = "acestep",
    ) -> None:
        self.handler = handler
        self.api = api  # the acestep.inference module
        self.model = model
        self.checkpoints = checkpoints
        self.name = name

    def process(self, audio: Audio, params: Params, *, seed: int) -> Audio:
        import torch

        from latentroom.audio.convert import resample

        used = self.used_params(params)
        if audio.sample_rate != SAMPLE_RATE:
            audio = resample(audio, SAMPLE_RATE)
        with source_wav(audio) as (folder, source):
            torch.manual_seed(seed)
            request = self.api.GenerationParams(
                task_type="cover",
                src_audio=str(source),
                caption=str(used["prompt"]),
                lyrics=LYRICS,
                cover_noise_strength=float(used["strength"]),
                guidance_scale=float(params.get("guidance", self.defaults["guidance"])),
                inference_steps=int(used["steps"]),
            )
            config = self.api.GenerationConfig(
                batch_size=1, use_random_seed=False, seeds=[seed], audio_format="wav32"
            )
            result = self.api.generate_music(
                self.handler, None, request, config, save_dir=str(folder)
            )
            out = read_result(result)
        return out.with_samples(fit_length(out.samples, audio.n_samples))

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "model": self.model,
            "turbo": self.turbo,
            "checkpoints": self.checkpoints,
            "package": package_version("ace-step"),
        }


class AceStepTurboBackend(AceStepBackend):
    """A turbo model: ACE-Step ignores its guidance (CFG) and clamps its steps to 8.

    ``used_params`` records the steps it really runs, so the manifest never claims 50.
    """

    honoured = frozenset({"strength", "prompt", "steps"})
    defaults: ClassVar[Params] = {**AceStepBackend.defaults, "steps": TURBO_MAX_STEPS}
    turbo = True

    def used_params(self, params: Params) -> Params:
        """Honoured params with defaults filled in, steps clamped to 8 as ACE-Step does."""
        used = super().used_params(params)
        used["steps"] = min(int(used["steps"]), TURBO_MAX_STEPS)
        return used

    def notes(self) -> list[str]:
        return [
            f"ACE-Step model {self.model} is a turbo model: it ignores guidance (CFG) and "
            f"runs at most {TURBO_MAX_STEPS} steps (more are clamped, and recorded as "
            f"{TURBO_MAX_STEPS}); use acestep-v15-base or acestep-v15-sft to honour them"
        ]


def make_acestep(
    *,
    model: str = DEFAULT_MODEL,
    checkpoints: str | None = None,
    device: str = "auto",
    **options: Any,
) -> AceStepBackend:
    """Registry factory for ``acestep``: load ACE-Step 1.5 with model ``model``.

    ``checkpoints`` is the folder holding ``acestep-v15-turbo/``, ``vae/``,
    ``Qwen3-Embedding-0.6B/``, ``acestep-5Hz-lm-1.7B/`` and ``model``'s folder (default:
    ``$LATENTROOM_ACESTEP_CHECKPOINTS``, else ``$ACESTEP_CHECKPOINTS_DIR``, else
    ``./checkpoints``). It is checked before ACE-Step is called, so ACE-Step never starts a
    download.

    Raises
    ------
    ConfigError
        ``model`` is not a folder name; a checkpoints folder this ACE-Step cannot read.
    BackendUnavailableError
        ACE-Step is not installed or too old, checkpoints are missing, or its models did not load.
    """
    reject_options("acestep", options, ())
    handler_module = import_or_explain("acestep.handler", INSTALL_15)
    api = import_or_explain("acestep.inference", INSTALL_15)
    check_version(importlib.import_module("acestep"), api)
    folder = resolve_checkpoints(checkpoints)
    check_checkpoints(folder, model)
    with pinned_checkpoints(folder, importlib.import_module("acestep.model_downloader")) as root:
        handler = handler_module.AceStepHandler()
        status, ok = handler.initialize_service(project_root=root, config_path=model, device=device)
    if not ok:
        first = str(status).strip().splitlines()[0] if str(status).strip() else "no message"
        raise BackendUnavailableError(f"ACE-Step model {model!r} did not load: {first}")
    is_turbo = getattr(handler, "is_turbo_model", None)  # reads the loaded config's is_turbo
    turbo = bool(is_turbo()) if callable(is_turbo) else "turbo" in model
    kind = AceStepTurboBackend if turbo else AceStepBackend
    return kind(handler, api, model=model, checkpoints=str(folder))


def import_or_explain(module: str, install: str) -> Any:
    """Import ``module`` or raise ``BackendUnavailableError(install)``."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise BackendUnavailableError(install) from err


def package_version(distribution: str) -> str | None:
    """Installed version of ``distribution`` (None when it has no metadata)."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@contextlib.contextmanager
def source_wav(audio: Audio) -> Iterator[tuple[Path, Path]]:
    """A temporary folder holding ``audio`` as ``source.wav``; removed afterwards."""
    from latentroom.audio.io import save_audio

    with tempfile.TemporaryDirectory(prefix="latentroom-acestep-") as folder:
        source = save_audio(Path(folder) / "source.wav", audio)
        yield Path(folder), source


def read_result(result: Any) -> Audio:
    """The first audio of an ACE-Step 1.5 ``GenerationResult``, in float.

    Its ``tensor`` [shape=(C, N)] (float32, what ACE-Step saved); its saved file only when
    there is no tensor.
    """
    from latentroom.audio.io import load_audio
    from latentroom.audio.types import Audio

    if not getattr(result, "success", False) or not result.audios:
        raise BackendUnavailableError(
            f"ACE-Step generation failed: {getattr(result, 'error', None) or 'no audio returned'}"
        )
    first = result.audios[0]
    if first.get("tensor") is not None:
        return Audio(first["tensor"].float().cpu().numpy(), int(first["sample_rate"]))
    return load_audio(first["path"])
