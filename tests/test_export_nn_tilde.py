"""nn~ export: the TorchScript file has nn~'s methods and buffers and matches the Python model."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from builtin_tiny import TINY_MODEL
from latentroom.codecs.builtin import load_builtin, write_weights
from latentroom.codecs.registry import get_codec
from latentroom.export.nn_tilde import export_nn_tilde

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.*is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    codec = load_builtin(random_init=True, seed=1, **TINY_MODEL)
    path = tmp_path_factory.mktemp("ts") / "tiny.ts"
    export_nn_tilde(path, codec.model, codec.config)
    return path, codec


def test_the_file_declares_what_nn_tilde_reads(exported):
    path, _ = exported
    module = torch.jit.load(str(path))
    assert module.get_methods() == ["encode", "decode", "forward"]
    assert module.get_attributes() == []
    assert module.encode_params.tolist() == [1, 1, 4, 256]
    assert module.decode_params.tolist() == [4, 256, 1, 1]
    assert module.forward_params.tolist() == [1, 1, 1, 1]
    assert module.sr == 16_000
    assert module.get_sample_rate() == 16_000
    module.set_sample_rate(44_100)
    assert module.get_sample_rate() == 16_000  # the model keeps its own rate


@pytest.mark.parametrize("batch", [pytest.param(1, id="nn~"), pytest.param(4, id="mc.nn~")])
def test_methods_take_nn_tilde_buffers_and_match_python(exported, batch):
    path, codec = exported
    module = torch.jit.load(str(path))
    x = torch.randn(batch, 1, 4096, generator=torch.Generator().manual_seed(0)) * 0.1
    with torch.inference_mode():
        z = module.encode(x)
        y = module.decode(z)
        out = module.forward(x)
        z_ref = codec.model.encode(x)
        y_ref = codec.model.decoder(z_ref)
    assert z.shape == (batch, 4, 4096 // 256)
    assert y.shape == out.shape == (batch, 1, 4096)
    torch.testing.assert_close(z, z_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(y, y_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out, y_ref, rtol=1e-5, atol=1e-6)


def test_export_loads_as_a_rave_codec(exported):
    path, _ = exported
    rave = get_codec(f"rave:{path}")
    assert (rave.sample_rate, rave.hop_length, rave.latent_dim) == (16_000, 256, 4)


def test_cli_exports_a_retrained_model(run_cli, tmp_path):
    codec = load_builtin(random_init=True, **TINY_MODEL)
    write_weights(tmp_path / "model", codec.model, codec.config)
    out = tmp_path / "tiny.ts"
    args = ["export", "nn-tilde", "--checkpoint", tmp_path / "model", "-o", out]
    result = run_cli(*args)
    assert result.exit_code == 0, result.stderr
    assert torch.jit.load(str(out)).encode_params.tolist() == [1, 1, 4, 256]
    again = run_cli(*args)
    assert again.exit_code == 2
    assert "pass --force" in again.stderr


def test_cli_refuses_other_codecs(run_cli, tmp_path):
    result = run_cli("export", "nn-tilde", "--codec", "mimi", "-o", tmp_path / "m.ts")
    assert result.exit_code == 2
    assert "only 'builtin' can be exported" in result.stderr


@pytest.mark.parametrize(
    "options",
    [
        {"phase": "increment"},
        {"phase": "dual", "tonal_bins": 40, "n_fft_long": 512, "long_bins": 30},
        {"n_fft_fine": 512, "fine_bins": 40},
    ],
    ids=["increment", "dual-long", "fine"],
)
def test_other_heads_script_and_match(tmp_path, options):
    codec = load_builtin(random_init=True, **TINY_MODEL, **options)
    path = export_nn_tilde(tmp_path / "inc.ts", codec.model, codec.config)
    x = torch.randn(1, 1, 2048, generator=torch.Generator().manual_seed(2)) * 0.1
    with torch.inference_mode():
        torch.testing.assert_close(
            torch.jit.load(str(path)).forward(x), codec.model.decoder(codec.model.encode(x))
        )
