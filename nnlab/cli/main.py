"""The ``nnlab`` command line.

Each subcommand is one function taking the parsed arguments plus one ``register`` call that names
it and declares its options::

    def _configure_check(p):            # add the options
        p.add_argument("--model", default="cnn")

    def check(args) -> int:             # do the work, return the exit code
        ...

    register("check", check, _configure_check, help="sanity checks on a model")

Errors the user can fix (bad files, bad options, bad checkpoints) print one line and exit with
code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys

from nnlab.engine import allocator

__all__ = ["main", "register", "build_parser", "UsageError", "COMMANDS", "COMMAND_MODULES"]

PROG = "nnlab"


class UsageError(ValueError):
    """A problem with the command line or its inputs; printed as one line, exit code 2."""


class _Command:
    def __init__(self, name, run, configure, help, description, epilog=None):
        self.name, self.run, self.configure, self.help, self.description = name, run, configure, help, description
        self.epilog = epilog


COMMANDS: dict[str, _Command] = {}


def register(
    name: str, run, configure=None, *, help: str, description: str | None = None, epilog: str | None = None
) -> None:
    """Add subcommand ``name``: ``configure(parser)`` adds its options, ``run(args) -> exit code``;
    ``epilog`` ends its --help (e.g. its exit codes)."""
    COMMANDS[name] = _Command(name, run, configure, help, description or help, epilog)


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (what is wrong, where to look) with exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog):
        super().__init__(prog, max_help_position=32, width=100)


def build_parser() -> argparse.ArgumentParser:
    _load_builtin_commands()
    parser = _Parser(
        prog=PROG,
        formatter_class=_Formatter,
        description="nnlab: deep learning from first principles on NumPy.\n\n"
        "Train, evaluate and inspect small networks. `nnlab train` with no arguments\n"
        "trains the default network on the bundled handwritten digits and writes a run\n"
        "folder (checkpoint, metrics, HTML report) under runs/.",
        epilog="examples:\n"
        "  nnlab train                                   the main job (bundled digits, default CNN)\n"
        "  nnlab train --model mlp --epochs 20 --lr 0.05\n"
        "  nnlab train --model digit16                   the notes' 784-16-16-10 sigmoid net\n"
        "  nnlab train --data spiral --model mlp --hidden 100\n"
        "  nnlab evaluate runs/<name>                    re-measure a run\n"
        "  nnlab predict runs/<name> digit.png           classify images\n\n"
        "`nnlab COMMAND --help` lists the options of a command.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands", parser_class=_Parser)
    for cmd in COMMANDS.values():
        p = sub.add_parser(
            cmd.name, help=cmd.help, description=cmd.description, epilog=cmd.epilog, formatter_class=_Formatter
        )
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show full tracebacks on errors")
        if cmd.configure is not None:
            cmd.configure(p)
        p.set_defaults(_run=cmd.run)
    return parser


_BUILTINS_LOADED = False


def _load_builtin_commands() -> None:
    """Import the modules that register the built-in commands (each calls ``register``)."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    import importlib

    for mod in COMMAND_MODULES:
        importlib.import_module(mod)


# The modules whose import registers a command, one per line: a new command is one more line.
COMMAND_MODULES = (
    "nnlab.cli.train_cmd",
    "nnlab.cli.check_cmd",
    "nnlab.cli.tune_cmd",
    "nnlab.cli.playground_cmd",
    "nnlab.cli.export_cmd",
    "nnlab.cli.experiments_cmd",
    "nnlab.cli.hopfield_cmd",
)


def _user_errors():
    from nnlab.data.datasets import DataError
    from nnlab.train.checkpoint import CheckpointError

    return (
        UsageError,
        DataError,
        CheckpointError,
        FileNotFoundError,
        PermissionError,
        IsADirectoryError,
        ValueError,
        TypeError,
    )


def _one_line(e: BaseException) -> str:
    msg = str(e).strip() or type(e).__name__
    if (
        isinstance(e, (FileNotFoundError, PermissionError, IsADirectoryError))
        and getattr(e, "filename", None)
        and e.filename not in msg
    ):
        msg = f"{e.filename}: {e.strerror or msg}"
    return " ".join(msg.split())


def main(argv=None) -> int:
    """Entry point of the ``nnlab`` script; returns (and exits with) the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    allocator.tune_allocator()  # a training program's choice, made here rather than on import
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = getattr(args, "debug", False)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        code = args._run(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as e:
        if debug:
            raise
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - the last line of defence prints one line, not a traceback
        if debug:
            raise
        print(
            f"{PROG}: error: {type(e).__name__}: {_one_line(e)} (run with --debug for the traceback)", file=sys.stderr
        )
        return 1
    return int(code or 0)


def _entry() -> None:  # pragma: no cover - console script shim
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
