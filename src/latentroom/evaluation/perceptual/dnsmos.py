"""DNSMOS P.835 (Microsoft; ONNX models inside the speechmos wheel): no-reference speech quality.

The models, their features and the polynomial calibration are speechmos's own
(``speechmos.dnsmos.DNSMOS``); only the window loop is ours. speechmos (like Microsoft's script)
scores 9.01 s windows every 1 s; we score them every 9.01 s, without overlap, by default: the mean
over windows estimates the same mean at a ninth of the cost (an hour of audio: ~6 min -> ~40 s on
2 cores), and a clip of up to 9.01 s gets exactly one window either way. ``hop_seconds=1.0``
reproduces speechmos. Audio shorter than a window is repeated to fill it, as speechmos does.
DNSMOS judges speech: on music or noise its scores mean nothing, so the caller asks for it only
for voice families.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from latentroom.evaluation.perceptual.base import MODEL_RATE, Measure, import_optional

WINDOW_SECONDS = 9.01  # DNSMOS input length
MIN_SECONDS = 0.5  # below this the repeated window is mostly copies of one syllable
FIELDS = ("dnsmos_overall", "dnsmos_signal", "dnsmos_background")


@functools.lru_cache(maxsize=1)
def load_dnsmos() -> Any:
    """speechmos's DNSMOS with only its ``dnsmos_models/sig_bak_ovr.onnx`` session loaded."""
    from pathlib import Path

    ort = import_optional("onnxruntime")
    speechmos = import_optional("speechmos.dnsmos")
    models = Path(str(speechmos.__file__)).parent / "dnsmos_models"
    # speechmos's constructor opens the model and the unused P.808 one with ONNX Runtime's
    # default threads; we need one session with our options, so the object is made without it
    # (``_score_window`` reads only ``onnx_sess`` and the calibration ``get_polyfit_val``).
    model = speechmos.DNSMOS.__new__(speechmos.DNSMOS)
    model.primary_model_path = str(models / "sig_bak_ovr.onnx")
    # One thread: measure_pair runs CREPE on the other core meanwhile, and ONNX Runtime's default
    # (a thread per core) would make the two wait on each other.
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    model.onnx_sess = ort.InferenceSession(model.primary_model_path, options)
    return model


def dnsmos(samples: np.ndarray, *, hop_seconds: float = WINDOW_SECONDS) -> dict[str, Measure]:
    """DNSMOS overall, signal and background quality (each a MOS, 1..5; higher is better).

    Parameters
    ----------
    samples : np.ndarray [shape=(N,)]
        Mono at 16 kHz (see ``base.to_model_rate``); clipped to ±1, which DNSMOS requires.
    hop_seconds : float > 0
        Step between 9.01 s windows (1.0 in speechmos and Microsoft's script).
    """
    if samples.size < MIN_SECONDS * MODEL_RATE:
        reason = f"shorter than {MIN_SECONDS} s"
        return {name: Measure.skip("MOS", reason) for name in FIELDS}
    model = load_dnsmos()
    audio = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    window = int(WINDOW_SECONDS * MODEL_RATE)
    while audio.size < window:
        audio = np.concatenate([audio, audio])
    # window starts as in speechmos: every hop up to floor(seconds) - 9.01 s, at least one
    last = max(0, int((math.floor(audio.size / MODEL_RATE) - WINDOW_SECONDS) * MODEL_RATE))
    starts = range(0, last + 1, round(hop_seconds * MODEL_RATE))
    scores = np.array([_score_window(model, audio[i : i + window]) for i in starts])
    sig, bak, ovr = scores.mean(axis=0)
    note = None if hop_seconds == 1.0 else f"9.01 s windows every {hop_seconds:g} s"
    return {
        "dnsmos_overall": Measure(float(ovr), "MOS", note=note),
        "dnsmos_signal": Measure(float(sig), "MOS", note=note),
        "dnsmos_background": Measure(float(bak), "MOS", note=note),
    }


def _score_window(model: Any, window: np.ndarray) -> tuple[float, float, float]:
    """Calibrated (signal, background, overall) MOS of one 9.01 s window, as speechmos does."""
    raw = model.onnx_sess.run(None, {"input_1": window[None]})[0][0]
    sig, bak, ovr = model.get_polyfit_val(raw[0], raw[1], raw[2], False)
    return float(sig), float(bak), float(ovr)
