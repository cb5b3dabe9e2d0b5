"""The neural feedback loop: schedules, backends, the resumable engine, drift metrics, reports."""

from __future__ import annotations

from latentroom.feedback.backends import Backend, backend_names, get_backend, register_backend
from latentroom.feedback.engine import (
    LoopInput,
    LoopSettings,
    file_input,
    resume_run,
    seed_input,
    start_run,
)
from latentroom.feedback.schedule import Schedule, default_schedule, parse_schedule, pass_seed

__all__ = [
    "Backend",
    "LoopInput",
    "LoopSettings",
    "Schedule",
    "backend_names",
    "default_schedule",
    "file_input",
    "get_backend",
    "parse_schedule",
    "pass_seed",
    "register_backend",
    "resume_run",
    "seed_input",
    "start_run",
]
