"""The exception hierarchy: one root, input errors also subclass ``ValueError``."""

from __future__ import annotations


def first_line(err: BaseException) -> str:
    """The first line of ``err``'s message (its type name when it has none), to quote in one."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


class LatentroomError(Exception):
    """Root of every error latentroom raises on purpose.

    The CLI prints ``str(error)`` as one line and exits with code 2, so messages name the bad value,
    what is allowed, and the fix.
    """


class InvalidAudioError(LatentroomError, ValueError):
    """An audio file or array cannot be used (missing, corrupt, empty, NaN, bad rate, ...)."""


class ConfigError(LatentroomError, ValueError):
    """A parameter, schedule, spec or config value is out of range, malformed or unknown."""


class InvalidLatentError(LatentroomError, ValueError):
    """A latent trajectory or latent file is malformed (shape, dtype, NaN, missing sidecar, ...)."""


class OutputExistsError(LatentroomError, FileExistsError):
    """An output path exists and overwriting was not asked for (``--force``)."""


class BackendUnavailableError(LatentroomError, RuntimeError):
    """A model backend cannot run here: missing optional dependency, missing weights, no GPU."""


class DeviceError(LatentroomError, ValueError):
    """A device or dtype is unknown, absent on this machine, or not one the model can take."""


class CheckpointError(LatentroomError, ValueError):
    """A checkpoint is corrupted, from another format version, or does not match its config."""


class AnalysisQualityError(LatentroomError, RuntimeError):
    """``--strict``: an analysis holds quantities without data behind them or failed fits."""
