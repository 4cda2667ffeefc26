"""Errors a user can act on. Their messages are in Swedish and name the file, key or row."""


class UtanforskapError(Exception):
    """Base of every error the CLI reports as one line with a non-zero exit."""


class InputError(UtanforskapError):
    """Bad input data: a malformed file, an unknown code, an impossible value."""


class MethodError(UtanforskapError):
    """An invalid method file: unknown step, undefined input, cycle, bad parameter."""


class SourceError(UtanforskapError):
    """A data service failed or answered with partial or malformed data."""
