"""edgeport's errors, in one family: every failure a person can cause is an EdgeportError.

The command line catches EdgeportError by type and prints its one-line message; a library user
can catch the same classes. Each kind keeps the builtin base it always had (ValueError for bad
input, RuntimeError for a tool that failed), so `except ValueError` around edgeport still works.
"""

from __future__ import annotations


class EdgeportError(Exception):
    """Anything edgeport refuses or fails at, explained in one line for a person."""

    def for_command_line(self) -> str:
        """The message as the command line shows it (flags named instead of API arguments)."""
        return str(self)


class DataError(EdgeportError, ValueError):
    """A data set that cannot serve: missing, empty, unreadable, or not the model's classes."""


class ModelFileError(EdgeportError, ValueError):
    """An exported model file that cannot be loaded or run: wrong suffix, empty, corrupt, malformed facts."""


class ManifestError(EdgeportError, ValueError):
    """A manifest.json that is not valid JSON, lacks its tables, or is of a newer schema."""


class IntegrityError(EdgeportError, ValueError):
    """A model file's bytes do not match the sha256 that the manifest beside it records."""

    def __init__(self, path, actual: str, expected: str | None):
        from edgeport.runtime.manifest import MANIFEST_NAME

        self.path, self.actual, self.expected = path, actual, expected
        self._what = f"{path.name} does not match {MANIFEST_NAME}: sha256 {actual} expected {expected}; re-export it"
        super().__init__(f"{self._what}, or load it with verify=False to run it anyway")

    def __reduce__(self):  # raised in a worker process, re-raised in the parent
        return type(self), (self.path, self.actual, self.expected)

    def for_command_line(self) -> str:
        return f"{self._what}, or pass --no-verify to run it anyway"


class WebError(EdgeportError, ValueError):
    """A page cannot be written: wrong model, missing engine files, or a folder that is not ours."""


class ScaleError(EdgeportError, RuntimeError):
    """Ray is missing, or the cluster cannot be reached."""


class MissingExtraError(EdgeportError, ImportError):
    """A feature whose packages are not installed: a usage error, not a failure. extra names the set of
    packages to add (pip install 'edgeport[extra]'); needs says what needed them."""

    def __init__(self, needs: str, extra: str):
        super().__init__(f"{needs}: pip install 'edgeport[{extra}]'")
        self.needs, self.extra = needs, extra

    def __reduce__(self):  # raised in a worker process, re-raised in the parent
        return type(self), (self.needs, self.extra)


class MissingRayError(MissingExtraError, ScaleError):
    """Ray Data is not installed (the scale extra)."""


class WorkerError(EdgeportError, RuntimeError):
    """A process that scored part of a job died, or failed in a way that cannot be told back as it was."""

    def __init__(self, message: str):
        super().__init__(f"{message}; nothing was written. Score with workers=1 to find the picture it stopped on")
        self._message = message

    def __reduce__(self):
        return type(self), (self._message,)

    def for_command_line(self) -> str:
        return f"{self._message}; nothing was written. Run with --workers 1 to find the picture it stopped on"
