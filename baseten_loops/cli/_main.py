"""``main``: the tree of commands, and the exit code of the one that was asked for.

Each command module adds its own commands to the tree; usage errors, configuration errors and
Ctrl-C end here, as one line on stderr and their exit code, and a closed stdout quietly.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .._exceptions import ConfigurationError
from .._version import __version__
from ._escape import _shown
from ._exit import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_USAGE, _UsageError
from ._fake import _add_fake_server_and_demo
from ._options import _HelpFormatter
from ._samplers import _add_get_and_wait
from ._verbs import GROUPS, VERBS, _add_verb


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code = int(args.run(args))
        if sys.stdout is not None:  # None: started with stdout closed (``>&-``)
            sys.stdout.flush()  # here, not at exit: a closed stdout is then handled below
        return code
    except (ConfigurationError, _UsageError) as exc:
        # Messages may quote file names or server text: escaped like everything else shown.
        print(f"baseten-loops: error: {_shown(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("baseten-loops: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Only stdout can raise it here: the library turns a connection's errors into
        # APIConnectionError, which the commands report themselves.
        return _stdout_closed()


def _stdout_closed() -> int:
    """The reader of stdout is gone (``... | head -1``): end quietly, as ``git log | head`` does.

    What is still buffered for stdout goes to devnull, so that Python's flush at exit does not
    fail again with "Exception ignored ... BrokenPipeError" (the recipe of the Python docs'
    "Note on SIGPIPE").
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # a stdout with no file descriptor: nothing to flush to fd 1
        pass
    return EXIT_BROKEN_PIPE


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="baseten-loops",
        description="Work with Baseten Loops from the terminal: samplers, runs, sessions, "
        "checkpoints and deployments.",
        epilog="The API key comes from --api-key-file, --api-key or BASETEN_API_KEY; it is "
        "never printed. Prefer --api-key-file or the environment variable: --api-key is "
        "visible to other local users in the process list.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    groups = {name: _add_group(commands, name, text) for name, text in GROUPS.items()}
    _add_get_and_wait(groups["samplers"])
    for verb in VERBS:
        _add_verb(groups[verb.group], verb)
    _add_fake_server_and_demo(commands)
    return parser


def _add_group(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str, text: str
) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    """A command group (``samplers``, ``runs``...): alone, it prints its help and exits 2."""
    group = commands.add_parser(name, help=text, formatter_class=_HelpFormatter)
    group.set_defaults(run=lambda _: _usage(group))
    return group.add_subparsers(title="commands", metavar="COMMAND")


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE
