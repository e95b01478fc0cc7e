"""The project's exception hierarchy.

Every error a user can cause with bad input is a :class:`SmallvilleError`; the CLI
prints its message and exits with code 2, never a traceback.
"""

from __future__ import annotations


class SmallvilleError(Exception):
    """Base class for errors that are the user's to fix."""

    exit_code = 2


class ConfigError(SmallvilleError):
    """A world, persona or map file is invalid.

    ``file`` is the path of the offending file, ``key`` the dotted key path inside it
    (``residents[2].persona``) or ``""`` for the file as a whole.
    """

    def __init__(self, file: object, key: str, message: str):
        self.file = str(file)
        self.key = key
        self.detail = message
        where = f"{self.file}: {key}" if key else self.file
        super().__init__(f"{where}: {message}")


class RunStoreError(SmallvilleError):
    """A run directory is missing, incomplete or of an unknown version."""


class LLMError(SmallvilleError):
    """A language-model backend cannot be used as configured."""
