"""The errors that `ctm` prints as `ctm <verb>: error: <message>` (exit status 2) instead of a traceback.

A UserError says that an input is wrong or missing (params.yaml, a path, a file's content, a command-line value) and
its message names it and what to do. Anything else that escapes a command is a bug and keeps its traceback (ctm/cli.py).
Every such error class of the package derives from UserError and keeps its own other base (ValueError, RuntimeError,
FileNotFoundError, ...), so that code catching those catches it as before. This module imports nothing, so that any
module can use it without import cycles or cost.
"""

from __future__ import annotations


class UserError(Exception):
    """An error that the user fixes, not a bug: the message names the input at fault and what to do about it."""


class MissingInputError(UserError, FileNotFoundError):
    """A file or folder that a command needs does not exist; the message says what writes it (a FileNotFoundError
    too, so `except FileNotFoundError` catches it). Raise it where a missing path is the user's to provide, never for
    the package's own files."""
