"""The `utanforskap` command. Each command lives in its own module under utanforskap.cli
and registers itself on `app`; this module imports them and turns errors into one line."""

from __future__ import annotations

import importlib
import sys

import typer
from rich.console import Console

from utanforskap.errors import UtanforskapError

app = typer.Typer(
    name="utanforskap",
    help="Kartlägger, följer och hjälper till att minska utanförskap i svenska områden.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

# Command modules, in the order they appear in --help.
COMMAND_MODULES = [
    "utanforskap.cli.metoder",
    "utanforskap.cli.konformitet",
    "utanforskap.cli.karta",
    "utanforskap.cli.hamta",
    "utanforskap.cli.importera",
    "utanforskap.cli.rapport",
    "utanforskap.cli.aggregera",
    "utanforskap.cli.rojandekontroll",
    "utanforskap.cli.syntetisk",
    "utanforskap.cli.webb",
]


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name)


def main() -> None:
    _register()
    try:
        app()
    except UtanforskapError as exc:
        err_console.print(f"[bold red]Fel:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
