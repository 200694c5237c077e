"""What every `edgeport` subcommand shares: the parser class, argument types, errors, output helpers.

The subcommand modules (commands_*.py) import this module and nothing of each other; edgeport.cli
imports them all to build the parser. The import graph runs one way: cli -> commands_* -> command.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import threading
import warnings
from contextlib import contextmanager
from typing import NamedTuple

from edgeport.runtime.errors import EdgeportError, MissingExtraError

PROG = "edgeport"
EXIT_FAILED, EXIT_USAGE, EXIT_BROKEN_PIPE, EXIT_INTERRUPTED = 1, 2, 141, 130
# Signals that stop a command the way Ctrl-C does (clean-up runs), and what the command says.
STOP_SIGNALS = {signal.SIGTERM: "terminated", signal.SIGHUP: "hung up"}
_EXAMPLE = "example:"


class CommandError(EdgeportError):
    """A failure the command explains in one line, with the exit code to leave with."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each flag's default (where it has one to show), and keeps the examples' line breaks."""

    def _fill_text(self, text, width, indent):
        if text.startswith(_EXAMPLE):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action):
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """argparse with abbreviations off, defaults in --help, and a bad flag as one line (exit 2)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # argparse's hook for a bad command line
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1; got {value}")
    return value


def points(text: str) -> float:
    """An accuracy budget in percentage points (>= 0)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of points; got {text!r}") from None
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected points >= 0; got {text}")
    return value


def numbers(text: str) -> tuple[float, ...]:
    """Comma-separated numbers, one per channel: '0.485,0.456,0.406'."""
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers; got {text!r}") from None


def example(*lines: str) -> str:
    """An epilog of example command lines."""
    return _EXAMPLE + "\n" + "\n".join(f"  {line}" for line in lines)


class Commands:
    """The subcommands being registered, knowing which one this process runs.

    A command's flags whose choices and defaults come from the library (export's formats, boards,
    objectives) are added only for the command being run: `edgeport --help` and another command's
    --help then import nothing of the library.
    """

    def __init__(self, subparsers, running: str | None = None):
        self._subparsers, self.running = subparsers, running

    def add_parser(self, name: str, **kwargs) -> "Parser":
        return self._subparsers.add_parser(name, **kwargs)

    def wants(self, name: str) -> bool:
        """Whether a command's library-backed flags are needed: it is the one being run (None: every command)."""
        return self.running is None or self.running == name


def running_command(argv: list[str]) -> str:
    """The subcommand a command line runs: its first word that is not an option ('' when there is none: the
    top-level --help or --version, which take no values)."""
    return next((word for word in argv if not word.startswith("-")), "")


def add_command(commands, name: str, handler, summary: str, description: str, *examples: str,
                flags=None) -> Parser:
    """A subcommand: its one-line summary, its --help text and examples, and the function that runs it.

    flags: (parser) -> None, adding the flags that need the library; called only when the command runs
    (Commands.wants).
    """
    parser = commands.add_parser(name, help=summary, description=description, epilog=example(*examples))
    parser.set_defaults(handler=handler)
    if flags is not None and commands.wants(name):
        flags(parser)
    return parser


