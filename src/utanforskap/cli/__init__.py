"""The `utanforskap` command. Each command lives in its own module under utanforskap.cli
and registers itself on `app`; this module imports them and turns errors into one line."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import TYPE_CHECKING

import typer

from utanforskap.cli import svenska
from utanforskap.errors import UtanforskapError

svenska.install()

app = typer.Typer(
    name="utanforskap",
    help="Kartlägger, följer och hjälper till att minska utanförskap i svenska områden.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["app", "console", "err_console", "main", "say"]


def __getattr__(name: str) -> Console:
    """`console` and `err_console`, made on first use: a command that prints one plain
    line (`berakna`) does without rich, whose import costs about 25 ms of start-up."""
    if name not in ("console", "err_console"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    made = globals()[name] = Console(stderr=name == "err_console")
    return made


def say(text: str) -> None:
    """Print one plain line (no markup, nothing highlighted) on standard output."""
    print(text, flush=True)

# Command modules, in the order they appear in --help, with the commands each registers.
# `utanforskap <kommando>` imports only that command's module (start-up time: typer builds
# every registered command before it runs one); --help, --version and a name that is not a
# command import them all. tests/test_startup.py checks that the names match.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "utanforskap.cli.metoder": ("metoder", "berakna", "frys"),
    "utanforskap.cli.konformitet": ("konformitet",),
    "utanforskap.cli.karta": ("karta", "kalibrera", "jamfor"),
    "utanforskap.cli.hamta": ("hamta",),
    "utanforskap.cli.importera": ("importera",),
    "utanforskap.cli.rapport": ("rapport",),
    "utanforskap.cli.aggregera": ("aggregera",),
    "utanforskap.cli.rojandekontroll": ("rojandekontroll",),
    "utanforskap.cli.syntetisk": ("syntetisk",),
    "utanforskap.cli.webb": ("webb",),
    "utanforskap.cli.robusthet": ("robusthet",),
    "utanforskap.cli.effekt": ("effekt",),
    "utanforskap.cli.anvandare": ("anvandare",), "utanforskap.cli.insatser": ("insatser",),
    "utanforskap.cli.uppfoljning": ("uppfoljning",),
}


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            v = version("utanforskap")
        except PackageNotFoundError:  # run from a checkout without installing
            from utanforskap import __version__ as v
        say(f"utanforskap {v}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Visa programmets version och avsluta.", callback=_version, is_eager=True),
) -> None:
    """Kartlägger, följer och hjälper till att minska utanförskap i svenska områden."""


def _register(command: str | None = None) -> None:
    """Import the module of `command`, or every command module when it names none."""
    modules = [m for m, names in COMMAND_MODULES.items() if command in names] or list(COMMAND_MODULES)
    for name in modules:
        importlib.import_module(name)


def main() -> None:
    # The project uses no pydantic plugins; looking for them reads every installed package's
    # metadata (about 20 ms per command). A user who has plugins can set the variable.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    _register(sys.argv[1] if len(sys.argv) > 1 else None)
    try:
        app(prog_name="utanforskap")
    except UtanforskapError as exc:
        fail(str(exc))
    except OSError as exc:
        # A file the user named cannot be read or written (read-only, a folder, a file as parent, disk full).
        fail(os_error_text(exc))
    except MemoryError:
        fail("minnet räcker inte till den här körningen; minska uppgiften (t.ex. färre personer) eller använd en större dator")
    except RecursionError:
        fail("indata är för djupt nästlade för att läsas (en TOML- eller JSON-fil med tusentals nivåer?)")
    finally:
        # The process ends here (typer exits by SystemExit). Python's shutdown would run the
        # cyclic collector over every object polars, pydantic and the command made (about
        # 50 000 after `berakna`: 60-80 ms of a 0.5 s command); frozen objects are skipped.
        # Files, atexit handlers and threads are closed and joined as usual. Not after DuckDB:
        # its bindings print a warning for each of their objects still alive at exit, and
        # some are freed only by that last collection.
        if "duckdb" not in sys.modules:
            gc.freeze()


def fail(message: str) -> None:
    """Print one line 'Fel: ...' (user text escaped, never read as Rich markup) and exit 2."""
    from rich.markup import escape

    from utanforskap.cli import err_console  # made here, by __getattr__

    err_console.print("[bold red]Fel:[/] " + escape(message), highlight=False, soft_wrap=True)
    sys.exit(2)


def os_error_text(exc: OSError) -> str:
    """An OSError in one Swedish line naming the path."""
    from utanforskap.atomic import describe_os_error

    return describe_os_error(exc)
