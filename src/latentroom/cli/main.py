"""Entry point: builds the typer app from the command modules and maps errors to exit code 2.

Command modules import only typer at module level; each command imports the library (and so
torch, transformers, matplotlib) inside its function, so ``latentroom --help`` stays instant.
"""

from __future__ import annotations

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
)

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


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())
