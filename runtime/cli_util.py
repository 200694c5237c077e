"""What the three command lines share: one-line errors and argument types."""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from typing import Callable

# The errors a person can cause and fix: they become one line on stderr, never a traceback.
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag or value is a single line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # noqa: D102 (argparse's hook)
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1; got {value}")
    return value


def run(prog: str, main: Callable[[], int | None], errors: tuple = ()) -> None:
    """Call main and exit with its code; a user error (or one of errors) is one line on stderr, exit 1."""
    try:
        code = main()
    except USER_ERRORS + errors as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code or 0)


@contextmanager
def quiet_stderr():
    """Send the process's stderr (fd 2) to /dev/null for the block.

    TensorFlow logs a few lines from C++ on import, before any log-level setting applies;
    the CLIs import it inside this block so that a person sees only edgeport's own output.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
