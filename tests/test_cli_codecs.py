"""``latentroom codecs`` and the catalog behind it: facts, weights on this machine, counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from latentroom.codecs import get_codec
from latentroom.codecs.catalog import PUBLISHED
from test_codecs_contract import TINY_DAC
from test_codecs_hf import fake_cache

pytestmark = pytest.mark.filterwarnings("ignore:.*weight_norm.*:FutureWarning")


@pytest.fixture(autouse=True)
def empty_hub_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty Hugging Face cache, so results do not depend on this machine's."""
    import huggingface_hub.constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
    return cache


def rows_by_name(run_cli: Callable[..., Any], *args: str) -> dict[str, dict[str, Any]]:
    result = run_cli("codecs", "--json", *args)
    assert result.exit_code == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_facts_match_the_built_model(name: str) -> None:
    facts = PUBLISHED[name]
    built = get_codec(name, random_init=True, device="meta").describe()
    assert (facts.sample_rate, facts.channels) == (built["sample_rate"], built["channels"])
    assert (facts.hop_length, facts.latent_dim) == (built["hop_length"], built["latent_dim"])


def test_json_lists_every_codec_with_exact_frame_rates(run_cli: Callable[..., Any]) -> None:
    rows = rows_by_name(run_cli)
    assert {"mimi", "encodec-24k", "encodec-48k", "dac-16k", "dac-44k", "rave:PATH"} <= set(rows)
    assert rows["dac-44k"]["frame_rate"] == 44_100 / 512
    assert rows["mimi"]["frame_rate"] == 12.5
    assert rows["acestep-vae"]["latent_dim"] == 64
    assert rows["mimi"]["parameters"] is None  # counted only with --params
    assert rows["rave:PATH"]["weights"] == "given by path"
    assert rows["mimi"]["weights"] == "no"


def test_cached_weights_show_as_here(run_cli: Callable[..., Any], empty_hub_cache: Path) -> None:
    saved = get_codec("dac-16k", random_init=True, config_overrides=TINY_DAC)
    fake_cache(empty_hub_cache, "descript/dac_16khz", saved)
    rows = rows_by_name(run_cli)
    assert rows["dac-16k"]["weights"] == "yes"
    assert rows["dac-24k"]["weights"] == "no"


def test_missing_extra_is_named(
    run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "diffusers", None)
    rows = rows_by_name(run_cli)
    assert rows["acestep-vae"]["weights"] == "needs pip install 'latentroom[vae]'"


def test_codecs_without_published_facts_are_built(
    run_cli: Callable[..., Any], tiny_codec_name: str
) -> None:
    row = rows_by_name(run_cli)[tiny_codec_name]
    # TinyConvCodec: Conv1d(1, 8, 160) + ConvTranspose1d(8, 1, 160) = 1288 + 1281 weights
    assert (row["sample_rate"], row["hop_length"], row["frame_rate"]) == (16_000, 160, 100.0)
    assert (row["parameters"], row["weights"]) == (2569, "yes")


@pytest.mark.slow
def test_params_counts_the_full_size_models(run_cli: Callable[..., Any]) -> None:
    rows = rows_by_name(run_cli, "--params")
    assert rows["mimi"]["parameters"] == 79_308_609
    assert round(rows["encodec-24k"]["parameters"] / 1e6, 1) == 14.9
    assert round(rows["dac-44k"]["parameters"] / 1e6, 1) == 76.6
    assert rows["rave:PATH"]["parameters"] is None


def test_table_shows_rates_and_weights(run_cli: Callable[..., Any]) -> None:
    result = run_cli("codecs")
    assert result.exit_code == 0, result.stderr
    dac_line = next(line for line in result.stdout.splitlines() if "dac-44k" in line)
    assert "44100 Hz" in dac_line
    assert "86.13 Hz" in dac_line
    assert "1024" in dac_line
    assert "given by path" in result.stdout


def test_help_names_the_command(run_cli: Callable[..., Any]) -> None:
    result = run_cli("codecs", "--help")
    assert result.exit_code == 0
    assert "List codecs" in result.stdout
    assert "--params" in result.stdout


@pytest.mark.slow
def test_listing_imports_no_model_library(tmp_path: Path) -> None:
    """Without --params the hub rows come from the catalog: transformers / diffusers stay out."""
    code = (
        "import sys; from latentroom.codecs.catalog import codec_rows; codec_rows(); "
        "print(sorted(m for m in ('transformers', 'diffusers') if m in sys.modules))"
    )
    env = {**os.environ, "HF_HUB_CACHE": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]"


def test_codec_names_ignore_case_and_suggest_the_closest() -> None:
    from latentroom.codecs.registry import resolve
    from latentroom.errors import ConfigError

    assert resolve("BuiltIn") == resolve("builtin")
    assert resolve("RAVE:/Models/X.ts")[1] == "/Models/X.ts"  # the path keeps its case
    with pytest.raises(ConfigError, match="unknown codec 'encodec24k'; did you mean 'encodec-24k'"):
        resolve("encodec24k")
