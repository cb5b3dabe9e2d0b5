"""The CUDA paths: codecs, training, the MDN and the CLI on a GPU, against the CPU.

Skipped where torch sees no CUDA GPU (CI has none). Tolerances are the ones docs/devices.md
states: relative RMS difference to the CPU <= 1e-2 (cuDNN convolutions use TF32 by default),
and bit-identical repeats of inference on the same device.
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
from latentroom.audio.io import save_audio
from latentroom.codecs.registry import get_codec

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA GPU visible to torch on this machine"
)

RELATIVE_RMS = 1e-2  # GPU vs CPU, docs/devices.md


def relative_rms(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.sqrt(np.mean((got - expected) ** 2) / np.mean(expected**2)))


def test_builtin_codec_on_cuda_agrees_with_cpu_and_repeats_exactly() -> None:
    audio = sine(330.0, seconds=2.0, sample_rate=44_100)
    cpu, gpu = get_codec("builtin", device="cpu"), get_codec("builtin", device="cuda")
    assert gpu.device == "cuda:0" and next(gpu.model.parameters()).is_cuda
    z_cpu, z_gpu = cpu.encode(audio), gpu.encode(audio)
    assert z_gpu.meta["device"] == "cuda:0"
    assert relative_rms(z_gpu.data, z_cpu.data) <= RELATIVE_RMS
    np.testing.assert_array_equal(gpu.encode(audio).data, z_gpu.data)
    y_cpu, y_gpu = cpu.decode(z_cpu), gpu.decode(z_cpu)
    assert relative_rms(y_gpu.samples, y_cpu.samples) <= RELATIVE_RMS
    np.testing.assert_array_equal(gpu.decode(z_cpu).samples, y_gpu.samples)


def test_builtin_sampled_posterior_is_seeded_the_same_on_both_devices() -> None:
    audio = sine(330.0, seconds=1.0, sample_rate=44_100)
    cpu, gpu = get_codec("builtin", device="cpu"), get_codec("builtin", device="cuda")
    draw = [
        codec.encode(audio, generator=torch.Generator().manual_seed(3)).data for codec in (cpu, gpu)
    ]
    assert relative_rms(draw[1], draw[0]) <= RELATIVE_RMS


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_hub_codec_runs_on_cuda_in_each_dtype(dtype: str) -> None:
    pytest.importorskip("transformers")
    from test_codecs_contract import TINY_DAC

    options = {"random_init": True, "config_overrides": TINY_DAC}
    reference = get_codec("dac-16k", **options, device="cpu")
    codec = get_codec("dac-16k", **options, device="cuda", dtype=dtype)
    audio = sine(440.0, seconds=0.5, sample_rate=16_000)
    z = codec.encode(audio)
    assert z.meta["dtype"] == dtype and z.data.dtype == np.float32
    tolerance = RELATIVE_RMS if dtype == "float32" else 0.05  # 8 / 11 bits of mantissa
    assert relative_rms(z.data, reference.encode(audio).data) <= tolerance
    assert np.isfinite(codec.decode(z).samples).all()


def test_training_on_cuda_tracks_cpu(tmp_path: Path) -> None:
    from latentroom.train.config import TrainConfig
    from latentroom.train.loop import train_codec
    from test_train_codec import TINY_TRAIN

    data = tmp_path / "data"
    data.mkdir()
    save_audio(data / "a.wav", sine(220.0, seconds=1.0))
    save_audio(data / "b.wav", sine(550.0, seconds=1.0))
    config = TrainConfig.from_dict({**TINY_TRAIN, "steps": 3})
    runs = {d: train_codec(data, tmp_path / d, config, device=d) for d in ("cpu", "cuda")}
    again = train_codec(data, tmp_path / "cuda2", config, device="cuda")
    assert abs(runs["cuda"].val_loss - runs["cpu"].val_loss) <= 1e-2 * runs["cpu"].val_loss
    # cuDNN's weight gradients may sum in any order: repeats agree to float32 rounding.
    assert again.val_loss == pytest.approx(runs["cuda"].val_loss, rel=1e-4)
    info = json.loads((tmp_path / "cuda" / "model.json").read_text())["training"]
    assert info["device"] == "cuda:0"
    assert get_codec(f"builtin:{tmp_path / 'cuda'}", device="cpu").latent_dim == 4


def test_mdn_and_sequence_train_on_cuda() -> None:
    from latentroom.analysis.data import ArraySource, iter_windows
    from latentroom.analysis.mdn import MixtureDensityPredictor

    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((80, 4)).cumsum(axis=0).astype(np.float32) for _ in range(12)]
    source = ArraySource(arrays, 10.0)
    items = np.arange(len(arrays))

    def windows(rng: np.random.Generator | None) -> Any:
        return iter_windows(source, items, context=4, max_offset=2, chunk_windows=64, rng=rng)

    context = np.stack([a[:4] for a in arrays[:5]])
    for kind in ("mlp", "gru"):
        fitted = {
            d: MixtureDensityPredictor((1, 2), kind=kind, hidden=16, max_epochs=2, device=d).fit(
                windows
            )
            for d in ("cpu", "cuda")
        }
        assert next(fitted["cuda"].network_.parameters()).is_cuda
        scores = {d: m.history_[-1] for d, m in fitted.items()}
        assert abs(scores["cuda"] - scores["cpu"]) <= 2e-2 * abs(scores["cpu"]) + 1e-3
        dist = fitted["cuda"].predict(context)[0]
        assert isinstance(dist.loc, np.ndarray) and np.isfinite(dist.loc).all()
        assert fitted["cuda"].hidden_state(context).shape == (5, 16)


def test_cli_runs_on_cuda_and_records_it(run_cli: Callable[..., Any], tmp_path: Path) -> None:
    save_audio(tmp_path / "in.wav", sine(330.0, seconds=1.0, sample_rate=44_100))
    result = run_cli("encode", tmp_path / "in.wav", "-c", "builtin", "-o", tmp_path / "z.npy")
    assert result.exit_code == 0, result.stderr  # --device auto picks the GPU
    assert json.loads((tmp_path / "z.json").read_text())["meta"]["device"] == "cuda:0"
    run = tmp_path / "run"
    result = run_cli("loop", tmp_path / "in.wav", "-o", run, "--passes", "1", "--device", "cuda")
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["placement"]["device"] == "cuda:0"
    result = run_cli("export", "nn-tilde", "-o", tmp_path / "m.ts", "--device", "cuda")
    assert result.exit_code == 0, result.stderr
    module = torch.jit.load(str(tmp_path / "m.ts"), map_location="cpu")
    assert all(not p.is_cuda for p in module.parameters())


def test_perceptual_torch_models_run_on_cuda_and_agree_with_cpu() -> None:
    """CREPE and the speaker encoder follow ``device``; silero-vad and DNSMOS (ONNX Runtime's CPU
    build) stay on CPU. Tolerances: 5 cents of F0 RMSE, 0.01 of periodicity, cosine 0.999."""
    from latentroom.evaluation.perceptual import pitch, speaker
    from latentroom.evaluation.perceptual.base import missing_packages
    from perceptual_audio import harmonic_tone, speak

    if missing_packages():
        pytest.skip(f"missing {missing_packages()}: pip install -e '.[perceptual]'")
    tone = harmonic_tone(220.0)
    shifted = harmonic_tone(220.0 * 2 ** (50 / 1200))
    on_cpu = pitch.pitch_errors(tone, shifted, device="cpu")
    on_gpu = pitch.pitch_errors(tone, shifted, device="cuda")
    assert next(pitch.import_torchcrepe().infer.model.parameters()).is_cuda
    for name, tolerance in (("f0_rmse_cents", 5.0), ("periodicity_rmse", 1e-2)):
        assert on_gpu[name].value == pytest.approx(on_cpu[name].value, abs=tolerance)
    voice = speak("the river carries light across the stone bridge every morning")
    assert next(speaker.load_encoder("cuda").parameters()).is_cuda
    cpu_embedding = speaker.embed_voice(voice, "cpu")
    gpu_embedding = speaker.embed_voice(voice, "cuda")
    assert cpu_embedding is not None and gpu_embedding is not None
    assert float(cpu_embedding @ gpu_embedding) > 0.999