class Stopped(BaseException):
    """SIGTERM or SIGHUP (what timeout, CI runners, container stops and a closed terminal send), raised
    where the process is, so that every finally and with block cleans up as for Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def stop_signals():
    """For the block, SIGTERM and SIGHUP raise Stopped (in the main thread; elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise Stopped(signum)

    saved = {number: signal.signal(number, stop) for number in STOP_SIGNALS}
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def add_trust(parser) -> None:
    """--trust PUB.pem: run only the bytes of an export that its signature (edgeport export --sign) covers."""
    parser.add_argument("--trust", default=None, metavar="PUB.pem",
                        help="refuse the model unless its export folder's model.sig verifies with this EC public key "
                             "and the model is listed in the signed manifest.json; then run exactly the bytes that "
                             "were verified (needs edgeport[sign])")


class Opened(NamedTuple):
    """A model as a command runs it.

    Attributes:
        predictor: the loaded Predictor.
        manifest: the manifest beside the model (with --trust, the signed one), or None.
        trusted: with --trust, the verified export (edgeport.signing.TrustedExport); else None.
    """

    predictor: object
    manifest: object
    trusted: object

    def read(self, name: str) -> bytes | None:
        """A file of the model's export folder: with --trust the bytes verified (None unless signed), else as on
        disk (None when absent)."""
        if self.trusted is not None:
            return self.trusted.content(name)
        path = self.predictor.path.with_name(name)
        return path.read_bytes() if path.is_file() else None


def check_trust_flags(args) -> None:
    """--trust always checks: --no-verify beside it is refused rather than quietly widening what runs."""
    if getattr(args, "trust", None) is not None and getattr(args, "no_verify", False):
        raise CommandError("--no-verify cannot be combined with --trust: a trusted export is always verified",
                           EXIT_USAGE)


def open_model(args, threads: int | None = None) -> Opened:
    """args.model loaded as the command's flags say: with --trust from the bytes its signature covers (and
    the export's reference outputs kept), else runtime.load with --no-verify; engines' start-up chatter silenced.

    Raises:
        SignatureError, ModelFileError, IntegrityError, ManifestError (one line each), FileNotFoundError.
    """
    from pathlib import Path

    from edgeport import runtime

    check_trust_flags(args)
    path = Path(args.model)
    if args.trust is not None:
        from edgeport.signing import open_trusted

        trusted = open_trusted(path, args.trust, keep=lambda manifest: [manifest.data.reference] if manifest.data else [])
        with quiet_stderr():  # LiteRT announces its CPU delegate on stderr
            return Opened(trusted.load(path.name, threads), trusted.manifest, trusted)
    with quiet_stderr():
        predictor = runtime.load(path, threads=threads, verify=not args.no_verify)
    try:
        manifest = runtime.read_manifest(path.parent)
    except ValueError:  # malformed: load() already refused it, or warned under --no-verify
        manifest = None
    return Opened(predictor, manifest, None)


# Characters that drive a terminal rather than print: C0 controls but tab and newline, DEL, C1 controls, and
# the bidirectional overrides that reorder what is shown. A file name may hold any of them.
# A name read from the file system keeps an undecodable byte as a surrogate escape (0x9b, the 8-bit CSI, is
# '\udc9b'), which would reach the terminal as that byte: those are escaped too.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\udc80-\udcff]")
_LINE_BREAKS = re.compile("[\n\r\t\x85\u2028\u2029]")


def printable(text: str) -> str:
    """text with terminal control characters written as escapes ('\\x1b'), so that no name it quotes can
    move the cursor, retitle the window or hide what follows."""
    return _CONTROL.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), text)


def one_line(name: str) -> str:
    """A file or class name with its line breaks and tabs written as escapes, so that it cannot print a line
    of its own (printable() keeps the newlines of the messages themselves)."""
    return _LINE_BREAKS.sub(lambda found: found.group().encode("unicode_escape").decode("ascii"), str(name))


class _Printable:
    """A text stream that writes through printable(): everything a command prints, paths and messages alike."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(printable(text))

    def __getattr__(self, name):  # flush, fileno, isatty, encoding...: the stream's own
        return getattr(self._stream, name)


@contextmanager
def printable_output():
    """For the block, sys.stdout and sys.stderr escape terminal control characters (JSON already does)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Printable(sys.stdout), _Printable(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def fail(prog: str, message: str, code: int = EXIT_FAILED) -> int:
    print(f"{prog}: error: {' '.join(message.split())}", file=sys.stderr)
    return code


def describe_os_error(error: OSError) -> str:
    """One line naming the path and the reason: 'cannot write /x/y: Permission denied'."""
    if error.filename is None:
        return str(error)
    target = f"{error.filename}" + (f" -> {error.filename2}" if error.filename2 else "")
    return f"{target}: {error.strerror or error}"


def say(line: str) -> None:
    """A progress line on stdout, flushed so that a pipe sees it as it happens."""
    print(line, flush=True)


@contextmanager
def quiet_stderr(keep_warnings: bool = True):
    """Send the process's stderr (fd 2) to /dev/null for the block.

    TensorFlow logs a few lines from C++ on import, before any log-level setting applies, and
    LiteRT announces its delegate; a person should see only edgeport's own output. Python
    warnings raised in the block (edgeport's own) are shown after it, unless keep_warnings is off.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always" if keep_warnings else "ignore")
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 2)
                yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
    for w in caught:
        warnings.showwarning(w.message, w.category, w.filename, w.lineno)


# The packages of the [export] and [train] extras; a base (device) install has none of them.
_EXTRAS = ("tensorflow", "keras", "tf2onnx", "onnx", "matplotlib")


def import_tensorflow(*also: str) -> None:
    """Import TensorFlow (and the named converter packages) quietly, once, up front.

    Raises:
        MissingExtraError (exit 2): the base install lacks them; says which extra to install.
    """
    import importlib

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        with quiet_stderr(keep_warnings=False):
            for name in ("tensorflow", *also):
                importlib.import_module(name)
    except ModuleNotFoundError as e:
        if (e.name or "").split(".")[0] not in _EXTRAS:
            raise
        raise MissingExtraError("needs TensorFlow", "export") from e


@contextmanager
def warnings_as_lines(prog: str):
    """Library warnings (e.g. a malformed manifest ignored under --no-verify) as one line each."""
    saved = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = saved


def drop_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that the final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass

