"""Entry point of the ``wattwise`` command.

Each command group lives in its own module under ``wattwise.cli`` and exposes ``register(app)``;
add the module's name to ``COMMAND_MODULES`` to switch it on. User errors (:class:`WattwiseError`)
become one ``error:`` line and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

from wattwise.console import make_console
from wattwise.errors import WattwiseError

COMMAND_MODULES = [
    "wattwise.cli.measure",
    "wattwise.cli.estimate",
    "wattwise.cli.grid",
    "wattwise.cli.config",
    "wattwise.cli.schedule",
    "wattwise.cli.report",
    "wattwise.cli.observe",
    "wattwise.cli.train",
    "wattwise.cli.reduce",
    "wattwise.cli.serve",
]

app = typer.Typer(
    name="wattwise",
    help="Measure, predict and reduce the energy and carbon footprint of ML work.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
err_console = make_console(stderr=True)

for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(app)


def _is_usage_error(exc: Exception) -> bool:
    """A command-line usage error (unknown option, missing or bad argument), from click or typer's own copy
    of it (typer >= 0.2x raises ``typer._click`` exceptions, which are not ``click.ClickException``)."""
    import click

    if isinstance(exc, click.ClickException):
        return True
    base = getattr(typer, "TyperException", None)
    return base is not None and isinstance(exc, base) and hasattr(exc, "format_message")


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    try:
        from wattwise.config import check_environment

        check_environment()  # WATTWISE_PUE=abc and the like are errors, not silently ignored
        rc = app(args=argv, standalone_mode=False)
    except WattwiseError as exc:
        err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        cmd = next((a for a in (argv if argv is not None else sys.argv[1:]) if not a.startswith("-")), "")
        err_console.print(f"  hint: {exc.hint or f'see `wattwise {cmd} --help`'.replace('  ', ' ')}", highlight=False)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        err_console.print("aborted")
        return 130
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except SystemExit as exc:  # click's usage errors exit through here
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    except Exception as exc:  # click usage errors (ClickException) and anything unexpected
        if _is_usage_error(exc):
            err_console.print(f"[bold red]error:[/] {exc.format_message()}", highlight=False)  # type: ignore[attr-defined]
            ctx = getattr(exc, "ctx", None)
            err_console.print(f"  hint: see `{ctx.command_path if ctx else 'wattwise'} --help`", highlight=False)
            return int(getattr(exc, "exit_code", 2))
        err_console.print(f"[bold red]error:[/] {type(exc).__name__}: {exc}", highlight=False)
        err_console.print("  hint: this is a bug in wattwise; rerun with WATTWISE_DEBUG=1 for the traceback")
        if __import__("os").environ.get("WATTWISE_DEBUG"):
            raise
        return 1
    return rc if isinstance(rc, int) else 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
