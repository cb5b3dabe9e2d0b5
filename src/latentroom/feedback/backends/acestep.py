"""``acestep``: ACE-Step 1.5 audio-to-audio (its ``cover`` task) through its Python API.

Read from ace-step/ACE-Step-1.5 (``acestep/inference.py``, ``acestep/handler.py``): a pass is
``generate_music(handler, None, GenerationParams(task_type="cover", ...), GenerationConfig(...))``.
ACE-Step is optional, needs its checkpoints and in practice a GPU; it cannot run in CI, where the
parameter mapping is tested against a fake ``acestep`` package.
"""

from __future__ import annotations

import contextlib
import importlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from latentroom.errors import BackendUnavailableError
from latentroom.feedback.backends.base import Backend, Params, reject_options
from latentroom.feedback.schedule import PROMPT

if TYPE_CHECKING:
    from latentroom.audio.types import Audio

INSTALL_15 = (
    "ACE-Step 1.5 is not installed (it is not on PyPI); install it from source: "
    "git clone https://github.com/ace-step/ACE-Step-1.5 && pip install -e ./ACE-Step-1.5"
)
DEFAULT_MODEL = "acestep-v15-base"  # base and sft honour guidance (CFG); turbo ignores it
LYRICS = "[Instrumental]"  # generate_music does not read 'instrumental'; lyrics say it


class AceStepBackend(Backend):
    """ACE-Step 1.5 ``cover``: strength -> ``cover_noise_strength``, guidance -> ``guidance_scale``.

    Each pass writes the input to a temporary WAV (``src_audio``), seeds torch's global
    generator with the pass seed (ACE-Step's VAE samples its posterior from it and takes no
    generator), and reads back the 48 kHz stereo WAV it saves. ACE-Step peak-normalises its
    output, so the engine's per-pass loudness is the record of level changes.
    """

    defaults: ClassVar[Params] = {
        "strength": 0.60,
        "guidance": 15.0,
        "prompt": PROMPT,
        "steps": 50,
    }

    def __init__(self, handler: Any, api: Any, *, model: str, name: str = "acestep") -> None:
        self.handler = handler
        self.api = api  # the acestep.inference module
        self.model = model
        self.name = name
        self.honoured = frozenset(
            {"strength", "prompt", "steps"} | ({"guidance"} - self._cfg_free())
        )

    def _cfg_free(self) -> set[str]:
        return {"guidance"} if "turbo" in self.model else set()

    def process(self, audio: Audio, params: Params, *, seed: int) -> Audio:
        import torch

        used = self.used_params(params)
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
                batch_size=1, use_random_seed=False, seeds=[seed], audio_format="wav"
            )
            result = self.api.generate_music(
                self.handler, None, request, config, save_dir=str(folder)
            )
            return read_result(result)

    def notes(self) -> list[str]:
        if self._cfg_free():
            return [
                f"ACE-Step model {self.model} is a turbo model: it ignores guidance (CFG); "
                "use acestep-v15-base or acestep-v15-sft to honour it"
            ]
        return []

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "model": self.model, "package": package_version("ace-step")}


def make_acestep(
    *, model: str = DEFAULT_MODEL, project_root: str = ".", device: str = "auto", **options: Any
) -> AceStepBackend:
    """Registry factory for ``acestep``: load ACE-Step 1.5 with model ``model``.

    ``project_root``'s ``checkpoints/`` folder holds the weights (or ``ACESTEP_CHECKPOINTS_DIR``).

    Raises
    ------
    BackendUnavailableError
        ACE-Step is not installed, or its models did not load.
    """
    reject_options("acestep", options, ())
    handler_module = import_or_explain("acestep.handler", INSTALL_15)
    api = import_or_explain("acestep.inference", INSTALL_15)
    handler = handler_module.AceStepHandler()
    status, ok = handler.initialize_service(
        project_root=project_root, config_path=model, device=device
    )
    if not ok:
        first = str(status).strip().splitlines()[0] if str(status).strip() else "no message"
        raise BackendUnavailableError(f"ACE-Step model {model!r} did not load: {first}")
    return AceStepBackend(handler, api, model=model)


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
    """The first audio of an ACE-Step 1.5 ``GenerationResult``.

    Its saved file when there is one; else its ``tensor`` [shape=(C, N)] (``generate_music``
    leaves ``path`` empty when saving failed).
    """
    from latentroom.audio.io import load_audio
    from latentroom.audio.types import Audio

    if not getattr(result, "success", False) or not result.audios:
        raise BackendUnavailableError(
            f"ACE-Step generation failed: {getattr(result, 'error', None) or 'no audio returned'}"
        )
    first = result.audios[0]
    if first.get("path"):
        return load_audio(first["path"])
    return Audio(first["tensor"].float().cpu().numpy(), int(first["sample_rate"]))
