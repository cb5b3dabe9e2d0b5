"""``latentroom analyze compare``: two tiny codecs at different rates, one comparison."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from helpers import TinyConvCodec
from latentroom.analysis.compare import CompareConfig
from latentroom.audio.io import save_audio
from latentroom.audio.types import Audio
from latentroom.codecs import registry
from latentroom.codecs.registry import CodecEntry
from latentroom.errors import ConfigError

FAST = [
    "--horizons", "1,2", "--keys", "mean-vq4,pca2-vq4", "--context", "4",
    "--predictors", "marginal_diag,marginal_full,linear,sequence", "--max-epochs", "2",
    "--min-cluster-size", "5", "--n-boot", "20", "-q",
]  # fmt: skip


def make_tiny_50hz(random_init: bool = True, **options: Any) -> TinyConvCodec:
    """A second tiny codec: 16 kHz, hop 320 -> 50 Hz, 6 dims."""
    return TinyConvCodec(hop_length=320, latent_dim=6, seed=1, name="tiny50")


@pytest.fixture
def two_codecs(tiny_codec_name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """ "tiny" (100 Hz) and "tiny50" (50 Hz); "tiny50" leaves the registry after the test."""
    entry = CodecEntry("tiny50", "test_analysis_compare:make_tiny_50hz", "test codec, 50 Hz")
    monkeypatch.setitem(registry._REGISTRY, "tiny50", entry)
    return f"{tiny_codec_name},tiny50"


@pytest.fixture
def audio_dir(tmp_path: Path) -> Path:
    """Nine 1.5 s clips: tones gliding at different speeds plus a little noise."""
    folder = tmp_path / "audio"
    folder.mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(24_000) / 16_000
    for i in range(9):
        freq = 200 + 100 * i + 150 * np.sin(2 * np.pi * (0.5 + 0.1 * i) * t)
        noise = 0.01 * rng.standard_normal(t.size)
        wave = 0.3 * np.sin(2 * np.pi * np.cumsum(freq) / 16_000) + noise
        save_audio(folder / f"clip_{i:02d}.wav", Audio(wave[None].astype(np.float32), 16_000))
    return folder


@pytest.mark.slow
def test_compare_round_trip(
    run_cli: Callable[..., Any], two_codecs: str, audio_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "cmp"
    result = run_cli("analyze", "compare", audio_dir, "-o", out, "--codecs", two_codecs,
                     "--random-init", *FAST)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    data = json.loads((out / "comparison.json").read_text())
    assert data["common_rate"] == 50.0  # the lowest native rate
    tiny, slow = data["codecs"]["tiny-random"], data["codecs"]["tiny50-random"]
    assert tiny["native_rate"] == 100.0 and tiny["architecture_only"]
    assert set(tiny["variants"]) == {"aligned", "native", "decoder-weighted", "decoded-mel"}
    assert "native" not in slow["variants"]  # already at the common rate
    aligned, native = tiny["variants"]["aligned"], tiny["variants"]["native"]
    assert (aligned["frame_rate"], native["frame_rate"]) == (50.0, 100.0)
    assert aligned["n_frames"]["eval"] * 2 == native["n_frames"]["eval"]  # 100 -> 50 Hz pooling
    assert aligned["latent_dim"] == 8 and slow["variants"]["aligned"]["latent_dim"] == 6
    assert set(aligned["learned_key"]["keys"]) == {"learned-vq4", "mean-vq4"}
    assert tiny["sensitivity"]["n_kept"] == 8 and len(tiny["sensitivity"]["per_dim"]) == 8
    assert data["input_mel"]["latent_dim"] == 32
    ig = aligned["phase1"]["linear"]["1"]
    assert ig["ig_bits_per_second"] == pytest.approx(ig["ig_nats_per_frame"] / np.log(2) * 50)
    report = (out / "comparison.md").read_text()
    assert "random: architecture only" in report and "| input audio |" in report
    for name in ("ig_vs_horizon_by_codec.png", "variance_ratio_by_codec.png"):
        assert (out / name).stat().st_size > 1000
    assert (out / "tiny-random" / "aligned" / "analysis.json").exists()
    frames = sorted((out / "corpora" / "tiny-random.zarr" / "frames" / "c").rglob("*"))
    stamps = [f.stat().st_mtime_ns for f in frames]
    again = run_cli("analyze", "compare", audio_dir, "-o", out, "--codecs", two_codecs,
                    "--random-init", *FAST)  # fmt: skip
    assert again.exit_code == 2 and "--force" in again.stderr
    again = run_cli("analyze", "compare", audio_dir, "-o", out, "--codecs", two_codecs,
                    "--random-init", "--force", "--no-native", "--no-decoded-mel",
                    "--no-decoder-aware", "--no-learned-key", *FAST)  # fmt: skip
    assert again.exit_code == 0, again.stderr
    assert [f.stat().st_mtime_ns for f in frames] == stamps  # the stores were reused
    assert json.loads((out / "comparison.json").read_text())["input_mel"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--rate", "75"], "not in (0, 50", id="rate-above-lowest"),
        pytest.param(["--rate", "fast"], "'lowest' or a positive number", id="rate-text"),
        pytest.param(["--normalise", "zscore"], "unknown normalisation", id="normalise"),
        pytest.param(["--codecs", "tiny,tiny"], "distinct codec names", id="repeated-codec"),
        pytest.param(["--checkpoint", "weights"], "list builtin in --codecs", id="checkpoint"),
    ],
)
def test_compare_refuses_bad_settings_before_writing(
    run_cli: Callable[..., Any],
    two_codecs: str,
    audio_dir: Path,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    out = tmp_path / "cmp"
    result = run_cli("analyze", "compare", audio_dir, "-o", out, "--codecs", two_codecs, *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not out.exists()


def test_compare_config_refuses_unknown_settings() -> None:
    with pytest.raises(ConfigError, match="unknown compare settings"):
        CompareConfig.from_dict({"codec": "mimi"})


def test_codec_labels_mark_random_weights() -> None:
    assert CompareConfig(random_init=True).codec_label("mimi") == "mimi-random"
    assert CompareConfig().codec_label("mimi") == "mimi"


def test_codec_labels_of_weight_paths_are_one_folder_name() -> None:
    assert CompareConfig().codec_label("builtin:runs/old builtin/") == "builtin-old_builtin"
    assert CompareConfig(random_init=True).codec_label("rave:/x/m.ts") == "rave-m.ts-random"


def test_compare_group_regex_gives_a_group_disjoint_split(
    run_cli: Callable[..., Any], tiny_codec_name: str, tmp_path: Path
) -> None:
    folder = tmp_path / "audio"
    for speaker in ("spk1", "spk2", "spk3", "spk4", "spk5"):
        (folder / speaker).mkdir(parents=True)
        for i in range(2):
            wave = 0.2 * np.random.default_rng(i).standard_normal(8_000).astype(np.float32)
            save_audio(folder / speaker / f"{i}.wav", Audio(wave[None], 16_000))
    out = tmp_path / "cmp"
    result = run_cli(
        "analyze", "compare", folder, "-o", out, "--codecs", tiny_codec_name,
        "--group-regex", r"/(spk\d)/", "--no-native", "--no-decoder-aware", "--no-decoded-mel",
        "--no-learned-key", "--predictors", "marginal_diag,linear", "--keys", "mean-vq2",
        "--horizons", "1", "--context", "2", "--min-cluster-size", "2", "--n-boot", "10", "-q",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    analysis = json.loads((out / "tiny" / "aligned" / "analysis.json").read_text())
    assert analysis["split"] == "group"
    assert analysis["n_items"]["eval"] == 2  # one speaker of five, both of its files
