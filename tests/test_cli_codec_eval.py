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
    levels = metrics["families"]["koenig"]["levels"]
    assert levels["codec"]["n_clips"] == 1 and levels["baseline"] is not None
    report = (out / "report.md").read_text()
    assert "Levels (decoded vs input" in report and "at most 1 per family, spread" in report
    assert metrics["config"]["pick"] == "spread"
    assert (out / "report.md").exists() and (out / "spectrograms.png").exists()
    again = run_cli(*args)
    assert again.exit_code == 2 and "--force" in again.stderr
    assert run_cli(*args, "--force").exit_code == 0


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        pytest.param(("--codec", "no-such-codec"), "unknown codec", id="codec"),
        pytest.param(("--codec", "tiny", "--max-clips", "0"), "max_clips", id="max-clips"),
        pytest.param(("--codec", "tiny", "--pick", "last"), "pick must be one of", id="pick"),
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


def test_codec_eval_baseline_without_train_says_what_it_needs(
    run_cli: Callable[..., Any], tiny_codec_name: str, corpus: Path, tmp_path: Path
) -> None:
    import shutil

    data = tmp_path / "holdout_only"
    shutil.copytree(corpus / "holdout", data / "holdout")
    args = ("codec", "eval", "--codec", "tiny", "--data", data, "-o", tmp_path / "r", "-q")
    result = run_cli(*args, "--baseline")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--baseline fits the PCA + Griffin-Lim baseline on" in result.stderr
    assert "give a corpus with train/ and holdout/" in result.stderr
    assert not (tmp_path / "r").exists()


def test_codec_eval_perceptual_without_the_extra_exits_2_before_work(
    run_cli: Callable[..., Any],
    tiny_codec_name: str,
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from latentroom.evaluation.perceptual import base

    monkeypatch.setattr(base, "missing_packages", lambda: ["torchcrepe"])
    out = tmp_path / "r"
    args = ("codec", "eval", "--codec", "no-such-codec", "--data", tmp_path / "nowhere")
    result = run_cli(*args, "-o", out, "--perceptual")
    assert result.exit_code == 2 and not out.exists()
    assert 'torchcrepe; install them with pip install -e ".[perceptual]"' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_codec_eval_perceptual_reports_measures_per_family(
    run_cli: Callable[..., Any], tiny_codec_name: str, tmp_path: Path
) -> None:
    from latentroom.datasets.speech import espeak_available
    from latentroom.evaluation.perceptual import MEASURES, VOICE_MEASURES
    from latentroom.evaluation.perceptual.base import missing_packages

    if missing_packages():
        pytest.skip(f"missing {missing_packages()}: pip install -e '.[perceptual]'")
    if not espeak_available():
        pytest.skip("espeak-ng binary missing (apt-get install espeak-ng; make test installs it)")
    data = tmp_path / "corpus"
    config = SynthCorpusConfig(
        minutes=4 * 1.5 / 60,
        seed=3,
        sample_rate=16_000,
        clip_seconds=1.5,
        holdout=0.5,
        families=("speech", "additive"),
    )
    build_synth_corpus(data, config)
    out = tmp_path / "report"
    args = ("codec", "eval", "--codec", tiny_codec_name, "--data", data, "-o", out, "--quiet")
    result = run_cli(*args, "--random-init", "--max-clips", "1", "--baseline", "--perceptual")
    assert result.exit_code == 0, result.stderr
    assert "speech: SI-SDR" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    speech = metrics["families"]["speech"]["perceptual"]
    assert list(speech["codec"]) == list(MEASURES) and speech["baseline"] is not None
    additive = metrics["families"]["additive"]["perceptual"]["codec"]
    for name in VOICE_MEASURES:
        assert additive[name]["mean"] is None
        assert additive[name]["not_applicable"] == ["not a voice family"]
    clip = metrics["clips"][0]["codec_perceptual"]["si_sdr"]
    assert set(clip) == {"value", "unit", "reason", "note"} and clip["unit"] == "dB"
    report = (out / "report.md").read_text()
    assert "Perceptual measures, speech" in report and "| pesq | MOS |" in report


def test_codec_eval_perceptual_passes_device_and_pitch_model_through(
    run_cli: Callable[..., Any],
    tiny_codec_name: str,
    corpus: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """--device reaches the torch models of every clip; percussion gets no pitch measures.

    The measures are stood in for (this checks the plumbing, not the models), so it runs without
    the perceptual extra."""
    from latentroom.evaluation import perceptual
    from latentroom.evaluation.perceptual import MEASURES, Measure, base

    calls: list[dict[str, Any]] = []

    def fake_measure_pair(*args: Any, **kwargs: Any) -> dict[str, Measure]:
        calls.append(kwargs)
        return {name: Measure(0.0, unit) for name, (unit, _) in MEASURES.items()}

    monkeypatch.setattr(base, "missing_packages", list)
    monkeypatch.setattr(perceptual, "measure_pair", fake_measure_pair)
    out = tmp_path / "report"
    args = ("codec", "eval", "--codec", tiny_codec_name, "--data", corpus, "-o", out, "--quiet")
    result = run_cli(*args, "--random-init", "--max-clips", "1", "--perceptual",
                     "--device", "cpu", "--pitch-model", "full")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert len(calls) == 2  # one clip of each family, codec only
    assert {c["device"] for c in calls} == {"cpu"} and {c["pitch_model"] for c in calls} == {"full"}
    assert sorted(c["pitch"] for c in calls) == [False, True]  # percussion, koenig
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["perceptual_device"] == "cpu" and config["pitch_model"] == "full"


def test_codec_eval_refuses_an_unknown_pitch_model(
    run_cli: Callable[..., Any], tiny_codec_name: str, corpus: Path, tmp_path: Path
) -> None:
    args = ("codec", "eval", "--codec", tiny_codec_name, "--data", corpus, "-o", tmp_path / "r")
    result = run_cli(*args, "--pitch-model", "large")
    assert result.exit_code == 2 and not (tmp_path / "r").exists()
    assert "pitch_model must be 'tiny' or 'full'; got 'large'" in result.stderr
