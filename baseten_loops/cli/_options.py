"""The arguments commands share: the help format, number types and the client options.

What those options name is read here too: the API key (from a file, stdin or the environment),
ids files, and the :class:`LoopsClient` built from them.
"""

from __future__ import annotations

import argparse
import errno
import os
import sys

from .._client import LoopsClient
from .._retry import RetryPolicy
from ._escape import SHOWN_ID_CHARS, _shown
from ._exit import _UsageError

STDIN = "-"

_NO_KEY = (
    "no Baseten API key: use --api-key-file FILE ('-': stdin) or set the BASETEN_API_KEY "
    "environment variable"
)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` shows each option's default, except where there is none to show."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def _add_client_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("client options")
    group.add_argument("--base-url", help="API root (default: BASETEN_BASE_URL, else Baseten's)")
    key = group.add_mutually_exclusive_group()
    key.add_argument(
        "--api-key-file",
        metavar="FILE",
        help="read the API key from FILE ('-': stdin); surrounding whitespace is ignored "
        "(default: none, --api-key or BASETEN_API_KEY)",
    )
    key.add_argument(
        "--api-key",
        metavar="KEY",
        help="the API key (default: BASETEN_API_KEY). Visible to other local users in the "
        "process list: prefer --api-key-file or the environment variable",
    )
    group.add_argument(
        "--timeout",
        type=_positive_float,
        default=60.0,
        metavar="S",
        help="seconds each lookup, page or call may take in all, retries included",
    )
    group.add_argument(
        "--attempt-timeout",
        type=_positive_float,
        default=30.0,
        metavar="S",
        help="seconds one request attempt may take",
    )
    group.add_argument(
        "--max-attempts", type=_positive_int, default=4, metavar="N", help="tries per lookup"
    )


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


# -- inputs: the key and ids files -----------------------------------------------------------


def _source(name: str) -> str:
    """A file option's value as shown in a message: stdin for ``-``."""
    return "stdin" if name == STDIN else _shown(name, SHOWN_ID_CHARS)


def _read_input(name: str, option: str) -> str:
    """The text of ``name`` (``-``: stdin), or a one-line :class:`_UsageError` saying why not."""
    source = _source(name)
    try:
        if name == STDIN:
            if sys.stdin is None:  # started with standard input closed
                raise OSError(errno.EBADF, "no standard input")
            binary = getattr(sys.stdin, "buffer", None)
            data = binary.read() if binary is not None else sys.stdin.read().encode()
        else:
            with open(name, "rb") as f:
                data = f.read()
    except OSError as exc:
        raise _UsageError(f"cannot read {option} {source}: {exc.strerror or exc}") from None
    if b"\0" in data:
        raise _UsageError(f"{option} {source} is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _UsageError(
            f"{option} {source} is not UTF-8 text (undecodable byte at offset {exc.start})"
        ) from None


def _check_stdin_use(args: argparse.Namespace) -> None:
    if getattr(args, "api_key_file", None) == STDIN and getattr(args, "ids_file", None) == STDIN:
        raise _UsageError("--api-key-file - and --ids-file - cannot both read stdin")


def _api_key(args: argparse.Namespace) -> str:
    if args.api_key_file is not None:
        key = _read_input(args.api_key_file, "--api-key-file").strip()
        if not key:
            raise _UsageError(f"--api-key-file {_source(args.api_key_file)} holds no key")
        return key
    key = args.api_key if args.api_key is not None else os.environ.get("BASETEN_API_KEY", "")
    if not key.strip():
        raise _UsageError(_NO_KEY)
    return str(key)


def _client(args: argparse.Namespace) -> LoopsClient:
    return LoopsClient(
        _api_key(args),
        base_url=args.base_url,
        timeout=args.timeout,
        attempt_timeout=args.attempt_timeout,
        retry=RetryPolicy(max_attempts=args.max_attempts),
    )
