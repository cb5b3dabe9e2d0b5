"""Speaker similarity: cosine of resemblyzer's d-vectors (``pretrained.pt`` in its wheel)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from latentroom.evaluation.perceptual.base import (
    MODEL_RATE,
    Measure,
    import_optional,
    one_cpu_thread,
)

SILENT_RMS = 1e-5  # -100 dBFS
MIN_VOICED_SECONDS = 0.5  # less speech than this after resemblyzer trims silences: no voice
#: 1.6 s partials side by side (resemblyzer's minimum rate) instead of its default 1.3 per second,
#: which overlaps them by half: 5x faster on 30 s of speech; on espeak voices the similarities
#: moved by 0.005-0.015 and kept their order (same voice 0.91, another voice 0.76-0.78)
PARTIALS_PER_SECOND = 0.625


@functools.lru_cache(maxsize=2)
def load_encoder(device: str = "cpu") -> Any:
    """resemblyzer's ``VoiceEncoder`` (3-layer LSTM, 256-d embedding) on ``device``."""
    resemblyzer = import_optional("resemblyzer")
    return resemblyzer.VoiceEncoder(device=device, verbose=False)


def embed_voice(samples: np.ndarray, device: str = "cpu") -> np.ndarray | None:
    """Unit-length 256-d speaker embedding of 16 kHz mono audio; None when too little speech.

    resemblyzer's own preprocessing runs first: volume raised to -30 dBFS, silences longer than
    ~200 ms cut (webrtcvad).
    """
    if float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) < SILENT_RMS:
        return None  # resemblyzer's volume normalisation divides by the level
    resemblyzer = import_optional("resemblyzer")
    # source_sr=None: the audio is already at 16 kHz, so resemblyzer does not resample it
    wav = resemblyzer.preprocess_wav(np.asarray(samples, dtype=np.float32), source_sr=None)
    if wav.size < MIN_VOICED_SECONDS * MODEL_RATE:
        return None
    # The encoder is a chain of small per-step products, each an OpenMP region: on 2 shared
    # cores a 10 s pair took 122-127 s with 2 threads (waiting at every barrier), 1.3-1.5 s with 1.
    with one_cpu_thread(device):
        embedding = load_encoder(device).embed_utterance(wav, rate=PARTIALS_PER_SECOND)
    return np.asarray(embedding, dtype=np.float64)


def speaker_similarity(reference: np.ndarray, estimate: np.ndarray, device: str = "cpu") -> Measure:
    """Cosine similarity (-1..1, in practice 0.5..1) of the two clips' speaker embeddings.

    Not applicable when either clip holds under 0.5 s of speech.

    Parameters
    ----------
    reference, estimate : np.ndarray [shape=(N,)]
        Mono at 16 kHz (see ``base.to_model_rate``).
    device : str
        torch device for the encoder.
    """
    embeddings = []
    for name, samples in (("reference", reference), ("estimate", estimate)):
        embedding = embed_voice(samples, device)
        if embedding is None:
            return Measure.skip("", f"no voice: under {MIN_VOICED_SECONDS} s of speech in {name}")
        embeddings.append(embedding)
    return Measure(float(np.clip(embeddings[0] @ embeddings[1], -1.0, 1.0)), "")
