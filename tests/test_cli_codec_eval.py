"""``latentroom codec eval`` in-process with the tiny codec on a tiny synthetic corpus."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from latentroom.datasets.corpus import SynthCorpusConfig, build_synth_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """koenig and percussion: three 0.4 s clips each, one held out."""
    out = tmp_path_factory.mktemp("cli_eval") / "corpus"
    config = SynthCorpusConfig(
        minutes=6 * 0.4 / 60,
        seed=2,
        sample_rate=16_000,
        clip_seconds=0.4,
        holdout=0.3,
        families=("koenig", "percussion"),
    )
    build_synth_corpus(out, config)
    return out


def test_codec_eval_writes_report_with_baseline(
    run_cli: Callable[..., Any], tiny_codec_name: str, corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    args = ("codec", "eval", "--codec", tiny_codec_name, "--data", corpus, "-o", out, "--quiet")
    result = run_cli(*args, "--baseline", "--random-init", "--max-clips", "1")
    assert result.exit_code == 0, result.stderr
    assert "koenig: log-mel L1" in result.stdout and "(baseline" in result.stdout
    assert "koenig: onset preservation" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["codec"]["name"] == "tiny" and metrics["config"]["max_clips"] == 1
    assert set(metrics["families"]) == {"koenig", "percussion"}
    assert metrics["onsets"]["koenig"]["baseline"] is not None
    assert (out / "report.md").exists() and (out / "spectrograms.png").exists()
    again = run_cli(*args)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert run_cli(*args, "--force").exit_code == 0


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        pytest.param(("--codec", "no-such-codec"), "unknown codec", id="codec"),
        pytest.param(("--codec", "tiny", "--max-clips", "0"), "max_clips", id="max-clips"),
    ],
)
def test_codec_eval_bad_input_exits_2_without_files(
    run_cli: Callable[..., Any],
    tiny_codec_name: str,
    corpus: Path,
    tmp_path: Path,
    extra: tuple[str, ...],
    match: str,
) -> None:
    result = run_cli("codec", "eval", "--data", corpus, "-o", tmp_path / "r", *extra)
    assert result.exit_code == 2
    assert match in result.stderr
    assert not (tmp_path / "r").exists()


def test_codec_eval_without_holdout_folder(
    run_cli: Callable[..., Any], tiny_codec_name: str, tmp_path: Path
) -> None:
    result = run_cli("codec", "eval", "--codec", "tiny", "--data", tmp_path, "-o", tmp_path / "r")
    assert result.exit_code == 2
    assert "holdout/<family>" in result.stderr
