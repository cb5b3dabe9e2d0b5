"""The CLI entry: ``--help`` lists every command, and importing it pulls in nothing heavy."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

# numpy alone costs ~0.2 s of a loaded 2-core machine: more than half the --help budget.
HEAVY = ("numpy", "torch", "matplotlib", "scipy.signal", "transformers", "sklearn", "diffusers")
HEAVY += ("zarr", "soundfile", "rich")


def test_help_lists_every_command_with_a_summary(run_cli: Callable[..., Any]) -> None:
    import typer

    from latentroom.cli.main import app

    result = run_cli("--help")
    assert result.exit_code == 0
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    assert "seed" in commands
    listed = result.stdout.split("Commands:")[1].splitlines()
    for name, command in commands.items():
        line = next((text for text in listed if text.split()[:1] == [name]), None)
        assert line is not None, f"{name} missing from --help"
        assert len(line.split()) > 1, f"{name} has no one-line summary"
        assert command.help, f"{name} has no help text"


def test_importing_the_cli_imports_nothing_heavy() -> None:
    code = (
        "import sys, latentroom.cli.main; "
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == ""


def _leaf_commands() -> list[list[str]]:
    import typer

    from latentroom.cli.main import app

    root = typer.main.get_command(app)
    paths = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subs = getattr(command, "commands", None)
        paths += [[name, sub] for sub in subs] if subs else [[name]]
    return paths


def test_version_and_short_help(run_cli: Callable[..., Any]) -> None:
    from latentroom import __version__

    result = run_cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"latentroom {__version__}"
    assert run_cli("-h").stdout.startswith("Usage: latentroom")


def test_shared_flags_are_spelled_the_same_on_every_command(run_cli: Callable[..., Any]) -> None:
    for path in _leaf_commands():
        text = run_cli(*path, "-h").stdout
        assert text.startswith(f"Usage: latentroom {' '.join(path)}"), path
        for twin in ("--no-force", "--no-quiet", "--no-resume"):
            assert twin not in text, (path, twin)
        if "--quiet" in text:
            assert "-q, --quiet" in text, path
