"""The feedback loop: S_{i+1} = Backend(S_i, params_i, seed_i), pass by pass, resumable.

Every pass reads its input back from the run directory and writes its output, metrics and the
manifest before the next starts, so a run killed at any moment resumes from the last finished
pass and ends byte-identical to an uninterrupted run (only ``timings`` in the manifest differ),
and memory does not grow with the number of passes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentroom import __version__
from latentroom.audio.levels import LOOP_MODES, LevelPolicy, level_audio, over_full_scale_warning
from latentroom.errors import ConfigError, LatentroomError
from latentroom.feedback import manifest as mf
from latentroom.feedback.backends.base import Backend, get_backend, placement_options
from latentroom.feedback.metrics import audio_metrics, latent_drift, latent_scale
from latentroom.feedback.schedule import Schedule, pass_seed, schedule_from_dict
from latentroom.feedback.taxonomy import (
    SPEECH_HINT,
    missing_speech_packages,
    speech_share,
    taxonomy_metrics,
)
from latentroom.feedback.verdicts import classify_input, input_class, needs_speech
from latentroom.fileio import locked_dir

if TYPE_CHECKING:
    from latentroom.audio.types import Audio
    from latentroom.codecs.base import Codec
    from latentroom.progress import Progress

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class LoopInput:
    """The signal of pass 0, where its pulses are, and how to make it again."""

    audio: Audio  # [C, N]
    pulse_times: np.ndarray  # [P] seconds: the rhythm the metrics look for
    source: dict[str, Any]  # {"kind": "koenig_seed", "config": ...} or {"kind": "file", ...}


@dataclass(frozen=True)
class LoopSettings:
    """What a run does: schedule, backend, master seed."""

    schedule: Schedule  # per-pass params
    backend: str = "room:builtin"  # registry name
    backend_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"model": ...}
    seed: int = 0  # master seed; pass i gets pass_seed(seed, i)
    level: str = "keep"  # per-pass level policy (latentroom.audio.levels), e.g. "lufs:-23"
    device: str = "cpu"  # where the backend's model runs (latentroom.devices spelling)
    dtype: str = "float32"  # its precision, where the backend lets latentroom choose

    def __post_init__(self) -> None:
        LevelPolicy.parse(self.level, allowed=LOOP_MODES)  # refuse a bad policy before any pass


def build_backend(name: str, options: dict[str, Any], device: str, dtype: str) -> Backend:
    """``get_backend(name, **options)`` placed on ``device`` (resolved here) in ``dtype``."""
    from latentroom.devices import check_dtype, resolve_device

    where = placement_options(name, resolve_device(device), check_dtype(dtype))
    return get_backend(name, **options, **where)


def seed_input(config: dict[str, Any] | None = None) -> LoopInput:
    """The rendered Koenig seed (``SeedConfig.from_dict(config)``; None: the protocol's)."""
    from latentroom.seeds import SeedConfig, render_seed

    rendered = render_seed(SeedConfig.from_dict(config or {}))
    pulses = rendered.pulse_samples / rendered.audio.sample_rate
    source = {"kind": "koenig_seed", "config": rendered.config.to_dict()}
    return LoopInput(rendered.audio, pulses, source)


def file_input(path: str | Path) -> LoopInput:
    """An audio file as pass 0; its detected onsets stand for the pulses."""
    from latentroom.audio.io import load_audio
    from latentroom.feedback.metrics import detect_pulses

    audio = load_audio(path)
    pulses = detect_pulses(audio.samples, audio.sample_rate)
    return LoopInput(audio, pulses, {"kind": "file", "path": str(Path(path).resolve())})


def start_run(
    run_dir: str | Path,
    loop_input: LoopInput,
    settings: LoopSettings,
    *,
    force: bool = False,
    backend: Backend | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run a feedback loop into ``run_dir``; return the final manifest.

    ``backend`` is the already built ``build_backend(...)`` of ``settings`` (None: build it
    here).

    Raises
    ------
    OutputExistsError
        ``run_dir`` holds a run and ``force`` is not set (checked after the backend loaded,
        before anything is written).
    ConfigError, BackendUnavailableError
        An unknown backend or options; a backend that cannot run here.
    """
    run_dir = Path(run_dir)
    if backend is None:
        backend = build_backend(
            settings.backend, settings.backend_options, settings.device, settings.dtype
        )
    check_run_dir(run_dir, force=force, inputs=_input_files(loop_input))
    with locked_dir(run_dir):  # a second loop into the same folder is refused, not mixed in
        check_run_dir(run_dir, force=force)  # again: another run may have finished meanwhile
        mf.clear_run(run_dir)
        manifest = _new_manifest(loop_input, settings, backend)
        for message in manifest["warnings"]:
            logger.warning("%s", message)
        mf.write_manifest(run_dir, manifest)
        return _continue(run_dir, manifest, backend, loop_input, progress)


@dataclass(frozen=True, eq=False)
class OpenRun:
    """A run directory checked for resuming, with its manifest and its rebuilt backend."""

    run_dir: Path
    manifest: dict[str, Any]
    backend: Backend


def open_run(run_dir: str | Path, *, device: str | None = None) -> OpenRun:
    """Check that ``run_dir`` can resume and rebuild its backend, writing nothing.

    The backend runs on ``device`` (None: the device the run recorded; a run from another
    machine may need ``"auto"`` or ``"cpu"``), in the dtype the run recorded.

    Raises
    ------
    ConfigError
        Not a run directory, or a finished pass's file is missing or changed.
    BackendUnavailableError
        The run's backend cannot be built here.
    """
    run_dir = Path(run_dir)
    manifest = mf.read_manifest(run_dir)
    return OpenRun(run_dir, manifest, _check_resumable(run_dir, manifest, device))


def resume_run(run: str | Path | OpenRun, *, progress: Progress | None = None) -> dict[str, Any]:
    """Continue a run after its last finished pass; return the final manifest.

    ``run`` is a run directory or what ``open_run`` returned for it.
    """
    run = run if isinstance(run, OpenRun) else open_run(run)
    with locked_dir(run.run_dir):  # a loop still writing this run refuses a second one
        for leftover in mf.stale_temporaries(run.run_dir):  # a write the kill interrupted
            leftover.unlink()
        manifest = run.manifest
        for message in manifest["warnings"]:
            logger.warning("%s", message)
        manifest["timings"]["resumed_after_pass"].append(len(manifest["passes"]) - 1)
        loop_input = None if manifest["passes"] else _input_from_source(manifest["input"])
        return _continue(run.run_dir, manifest, run.backend, loop_input, progress)


def _check_resumable(run_dir: Path, manifest: dict[str, Any], device: str | None) -> Backend:
    """Refuse a run whose finished files changed; build its backend."""
    for record in manifest["passes"]:
        path = run_dir / record["file"]
        if not path.is_file() or mf.file_sha256(path) != record["output_sha256"]:
            raise ConfigError(
                f"{path}: missing or changed since pass {record['index']} wrote it; "
                "the run cannot resume (start again with --force)"
            )
    record = manifest["backend"]
    placed = manifest.get("placement", {})  # runs from before devices ran on the CPU
    device = device or placed.get("device", "cpu")
    return build_backend(record["name"], record["options"], device, placed.get("dtype", "float32"))


def check_run_dir(run_dir: str | Path, *, force: bool, inputs: list[Path] | None = None) -> None:
    """Refuse a directory holding a run's files (unless ``force``), or one of the ``inputs``.

    Raises
    ------
    OutputExistsError
        The directory holds a run and ``force`` is not set.
    ConfigError
        A run file would overwrite an input file (``--force`` would delete it before pass 0).
    """
    from latentroom.fileio import check_outputs

    check_outputs([Path(run_dir)], force=True, folders=True)  # a file or an unwritable place
    check_outputs(mf.run_paths(Path(run_dir)), force=force, inputs=inputs or [])


def _input_files(loop_input: LoopInput) -> list[Path]:
    source = loop_input.source
    return [Path(source["path"])] if source["kind"] == "file" else []


def _new_manifest(
    loop_input: LoopInput, settings: LoopSettings, backend: Backend
) -> dict[str, Any]:
    schedule = settings.schedule
    return {
        "format_version": mf.FORMAT_VERSION,
        "kind": "feedback_run",
        "latentroom_version": __version__,
        "master_seed": settings.seed,
        "n_passes": schedule.passes,
        "pass_seeds": [pass_seed(settings.seed, i) for i in range(1, schedule.passes + 1)],
        "schedule": schedule.to_dict(),
        "backend": {
            **backend.describe(),
            "name": settings.backend,
            "options": dict(settings.backend_options),
        },
        "placement": _placement(settings),
        "input": {**loop_input.source, "pulse_times": [float(t) for t in loop_input.pulse_times]},
        "latent_codec": None,
        "level": str(LevelPolicy.parse(settings.level, allowed=LOOP_MODES)),
        "warnings": _unhonoured(schedule, backend) + backend.notes() + _loud_input(loop_input),
        "passes": [],
        "complete": False,
        "timings": {"pass_seconds": [], "resumed_after_pass": []},
    }


def _placement(settings: LoopSettings) -> dict[str, Any]:
    """The resolved device and dtype of a run (with the GPU's name), for the manifest."""
    from latentroom.devices import placement

    return placement(settings.device, settings.dtype).describe()


def _unhonoured(schedule: Schedule, backend: Backend) -> list[str]:
    """One warning per param the schedule sets and the backend cannot honour."""
    honoured = ", ".join(sorted(backend.honoured)) or "none"
    return [
        f"backend {backend.name} ignores '{name}' (it honours {honoured}); "
        "the scheduled values are recorded but have no effect"
        for name in schedule.set_params()
        if name not in backend.honoured
    ]


def _loud_input(loop_input: LoopInput) -> list[str]:
    """A warning when the input itself peaks above 0 dBFS (pass 0 is written as given)."""
    from latentroom.audio.loudness import level_dbfs

    peak = level_dbfs(loop_input.audio.samples)[1]
    if peak <= 0.0:
        return []
    return [f"the input peaks at {peak:+.1f} dBFS, over full scale; pass 0 is written as given"]


def _input_from_source(source: dict[str, Any]) -> LoopInput:
    if source["kind"] == "koenig_seed":
        return seed_input(source["config"])
    return file_input(source["path"])


@dataclass
class _LatentState:
    """The latent codec and the only two trajectories kept: pass 0's and the previous pass's."""

    codec: Codec | None
    first: np.ndarray | None = None  # [T, D]
    previous: np.ndarray | None = None  # [T, D]
    scale: np.ndarray | None = None  # [D]

    def encode(self, audio: Audio) -> np.ndarray | None:
        return None if self.codec is None else self.codec.encode(audio).data

    def drifts(self, latents: np.ndarray | None) -> dict[str, float]:
        if latents is None or self.first is None or self.previous is None or self.scale is None:
            return {"drift_prev": float("nan"), "drift_first": float("nan")}
        return {
            "drift_prev": latent_drift(latents, self.previous, self.scale),
            "drift_first": latent_drift(latents, self.first, self.scale),
        }


def _continue(
    run_dir: Path,
    manifest: dict[str, Any],
    backend: Backend,
    loop_input: LoopInput | None,
    progress: Progress | None,
) -> dict[str, Any]:
    """Run every pass not yet recorded, then write metrics, report and figures."""
    from latentroom.audio.checks import check_audio
    from latentroom.audio.io import load_audio
    from latentroom.feedback.report import write_outputs

    schedule = schedule_from_dict(manifest["schedule"])
    # Runs written before level policies existed applied none: resume them the same way.
    policy = LevelPolicy.parse(manifest.get("level", "off"), allowed=LOOP_MODES)
    state = _latent_state(manifest, backend)
    pulses = np.asarray(manifest["input"]["pulse_times"], dtype=np.float64)
    if not manifest["passes"]:
        assert loop_input is not None  # resume_run rebuilds it when pass 0 is missing
        _record_pass(run_dir, manifest, state, loop_input.audio, pulses, {}, 0, time.perf_counter())
    else:
        state.first = state.encode(load_audio(run_dir / mf.iter_name(0)))
        last = len(manifest["passes"]) - 1
        state.previous = state.encode(load_audio(run_dir / mf.iter_name(last)))
        state.scale = None if state.first is None else latent_scale(state.first)
    if progress is not None:
        progress(len(manifest["passes"]) - 1)
    try:
        for index in range(len(manifest["passes"]), schedule.passes + 1):
            started = time.perf_counter()
            audio = load_audio(run_dir / mf.iter_name(index - 1))
            params = schedule.params_at(index)
            seed = manifest["pass_seeds"][index - 1]
            output = backend.process(audio, params, seed=seed)
            output = check_audio(output, source=f"pass {index}")
            output, level = _level_pass(manifest, output, policy, index)
            extra = {"seed": seed, "params": params, "used": backend.used_params(params), **level}
            _record_pass(run_dir, manifest, state, output, pulses, extra, index, started)
            if progress is not None:
                progress(1)
    except KeyboardInterrupt:  # Ctrl-C: every finished pass is on disk, so say how to go on
        logger.warning(
            "interrupted after pass %d; the finished passes are kept: resume with "
            "`latentroom loop --resume %s`",
            len(manifest["passes"]) - 1,
            run_dir,
        )
        raise
    write_outputs(run_dir, manifest)
    manifest["complete"] = True
    mf.write_manifest(run_dir, manifest)
    return manifest


def _level_pass(
    manifest: dict[str, Any], output: Audio, policy: LevelPolicy, index: int
) -> tuple[Audio, dict[str, Any]]:
    """Apply the run's level policy to pass ``index``'s output; return it and its record.

    The record keeps the room's own gain (loudness out before levelling minus the loudness of
    the pass's input), so the metrics see what the room did, not what the policy undid.
    """
    from latentroom.audio.types import Audio

    passes = manifest["passes"]
    samples, decision = level_audio(
        output.samples, output.sample_rate, policy, reference_lufs=passes[0]["metrics"]["lufs"]
    )
    if decision.over_full_scale:
        message = over_full_scale_warning(f"pass {index}", decision)
        manifest["warnings"].append(message)
        logger.warning("%s", message)
    room_gain = decision.lufs_before - passes[-1]["metrics"]["lufs"]
    record = {**decision.to_dict(), "room_gain_db": room_gain if np.isfinite(room_gain) else None}
    return Audio(samples, output.sample_rate), {"level": record}


def _record_pass(
    run_dir: Path,
    manifest: dict[str, Any],
    state: _LatentState,
    audio: Audio,
    pulses: np.ndarray,
    extra: dict[str, Any],
    number: int,
    started: float,
) -> None:
    """Write pass ``number``'s audio (0: the input), measure it, update the manifest."""
    from latentroom.audio.io import save_audio

    path = save_audio(run_dir / mf.iter_name(number), audio)
    latents = state.encode(audio)
    if number == 0:
        state.first = state.previous = latents
        state.scale = None if latents is None else latent_scale(latents)
    mono = np.asarray(audio.samples, dtype=np.float64).mean(axis=0)
    metrics = {
        **audio_metrics(audio.samples, audio.sample_rate, pulses),
        **taxonomy_metrics(mono, audio.sample_rate, pulses),
        "speech_share": _speech_share(manifest, audio, number),
        **state.drifts(latents),
    }
    state.previous = latents
    previous = manifest["passes"][-1]["output_sha256"] if manifest["passes"] else None
    manifest["passes"].append(
        {
            "index": number,
            "file": path.name,
            **extra,
            "input_sha256": previous,
            "output_sha256": mf.file_sha256(path),
            "sample_rate": audio.sample_rate,
            "channels": audio.channels,
            "n_samples": audio.n_samples,
            "metrics": metrics,
        }
    )
    if number == 0:
        _classify_input(manifest, metrics)
    manifest["timings"]["pass_seconds"].append(round(time.perf_counter() - started, 3))
    mf.write_manifest(run_dir, manifest)


def _speech_share(manifest: dict[str, Any], audio: Audio, number: int) -> float:
    """silero-vad's speech share of pass ``number``, or NaN where no verdict needs it.

    The input is always measured (it decides the input's class) when the extra is installed;
    a later pass only when the phantom-voices verdict applies to the input.
    """
    needed = needs_speech(input_class(manifest)) if number else not missing_speech_packages()
    return speech_share(audio.samples, audio.sample_rate) if needed else float("nan")


def _classify_input(manifest: dict[str, Any], first: dict[str, float]) -> None:
    """Record the input's class (which verdicts apply); warn when speech cannot be measured."""
    missing = missing_speech_packages()
    found = classify_input(manifest["input"], first, SPEECH_HINT if missing else None)
    manifest["input"].update(found.to_dict())
    if missing:
        message = (
            f"phantom voices and speech inputs not measured: {', '.join(missing)} not installed "
            f"({SPEECH_HINT})"
        )
        manifest["warnings"].append(message)
        logger.warning("%s", message)


def _latent_state(manifest: dict[str, Any], backend: Backend) -> _LatentState:
    """The codec for latent drift: the backend's own, else ``builtin`` (or none, with a warning)."""
    if backend.codec is not None:
        codec: Codec | None = backend.codec
    else:
        from latentroom.codecs.registry import get_codec

        try:
            codec = get_codec("builtin")
        except LatentroomError as err:  # missing weights, unavailable backend, bad config
            message = f"latent drift not measured: the builtin codec cannot load ({err})"
            if message not in manifest["warnings"]:
                manifest["warnings"].append(message)
                logger.warning("%s", message)
            codec = None
    manifest["latent_codec"] = None if codec is None else codec.name
    return _LatentState(codec)
