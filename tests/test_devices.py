"""``latentroom.devices``: resolving devices and dtypes, and codecs placed through ``get_codec``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import latentroom.devices as devices
from helpers import sine
from latentroom.codecs.registry import get_codec
from latentroom.devices import check_dtype, placement, resolve_device, torch_dtype
from latentroom.errors import DeviceError, LatentroomError


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Pretend this machine has ``n_gpus`` CUDA GPUs and MPS or not."""

    def pretend(n_gpus: int, mps: bool = False) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n_gpus > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n_gpus)
        monkeypatch.setattr(devices, "_mps_available", lambda: mps)

    return pretend


@pytest.mark.parametrize(
    ("n_gpus", "mps", "spelling", "resolved"),
    [
        pytest.param(0, False, "auto", "cpu", id="auto-cpu-only"),
        pytest.param(0, True, "auto", "mps", id="auto-mps"),
        pytest.param(2, True, "auto", "cuda:0", id="auto-prefers-cuda"),
        pytest.param(2, False, "cpu", "cpu", id="cpu-beside-gpus"),
        pytest.param(1, False, "cuda", "cuda:0", id="cuda-is-cuda0"),
        pytest.param(2, False, "cuda:1", "cuda:1", id="cuda-index"),
        pytest.param(1, False, " CUDA:0 ", "cuda:0", id="case-and-spaces"),
        pytest.param(0, True, "mps", "mps", id="mps"),
    ],
)
def test_resolve_device(machine, n_gpus: int, mps: bool, spelling: str, resolved: str) -> None:  # type: ignore[no-untyped-def]
    machine(n_gpus, mps)
    assert resolve_device(spelling) == resolved
    assert resolve_device(resolved) == resolved  # idempotent: libraries resolve again


@pytest.mark.parametrize(
    ("n_gpus", "mps", "spelling", "match"),
    [
        pytest.param(
            0, False, "cuda", r"--device cuda: no CUDA GPU.*use --device cpu", id="no-gpu"
        ),
        pytest.param(0, False, "cuda:1", r"--device cuda:1: no CUDA GPU", id="no-gpu-index"),
        pytest.param(2, False, "cuda:2", r"cuda:2: this machine has 2 CUDA GPU\(s\)", id="index"),
        pytest.param(1, False, "tpu", r"unknown device 'tpu'; use auto, cpu, cuda", id="unknown"),
        pytest.param(1, False, "cuda:x", r"unknown device 'cuda:x'", id="bad-index"),
        pytest.param(0, False, "mps", r"--device mps: .* no MPS; use --device cpu", id="no-mps"),
    ],
)
def test_bad_devices_are_one_line_errors(machine, n_gpus, mps, spelling, match) -> None:  # type: ignore[no-untyped-def]
    machine(n_gpus, mps)
    with pytest.raises(DeviceError, match=match) as caught:
        resolve_device(spelling)
    assert isinstance(caught.value, LatentroomError) and isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value)


def test_dtypes() -> None:
    assert torch_dtype("bfloat16") is torch.bfloat16 and torch_dtype("float32") is torch.float32
    assert check_dtype("float16") == "float16"
    with pytest.raises(DeviceError, match=r"unknown dtype 'float64'; use one of float32"):
        check_dtype("float64")
    with pytest.raises(DeviceError, match=r"--dtype bfloat16: the x runs only in float32"):
        check_dtype("bfloat16", allowed=("float32",), what="the x")


def test_placement_describes_itself() -> None:
    assert placement("cpu", "bfloat16").describe() == {
        "device": "cpu",
        "dtype": "bfloat16",
        "device_name": "cpu",
    }


def test_builtin_codec_refuses_half_precision() -> None:
    with pytest.raises(DeviceError, match=r"--dtype bfloat16: the builtin codec .* float32"):
        get_codec("builtin", dtype="bfloat16")
    with pytest.raises(DeviceError, match=r"--dtype float16"):
        get_codec("builtin:/no/such/folder", dtype="float16")


