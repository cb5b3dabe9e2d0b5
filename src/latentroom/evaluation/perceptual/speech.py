"""Speech presence: the share of 32 ms frames silero-vad calls speech (ONNX model in its wheel).

``silero_vad.model`` calls ``torch.set_num_threads(1)`` when it is imported; ``load_vad`` puts the
thread count back, so importing it does not slow every other torch model in the process.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from latentroom.evaluation.perceptual.base import MODEL_RATE, Measure, import_optional

CHUNK = 512  # samples per silero-vad decision at 16 kHz (32 ms)
SPEECH_PROBABILITY = 0.5  # silero-vad's default threshold
MIN_CHUNKS = 8  # shorter than 256 ms: too short to call


@functools.lru_cache(maxsize=1)
def load_vad() -> Any:
    """silero-vad's ONNX model (``silero_vad/data/silero_vad.onnx`` from its wheel) on CPU.

    The ONNX model gives the same probabilities as the TorchScript one (``silero_vad.jit``,
    also in the wheel) in about half the time.
    """
    import torch

    threads = torch.get_num_threads()
    try:
        silero_vad = import_optional("silero_vad")
        model = silero_vad.load_silero_vad(onnx=True)
    finally:
        torch.set_num_threads(threads)
    return model


def speech_probabilities(samples: np.ndarray) -> np.ndarray:
    """Speech probability of each 512-sample chunk of 16 kHz mono audio.

    Returns
    -------
    np.ndarray [shape=(ceil(N / 512),)]
    """
    import torch

    model = load_vad()
    model.reset_states()
    audio = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None]
    with torch.inference_mode():
        probabilities = model.audio_forward(audio, MODEL_RATE)
    model.reset_states()
    return probabilities[0].cpu().numpy().astype(np.float64)


def speech_share(samples: np.ndarray) -> Measure:
    """Share (0..1) of 32 ms chunks whose speech probability is at least 0.5.

    Parameters
    ----------
    samples : np.ndarray [shape=(N,)]
        Mono at 16 kHz (see ``base.to_model_rate``).
    """
    if samples.size < MIN_CHUNKS * CHUNK:
        return Measure.skip("", f"shorter than {MIN_CHUNKS * CHUNK / MODEL_RATE:.3f} s")
    probabilities = speech_probabilities(samples)
    return Measure(float(np.mean(probabilities >= SPEECH_PROBABILITY)), "")
