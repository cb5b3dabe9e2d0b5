"""Entry point: builds the typer app from the command modules and maps errors to exit code 2.

Command modules import only typer at module level; each command imports the library (and so
torch, transformers, matplotlib) inside its function, so ``latentroom --help`` stays instant.
"""

from __future__ import annotations

import errno
import importlib
import logging
import sys
from collections.abc import Sequence

import typer

from latentroom.errors import LatentroomError

# Each module defines ``register(app: typer.Typer) -> None``.
COMMAND_MODULES: list[str] = [
    "latentroom.cli.analyze",
    "latentroom.cli.corpus",
    "latentroom.cli.codec_eval",
    "latentroom.cli.codecs",
    "latentroom.cli.compose",
    "latentroom.cli.export",
    "latentroom.cli.latents",
    "latentroom.cli.loop",
    "latentroom.cli.seed",
    "latentroom.cli.train",
]

app = typer.Typer(
    name="latentroom",
    help="Play, furnish and measure the latent spaces of neural audio models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},  # inherited by every command
)


def _show_version(value: bool) -> None:
    if value:
        from latentroom import __version__

        typer.echo(f"latentroom {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Play, furnish and measure the latent spaces of neural audio models."""


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; any ``LatentroomError`` becomes one stderr line and exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="latentroom: %(levelname)s: %(message)s")
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = app(args=args, prog_name="latentroom", standalone_mode=False)
    except LatentroomError as err:
        print(f"latentroom: error: {_one_line(err)}", file=sys.stderr)
        sys.exit(2)
    except OSError as err:  # the file system said no: a read-only folder, a full disk, ...
        print(f"latentroom: error: {_os_error_line(err)}", file=sys.stderr)
        sys.exit(2)
    except typer.TyperException as err:  # usage errors: typer's vendored click prints them
        show = getattr(err, "show", None)
        if show is None:
            print(f"latentroom: error: {_one_line(err)}", file=sys.stderr)
        else:
            show()
        sys.exit(getattr(err, "exit_code", 2))
    except (typer.Abort, KeyboardInterrupt):
        print("latentroom: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


#: The fix to print for the file-system errors a user can cause, by errno.
_OS_FIXES = {
    errno.EACCES: "choose a folder you can write to (or fix its permissions)",
    errno.EPERM: "choose a folder you can write to (or fix its permissions)",
    errno.EROFS: "the file system is read-only; choose another output folder",
    errno.EISDIR: "that path is a folder; give a file name",
    errno.ENOTDIR: "a part of that path is a file, not a folder; choose another path",
    errno.ENOSPC: "the disk is full; free some space or write elsewhere",
    errno.ENAMETOOLONG: "the name is too long; choose a shorter path",
}


def _os_error_line(err: OSError) -> str:
    """``PATH: what went wrong; the fix`` for a file-system error."""
    where = err.filename if err.filename is not None else "file system"
    fix = _OS_FIXES.get(err.errno or 0, "check the path and try again")
    return f"{where}: {err.strerror or _one_line(err)}; {fix}"


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