def test_codec_without_device_option_runs_only_on_cpu(machine, tiny_codec_name: str) -> None:  # type: ignore[no-untyped-def]
    machine(1)
    assert get_codec(tiny_codec_name, device="cpu", dtype="float32").device == "cpu"
    with pytest.raises(DeviceError, match=r"codec 'tiny' runs only with device cpu"):
        get_codec(tiny_codec_name, device="cuda")
    with pytest.raises(DeviceError, match=r"codec 'tiny' runs only with dtype float32"):
        get_codec(tiny_codec_name, dtype="bfloat16")


def test_get_codec_refuses_a_missing_gpu(machine) -> None:  # type: ignore[no-untyped-def]
    machine(0)
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        get_codec("builtin", device="cuda")


def test_builtin_codec_records_device_and_dtype() -> None:
    codec = get_codec("builtin", device="cpu")
    trajectory = codec.encode(sine(220.0, seconds=0.2, sample_rate=codec.sample_rate))
    assert (trajectory.meta["device"], trajectory.meta["dtype"]) == ("cpu", "float32")
    assert codec.describe()["device"] == "cpu"


def test_sampled_posterior_uses_a_cpu_generator_whatever_the_device() -> None:
    from latentroom.codecs.builtin_model import posterior_noise

    mu = torch.zeros(1, 3, 5)
    first = posterior_noise(mu, torch.Generator().manual_seed(7))
    again = posterior_noise(mu, torch.Generator().manual_seed(7))
    expected = torch.randn((1, 3, 5), generator=torch.Generator().manual_seed(7))
    assert torch.equal(first, again) and torch.equal(first, expected)


def test_hub_codec_encodes_in_bfloat16_on_cpu() -> None:
    pytest.importorskip("transformers")
    from test_codecs_contract import TINY_DAC

    options = {"random_init": True, "config_overrides": TINY_DAC, "device": "cpu"}
    full = get_codec("dac-16k", **options)
    half = get_codec("dac-16k", **options, dtype="bfloat16")
    assert {p.dtype for p in half.modules_for_count().parameters()} == {torch.bfloat16}
    audio = sine(440.0, seconds=0.1, sample_rate=16_000)
    expected, got = full.encode(audio), half.encode(audio)
    assert got.data.dtype == np.float32 and got.meta["dtype"] == "bfloat16"
    # bfloat16 keeps 8 bits of mantissa: a few per cent of the latents' scale.
    scale = float(np.abs(expected.data).max())
    np.testing.assert_allclose(got.data, expected.data, atol=0.05 * scale)
    decoded = half.decode(got)
    assert decoded.samples.dtype == np.float32 and np.isfinite(decoded.samples).all()


@pytest.mark.parametrize(
    ("backend", "device", "dtype", "options"),
    [
        pytest.param("room:builtin", "cuda:1", "float32", {"device": "cuda:1", "dtype": "float32"}),
        pytest.param("acestep", "cuda:0", "float32", {"device": "cuda"}, id="acestep-spelling"),
        pytest.param("acestep", "cpu", "float32", {"device": "cpu"}, id="acestep-cpu"),
        pytest.param("acestep-v1", "cuda:2", "bfloat16", {"device_id": 2, "dtype": "bfloat16"}),
        pytest.param("acestep-v1", "cpu", "float32", {"dtype": "float32"}, id="v1-cpu"),
    ],
)
def test_loop_backends_get_the_device_their_way(backend, device, dtype, options) -> None:  # type: ignore[no-untyped-def]
    from latentroom.feedback.backends.base import placement_options

    assert placement_options(backend, device, dtype) == options


def test_acestep_backend_refuses_a_dtype() -> None:
    from latentroom.feedback.backends.base import placement_options

    with pytest.raises(DeviceError, match=r"--dtype bfloat16: the acestep backend picks its own"):
        placement_options("acestep", "cuda:0", "bfloat16")
