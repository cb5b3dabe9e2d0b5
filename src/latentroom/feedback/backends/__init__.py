"""Feedback-loop backends: the interface, the registry, and the room / ACE-Step adapters."""

from __future__ import annotations

from latentroom.feedback.backends.base import (
    Backend,
    Params,
    backend_names,
    check_backend_name,
    get_backend,
    register_backend,
)

__all__ = [
    "Backend",
    "Params",
    "backend_names",
    "check_backend_name",
    "get_backend",
    "register_backend",
]
