"""Swedish help and error frame for the command line.

Typer (0.29, with its own copy of click and rich help) has its frame texts in English and
not behind gettext: "Usage", "Options", "Show this message and exit.", "Error", "Missing
option", "No such option" ... This module replaces them once, when the CLI is imported:
the panel titles and default markers in typer.rich_utils, the usage prefix, the help
option's text, the type labels (`<bool>` is not shown for flags; `<int>` reads `<heltal>`),
and every usage error's message, translated by the patterns in ERRORS before it is shown.

Tied to typer's internals, so requirements.lock pins typer; tests/test_cli_svenska.py runs
the real command and fails if any English frame text comes back after an upgrade.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import re
import sys

USAGE = "Användning: "
HELP_TEXT = "Visa den här hjälpen och avsluta."

TYPE_NAMES = {
    "str": "text",
    "int": "heltal",
    "float": "tal",
    "path": "sökväg",
    "file": "fil",
    "directory": "katalog",
    "bool": "ja/nej",
    "datetime": "datum",
}

# (pattern, replacement) applied in order to a usage error's message; compiled on the
# first error, not at every command's start (about 5 ms).
ERRORS: list[tuple[str, str]] = [
    (r"Missing option '([^']+)'\.?", r"Flaggan '\1' saknas."),
    (r"Missing option ([^.]+)\.?", r"Flaggan \1 saknas."),
    (r"Missing argument '([^']+)'\.?", r"Argumentet '\1' saknas."),
    (r"Missing argument ([^.]+)\.?", r"Argumentet \1 saknas."),
    (r"Missing parameter: (\S+)", r"Parametern \1 saknas."),
    (r"No such option: (\S+)", r"Flaggan \1 finns inte."),
    (r"No such command '([^']+)'\.?", r"Kommandot '\1' finns inte."),
    (r"\(Possible options: ([^)]*)\)", r"(möjliga flaggor: \1)"),
    (r"Did you mean ([^?]+)\?", r"Menade du \1?"),
    (r"Option '([^']+)' requires an argument\.", r"Flaggan '\1' behöver ett värde."),
    (r"Option '([^']+)' requires (\d+) arguments\.", r"Flaggan '\1' behöver \2 värden."),
    (r"Option '([^']+)' does not take a value\.", r"Flaggan '\1' tar inget värde."),
    (r"Argument '([^']+)' takes (\d+) values\.", r"Argumentet '\1' tar \2 värden."),
    (r"Got unexpected extra argument\(s\) \(([^)]*)\)", r"Oväntade extra argument: \1"),
    (r"Invalid value for ([^:]+):", r"Ogiltigt värde för \1:"),
    (r"Invalid value:", r"Ogiltigt värde:"),
    (r"Value ('[^']*') is not a valid (\w+)\.", r"\1 är inte ett giltigt värde."),
    (r"Input should be a valid integer[^.\n]*", r"ska vara ett heltal"),
    (r"Input should be a valid number[^.\n]*", r"ska vara ett tal"),
    (r"Input should be a valid boolean[^.\n]*", r"ska vara ja eller nej"),
    (r"Input should be (.+)", r"ska vara \1"),
    (r"'([^']+)' is not one of (.+)\.", r"'\1' är inte ett av \2."),
]


def translate_error(message: str) -> str:
    for pattern, repl in ERRORS:
        message = re.sub(pattern, repl, message)  # re caches the compiled patterns
    return message


def install() -> None:
    """Replace typer's English frame texts (idempotent). typer imports its rich help module
    (typer.rich_utils, with rich's Markdown) only to print help or an error, so its texts are
    replaced when it is imported: a command that runs without either never loads it."""
    from typer import core
    from typer._click import core as click_core
    from typer._click import exceptions, formatting

    if getattr(core, "_utanforskap_svenska", False):
        return
    core._utanforskap_svenska = True  # type: ignore[attr-defined]  # our own marker on typer's module
    if _RICH_UTILS in sys.modules:
        _swedish_rich_utils(sys.modules[_RICH_UTILS])
    else:
        sys.meta_path.insert(0, _PatchOnImport())

    write_usage = formatting.HelpFormatter.write_usage

    def swedish_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args.replace("[OPTIONS]", "[FLAGGOR]").replace("COMMAND [ARGS]...", "KOMMANDO [ARGUMENT]..."), USAGE if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = swedish_usage  # type: ignore[method-assign]  # patching typer's English texts

    get_help_option = click_core.Command.get_help_option

    def swedish_help_option(self, ctx):
        opt = get_help_option(self, ctx)
        if opt is not None:
            opt.help = HELP_TEXT
        return opt

    click_core.Command.get_help_option = swedish_help_option  # type: ignore[method-assign]  # patching typer's English texts

    display_type = core.TyperOption.display_type_rich

    def swedish_type(self, ctx):
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None  # a flag is shown as a flag, not `--riket <bool>`
        label = display_type(self, ctx)
        return _swedish_type(label)

    core.TyperOption.display_type_rich = swedish_type  # type: ignore[method-assign]  # patching typer's English texts

    arg_type = core.TyperArgument.display_type_rich
    core.TyperArgument.display_type_rich = lambda self, ctx: _swedish_type(arg_type(self, ctx))  # type: ignore[method-assign]  # patching typer's English texts

    format_message = exceptions.ClickException.format_message
    exceptions.ClickException.format_message = lambda self: translate_error(format_message(self))  # type: ignore[method-assign]  # patching typer's English texts
    usage_format = exceptions.UsageError.format_message if "format_message" in vars(exceptions.UsageError) else None
    if usage_format is not None:
        exceptions.UsageError.format_message = lambda self: translate_error(usage_format(self))  # type: ignore[method-assign]  # patching typer's English texts
    for cls in (exceptions.BadParameter, exceptions.MissingParameter, exceptions.NoSuchOption, exceptions.BadOptionUsage):
        own = vars(cls).get("format_message")
        if own is not None:
            cls.format_message = (lambda f: lambda self: translate_error(f(self)))(own)  # type: ignore[method-assign]  # patching typer's English texts


_RICH_UTILS = "typer.rich_utils"


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Finds typer.rich_utils as Python would and replaces its texts right after it runs."""

    def find_spec(self, fullname, path, target=None):
        if fullname != _RICH_UTILS:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once; and the real finders locate the module
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:  # pragma: no cover - typer without its help module
            return spec
        spec.loader = _PatchingLoader(spec.loader)
        return spec


class _PatchingLoader(importlib.abc.Loader):
    def __init__(self, loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        _swedish_rich_utils(module)


def _swedish_rich_utils(rich_utils) -> None:
    """The panel titles and default markers of typer's rich help and errors."""
    rich_utils.ARGUMENTS_PANEL_TITLE = "Argument"
    rich_utils.OPTIONS_PANEL_TITLE = "Flaggor"
    rich_utils.COMMANDS_PANEL_TITLE = "Kommandon"
    rich_utils.ERRORS_PANEL_TITLE = "Fel"
    rich_utils.ABORTED_TEXT = "Avbrutet."
    rich_utils.DEFAULT_STRING = "[standard: {}]"
    rich_utils.ENVVAR_STRING = "[miljövariabel: {}]"
    rich_utils.REQUIRED_LONG_STRING = "[krävs]"
    rich_utils.DEPRECATED_STRING = "(utgår) "
    rich_utils.RICH_HELP = "Skriv [blue]'{command_path} {help_option}'[/] för hjälp."
    rich_utils.OptionHighlighter.highlights = [*rich_utils.OptionHighlighter.highlights, rf"(?P<usage>{USAGE})"]
    rich_utils.highlighter = rich_utils.OptionHighlighter()


def _swedish_type(label):
    if label is None:
        return None
    label = re.sub(r"\b(" + "|".join(TYPE_NAMES) + r")\b", lambda m: TYPE_NAMES[m.group(1)], str(label))
    return re.sub(r"list\[([^\]]+)\]", r"\1, kan upprepas", label)
