"""The `edgeport` command (also `python -m edgeport`): parse arguments, call the library, report.

Each subcommand lives in a commands_* module (device: predict, evaluate, bench with the runtime
only; build: train, export, report with TensorFlow; score; web), which registers its parser and
handler. What they share is edgeport.command; this module only assembles them and turns every
failure a person can cause into one line on stderr with a meaningful exit code.
"""

from __future__ import annotations

import sys

from edgeport.command import (
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    STOP_SIGNALS,
    CommandError,
    Commands,
    Parser,
    Stopped,
    describe_os_error,
    drop_stdout,
    example,
    fail,
    printable_output,
    running_command,
    stop_signals,
    warnings_as_lines,
)
from edgeport.runtime.errors import EdgeportError, MissingExtraError


def build_parser(running: str | None = None) -> Parser:
    """The `edgeport` parser; running: the subcommand this process runs, whose library-backed flags alone are
    added (None: every command's)."""
    from edgeport import __version__, commands_build, commands_device, commands_score, commands_web

    parser = Parser(prog=PROG, description="Take a Keras image classifier to the edge: train, export to TFLite "
                    "and ONNX, prove every file right, and run it without TensorFlow.",
                    epilog=example("edgeport train --out artifacts",
                                   "edgeport export artifacts/model.keras",
                                   "edgeport predict artifacts/model_int8.tflite photo.jpg pictures/"))
    parser.add_argument("--version", action="version", version=f"edgeport {__version__}")
    commands = Commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=Parser),
                        running)
    commands_build.register(commands)
    commands_device.register(commands)
    commands_score.register(commands)
    commands_web.register(commands)
    return parser


def main(argv: list[str] | None = None) -> None:
    """The console entry point: run one command and exit with its status."""
    code = run(argv)
    try:
        sys.stdout.flush()  # a reader that went away shows up here when the output was buffered
    except BrokenPipeError:
        drop_stdout()
        code = EXIT_BROKEN_PIPE
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    """Parse argv and run the command; every failure a person can cause is one line on stderr.

    Returns:
        The exit status: 0 done, 1 failed, 2 bad usage or a missing extra, 130 interrupted (Ctrl-C),
        143 terminated (SIGTERM), 129 hung up (SIGHUP), 141 the reader of stdout went away.
    """
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(running_command(argv)).parse_args(argv)
    prog = f"{PROG} {args.command}"
    with printable_output(), warnings_as_lines(prog), stop_signals():
        try:
            return args.handler(args) or 0
        except BrokenPipeError:
            drop_stdout()
            return EXIT_BROKEN_PIPE
        except KeyboardInterrupt:
            print(f"{prog}: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Stopped as e:  # SIGTERM, SIGHUP: the same clean-up as Ctrl-C, and the shell's status
            print(f"{prog}: {STOP_SIGNALS[e.signum]}", file=sys.stderr)
            return 128 + e.signum
        except CommandError as e:
            return fail(prog, str(e), e.exit_code)
        except MissingExtraError as e:  # a base install without an extra: a usage error, with what to install
            return fail(prog, str(e), EXIT_USAGE)
        except EdgeportError as e:  # edgeport's own: data, model files, manifests, plans, converters
            return fail(prog, e.for_command_line())
        except OSError as e:  # missing or read-only folder, permission, disk full: name the path
            return fail(prog, describe_os_error(e))
        except (ValueError, TypeError) as e:  # a bad value met at a library boundary
            return fail(prog, str(e), EXIT_FAILED)


