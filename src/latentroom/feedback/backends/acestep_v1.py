"""``acestep-v1``: ACE-Step v1 audio2audio (``ACEStepPipeline``), whose knobs the protocol's
0.60 strength and 15.0 guidance were written for.

Read from ace-step/ACE-Step (``acestep/pipeline_ace_step.py``): ``audio2audio_enable=True``,
``ref_audio_input`` (the previous pass), ``ref_audio_strength`` (higher keeps more of it),
``guidance_scale``, ``infer_step``, ``manual_seeds``; output files go to the ``save_path`` folder.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from latentroom.feedback.backends.acestep import (
    LYRICS,
    import_or_explain,
    package_version,
    source_wav,
)
from latentroom.feedback.backends.base import Backend, Params, reject_options
from latentroom.feedback.schedule import PROMPT

if TYPE_CHECKING:
    from latentroom.audio.types import Audio

INSTALL_V1 = (
    "ACE-Step v1 is not installed (the PyPI 0.1.0 package lacks audio2audio); install it from "
    "source: pip install git+https://github.com/ace-step/ACE-Step"
)


class AceStepV1Backend(Backend):
    """ACE-Step v1: strength -> ``ref_audio_strength``, guidance -> ``guidance_scale``."""

    honoured = frozenset({"strength", "guidance", "prompt", "steps"})
    defaults: ClassVar[Params] = {
        "strength": 0.60,
        "guidance": 15.0,
        "prompt": PROMPT,
        "steps": 60,
    }

    def __init__(self, pipeline: Any, *, checkpoint: str | None) -> None:
        self.pipeline = pipeline
        self.checkpoint = checkpoint
        self.name = "acestep-v1"

    def process(self, audio: Audio, params: Params, *, seed: int) -> Audio:
        import torch

        from latentroom.audio.io import load_audio

        used = self.used_params(params)
        with source_wav(audio) as (folder, source):
            torch.manual_seed(
                seed
            )  # v1 seeds its diffusion from manual_seeds; this covers the rest
            outputs = self.pipeline(
                format="wav",
                audio_duration=audio.duration,
                prompt=str(used["prompt"]),
                lyrics=LYRICS,
                infer_step=int(used["steps"]),
                guidance_scale=float(used["guidance"]),
                manual_seeds=[seed],
                audio2audio_enable=True,
                ref_audio_strength=float(used["strength"]),
                ref_audio_input=str(source),
                save_path=str(folder),
                batch_size=1,
            )
            return load_audio(outputs[0])

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "model": self.checkpoint,
            "package": package_version("ace-step"),
        }


def make_acestep_v1(
    *, model: str | None = None, device_id: int = 0, dtype: str = "float32", **options: Any
) -> AceStepV1Backend:
    """Registry factory for ``acestep-v1``; ``model`` is the checkpoint folder (None: its default).

    Raises
    ------
    BackendUnavailableError
        ACE-Step v1 is not installed.
    """
    reject_options("acestep-v1", options, ())
    module = import_or_explain("acestep.pipeline_ace_step", INSTALL_V1)
    pipeline = module.ACEStepPipeline(checkpoint_dir=model, device_id=device_id, dtype=dtype)
    return AceStepV1Backend(pipeline, checkpoint=model)
