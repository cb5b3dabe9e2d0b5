"""Per-pass level policies in the loop: a room with +30 dB of gain stays safe to hear."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from latentroom.audio import Audio, load_audio
from latentroom.audio.loudness import integrated_loudness, level_dbfs, true_peak_dbfs
from latentroom.errors import ConfigError
from latentroom.feedback import Backend, LoopSettings, default_schedule, start_run
from latentroom.feedback.engine import LoopInput
from latentroom.feedback.manifest import read_manifest

RATE = 16_000
GAIN_DB = 30.0


class _Amplifier(Backend):
    """A room that adds 30 dB each pass: the drum loop that reached +30.8 dBFS, in small."""

    name = "amplifier"
    honoured = frozenset({"strength"})

    def process(self, audio: Audio, params: dict, *, seed: int) -> Audio:
        return audio.with_samples(audio.samples * np.float32(10 ** (GAIN_DB / 20)))


def _tone_input() -> LoopInput:
    t = np.arange(2 * RATE) / RATE
    samples = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]  # -20 dBFS peak
    return LoopInput(Audio(samples, RATE), np.array([0.5, 1.0]), {"kind": "file", "path": "x"})


def _run(tmp_path: Path, level: str, passes: int = 3) -> tuple[Path, dict]:
    out = tmp_path / level.replace(":", "_")
    settings = LoopSettings(default_schedule().with_passes(passes), "amplifier", level=level)
    return out, start_run(out, _tone_input(), settings, backend=_Amplifier())


def test_keep_holds_every_pass_under_the_ceiling_and_records_the_rooms_gain(
    tmp_path: Path,
) -> None:
    out, manifest = _run(tmp_path, "keep")
    assert manifest["level"] == "keep"
    for record in manifest["passes"][1:]:
        audio = load_audio(out / record["file"])
        assert true_peak_dbfs(audio.samples, RATE) <= -1.0 + 0.01
        assert record["level"]["room_gain_db"] == pytest.approx(GAIN_DB, abs=0.01)
        assert record["level"]["gain_db"] < 0 and record["level"]["over_0dbfs"] is False
    assert not any("over full scale" in w for w in manifest["warnings"])
    report = (out / "report.md").read_text()
    assert "- policy: `--level keep`" in report and "over 0 dBFS" not in report
    # The written level is flat after pass 1; the verdict still sees +30 dB per pass (from
    # pass 1 on: a tone is no click train, whose first pass would turn clicks into sound).
    assert (
        "- loudness drifts: **yes** — the room's own gain summed from pass 1 to 3: +90.0" in report
    )


def test_off_writes_what_the_room_made_and_warns(tmp_path: Path) -> None:
    out, manifest = _run(tmp_path, "off", passes=2)
    last = load_audio(out / "iter_02.wav")
    assert level_dbfs(last.samples)[1] == pytest.approx(-20.0 + 2 * GAIN_DB, abs=0.01)
    warnings = [w for w in manifest["warnings"] if "over full scale" not in w]
    assert len(manifest["warnings"]) - len(warnings) == 2  # pass 1 (+10 dBFS) and pass 2
    assert (
        "pass 2 peaks at +40.0 dBFS, over full scale (--level off); lower it with --level keep"
        in (manifest["warnings"])
    )
    assert "**over 0 dBFS**: pass 1, 2" in (out / "report.md").read_text()


def test_lufs_target_and_match_input(tmp_path: Path) -> None:
    out, _ = _run(tmp_path, "lufs:-30", passes=2)
    for name in ("iter_01.wav", "iter_02.wav"):
        audio = load_audio(out / name)
        assert integrated_loudness(audio.samples, RATE) == pytest.approx(-30.0, abs=0.01)
    out, manifest = _run(tmp_path, "match-input", passes=2)
    reference = manifest["passes"][0]["metrics"]["lufs"]
    assert math.isfinite(reference)
    for record in manifest["passes"][1:]:
        assert record["metrics"]["lufs"] == pytest.approx(reference, abs=0.01)


def test_resume_keeps_the_runs_policy(tmp_path: Path) -> None:
    from latentroom.feedback.engine import _continue

    out, whole = _run(tmp_path, "lufs:-30")
    manifest = read_manifest(out)
    manifest["passes"] = manifest["passes"][:2]
    manifest["complete"] = False
    resumed = _continue(out, manifest, _Amplifier(), None, None)
    assert [p["output_sha256"] for p in resumed["passes"]] == [
        p["output_sha256"] for p in whole["passes"]
    ]


def test_a_bad_policy_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--level 'peak:-1' is not a level policy"):
        LoopSettings(default_schedule(), "amplifier", level="peak:-1")
    assert not any(tmp_path.iterdir())
