"""The everyday verbs: declared in :data:`VERBS`, run by one function (:func:`_run_verb`).

Adding a verb is adding a :class:`_Verb` to the table: its library method, columns and options.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from .._client import LoopsClient
from .._exceptions import APIStatusError, AuthenticationError, InvalidIdError, LoopsError
from ._escape import _error_line, _shown
from ._exit import _KEY_REFUSED, EXIT_OK, EXIT_SOME_FAILED, _UsageError
from ._options import _add_client_options, _client, _HelpFormatter, _positive_int
from ._render import (
    CHECKPOINT_COLUMNS,
    DEACTIVATED_COLUMNS,
    DEPLOYMENT_COLUMNS,
    FILE_COLUMNS,
    LOG_COLUMNS,
    RUN_COLUMNS,
    SAMPLER_COLUMNS,
    SESSION_COLUMNS,
    Columns,
    _Printer,
)

GROUPS = {
    "samplers": "look up, list, create and deactivate samplers",
    "runs": "list, read, create and deactivate runs",
    "sessions": "create and read sessions",
    "checkpoints": "list checkpoints and their files",
    "deployments": "list and read deployments, read their logs",
}


@attrs.frozen
class _Option:
    """One ``add_argument`` call: its flags (or positional name) and settings."""

    flags: tuple[str, ...]
    settings: Mapping[str, Any] = attrs.field(factory=dict)


def _option(*flags: str, **settings: Any) -> _Option:
    return _Option(flags, settings)


@attrs.frozen
class _Verb:
    """A command that calls one library method and prints what it returns.

    Every argument of :attr:`options` and :attr:`one_of` is handed to the method as the keyword
    of its ``dest`` (``--run-id`` as ``run_id``, ``--team`` as ``team_id``); one left out is
    ``None``, which the library does not send. An option's help says what is used when it is
    left out (``(server default: 500)``): ``--help`` shows every option's default.

    Attributes:
        group: The command group (a key of :data:`GROUPS`).
        name: The command's name in its group.
        help: One line for the group's ``--help``.
        method: The library method to call, from a client.
        columns: The table of ``--format table``.
        options: The method's arguments.
        one_of: Options of which exactly one must be given (a usage error otherwise, before
            any request), for an operation the server refuses without exactly one.
        check_with: For a create, which is never sent twice: the command that shows whether
            an ambiguous failure created the object after all.

    """

    group: str
    name: str
    help: str
    method: Callable[[LoopsClient], Callable[..., Any]]
    columns: Columns
    options: tuple[_Option, ...] = ()
    one_of: tuple[_Option, ...] = ()
    check_with: str | None = None


def _epoch_millis(text: str) -> int:
    """``--start``/``--end``: epoch milliseconds, or an ISO 8601 time (UTC unless it says)."""
    if text.isdigit():
        return int(text)
    try:
        # Python 3.10's fromisoformat does not read a "Z" suffix.
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected epoch milliseconds or an ISO 8601 time, got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


def _id_argument(name: str, what: str) -> _Option:
    return _option(name, metavar=name.upper(), help=what)


_TEAM = _option(
    "--team",
    dest="team_id",
    metavar="TEAM_ID",
    help="act within this team (default: none, your organization's /v1/loops routes)",
)
_SCOPE = _option(
    "--scope", metavar="SCOPE", help="'org': everyone's in your organization (default: your own)"
)
_ONLY_RUN = _option("--run-id", help="only this run's (default: any run's)")
_ONLY_BASE_MODEL = _option("--base-model", help="only those of this base model (default: any)")
_SESSION = _option("--session-id", required=True, help="the session (`sessions create`)")
_SERVER_DEFAULT = "(default: the server's)"
_AVAILABILITY = ("--availability-model",)
_AVAILABILITY_CHOICES = ("dedicated", "spot")

VERBS: tuple[_Verb, ...] = (
    _Verb(
        "samplers",
        "list",
        "list samplers, paired and standalone",
        lambda client: client.samplers.list,
        SAMPLER_COLUMNS,
        (_SCOPE, _TEAM),
    ),
    _Verb(
        "samplers",
        "create",
        "create a sampler (then: samplers wait ID)",
        lambda client: client.samplers.create,
        SAMPLER_COLUMNS,
        (
            _SESSION,
            _option(
                "--base-model",
                help="the base model of a standalone sampler (default: that of --run-id or "
                "--model-path)",
            ),
            _option("--run-id", help="the run to pair it with (default: none, standalone)"),
            _option(
                "--model-path",
                help="a bt:// sampler checkpoint to serve (default: none, the base model)",
            ),
            _option(
                *_AVAILABILITY,
                choices=_AVAILABILITY_CHOICES,
                help=f"capacity to run on {_SERVER_DEFAULT}",
            ),
            _option(
                "--max-seq-length",
                type=_positive_int,
                metavar="N",
                help=f"longest prompt, in tokens {_SERVER_DEFAULT}",
            ),
            _option(
                "--num-replicas",
                type=_positive_int,
                metavar="N",
                help=f"replicas (min and max) {_SERVER_DEFAULT}",
            ),
            _TEAM,
        ),
        check_with="samplers list",
    ),
    _Verb(
        "samplers",
        "deactivate",
        "shut a standalone sampler down",
        lambda client: client.samplers.deactivate,
        DEACTIVATED_COLUMNS,
        (_id_argument("sampler_id", "the sampler"),),
    ),
    _Verb(
        "runs",
        "list",
        "list runs",
        lambda client: client.runs.list,
        RUN_COLUMNS,
        (_ONLY_RUN, _ONLY_BASE_MODEL, _SCOPE, _TEAM),
    ),
    _Verb(
        "runs",
        "get",
        "fetch one run",
        lambda client: client.runs.get,
        RUN_COLUMNS,
        (_id_argument("run_id", "the run"),),
    ),
    _Verb(
        "runs",
        "create",
        "create a run: a trainer and its paired sampler",
        lambda client: client.runs.create,
        RUN_COLUMNS,
        (
            _SESSION,
            _option("--base-model", required=True, help="the HuggingFace model to train"),
            _option("--name", help="a display name (server default: the base model's)"),
            _option(
                "--lora-rank",
                type=_positive_int,
                metavar="N",
                help="LoRA rank (server default: 64)",
            ),
            _option(
                "--max-seq-len",
                type=_positive_int,
                metavar="N",
                help=f"longest example, in tokens {_SERVER_DEFAULT}",
            ),
            _option("--seed", type=int, metavar="N", help=f"random seed {_SERVER_DEFAULT}"),
            _option(
                *_AVAILABILITY,
                choices=_AVAILABILITY_CHOICES,
                help="capacity to run on (server default: dedicated)",
            ),
            _option(
                "--replicas",
                type=_positive_int,
                metavar="N",
                help="trainer replicas (server default: 1)",
            ),
            _option(
                "--sampler-num-replicas",
                type=_positive_int,
                metavar="N",
                help=f"sampler replicas {_SERVER_DEFAULT}",
            ),
            _option(
                "--path",
                help="a bt:// trainer checkpoint to start from (default: none, the base model)",
            ),
            _option(
                "--reuse-from-run-id",
                metavar="RUN_ID",
                help="a run to reuse machines of (default: none)",
            ),
            _TEAM,
        ),
        check_with="runs list",
    ),
    _Verb(
        "runs",
        "deactivate",
        "shut a run and its sampler down",
        lambda client: client.runs.deactivate,
        DEACTIVATED_COLUMNS,
        (_id_argument("run_id", "the run"),),
    ),
    _Verb(
        "sessions",
        "create",
        "create a session",
        lambda client: client.sessions.create,
        SESSION_COLUMNS,
        (_TEAM,),
    ),
    _Verb(
        "sessions",
        "get",
        "fetch one session",
        lambda client: client.sessions.get,
        SESSION_COLUMNS,
        (_id_argument("session_id", "the session"),),
    ),
    _Verb(
        "checkpoints",
        "list",
        "list checkpoints (give one filter)",
        lambda client: client.checkpoints.list,
        CHECKPOINT_COLUMNS,
        one_of=(
            _option("--run-id", help="only this run's"),
            _option("--base-model", help="only those of this base model"),
            _option("--checkpoint-path", metavar="URI", help="only the one at this bt:// URI"),
        ),
    ),
    _Verb(
        "checkpoints",
        "files",
        "list every file of a checkpoint, with download URLs",
        lambda client: client.checkpoints.iter_files,
        FILE_COLUMNS,
        (
            _id_argument("checkpoint_id", "the checkpoint"),
            _option(
                "--page-size",
                type=_positive_int,
                metavar="N",
                help="files per request (server default: 1000)",
            ),
        ),
    ),
    _Verb(
        "deployments",
        "list",
        "list deployments",
        lambda client: client.deployments.list,
        DEPLOYMENT_COLUMNS,
        (_SCOPE,),
    ),
    _Verb(
        "deployments",
        "get",
        "fetch one deployment",
        lambda client: client.deployments.get,
        DEPLOYMENT_COLUMNS,
        (_id_argument("deployment_id", "the deployment"),),
    ),
    _Verb(
        "deployments",
        "logs",
        "print a deployment's trainer logs",
        lambda client: client.deployments.logs,
        LOG_COLUMNS,
        (
            _id_argument("deployment_id", "the deployment"),
            _option(
                "--start",
                dest="start_epoch_millis",
                type=_epoch_millis,
                metavar="TIME",
                help="window start: epoch milliseconds or ISO 8601 (server default: 30 "
                "minutes before the end; the window spans at most 7 days)",
            ),
            _option(
                "--end",
                dest="end_epoch_millis",
                type=_epoch_millis,
                metavar="TIME",
                help="window end: epoch milliseconds or ISO 8601 (server default: now)",
            ),
            _option(
                "--limit",
                type=_positive_int,
                metavar="N",
                help="at most N lines, 1-1000 (server default: 500)",
            ),
            _option(
                "--direction",
                choices=("asc", "desc"),
                help="oldest or newest first (server default: desc)",
            ),
            _option(
                "--min-level",
                choices=("DEBUG", "INFO", "WARNING", "ERROR"),
                help="lowest level (default: none, every line, with a level or without)",
            ),
        ),
    ),
)


def _add_verb(commands: argparse._SubParsersAction[argparse.ArgumentParser], verb: _Verb) -> None:
    parser = commands.add_parser(
        verb.name,
        help=verb.help,
        description=f"{verb.help[0].upper()}{verb.help[1:]}. {_OUTPUT_HELP}"
        + (f" {_SENT_ONCE_HELP.format(verb.check_with)}" if verb.check_with else ""),
        formatter_class=_HelpFormatter,
    )
    keywords = tuple(parser.add_argument(*o.flags, **o.settings).dest for o in verb.options)
    if verb.one_of:
        group = parser.add_mutually_exclusive_group(required=True)
        keywords += tuple(group.add_argument(*o.flags, **o.settings).dest for o in verb.one_of)
    parser.add_argument("--format", choices=("json", "table"), default="json", help="output format")
    _add_client_options(parser)
    parser.set_defaults(run=functools.partial(_run_verb, verb, keywords))


_SENT_ONCE_HELP = (
    "Sent once: after a failure that leaves open whether the server acted (no answer, a 5xx), "
    "check with 'baseten-loops {}' before trying again."
)
_OUTPUT_HELP = (
    "Prints JSON (one indented object, or one object per line for a list) or a table; "
    "failures go to stderr (exit 1), a refused key (401) exits 2."
)


def _run_verb(verb: _Verb, keywords: tuple[str, ...], args: argparse.Namespace) -> int:
    arguments = {name: getattr(args, name) for name in keywords}
    client = _client(args)
    return asyncio.run(_call_verb(verb, client, arguments, _Printer(args.format, verb.columns)))


async def _call_verb(
    verb: _Verb, client: LoopsClient, arguments: dict[str, Any], printer: _Printer
) -> int:
    failure: LoopsError | None = None
    async with client:
        try:
            answer = verb.method(client)(**arguments)
            if isinstance(answer, AsyncIterator):  # pages: each item shown as it arrives
                printer.begin_list()
                async for item in answer:
                    printer.add(item)
            else:
                result = await answer
                if isinstance(result, list):
                    printer.begin_list()
                    for item in result:
                        printer.add(item)
                else:
                    printer.single(result)
        except AuthenticationError:
            raise _UsageError(_KEY_REFUSED) from None
        except LoopsError as exc:
            failure = exc
    printer.close()  # what came before a failure is still shown
    if failure is None:
        return EXIT_OK
    # The verb's id argument (a positional), if it has one: named in the error line.
    subject = next((arguments[o.flags[0]] for o in verb.options if o.flags[0].isidentifier()), None)
    print(
        _error_line(subject, failure) if subject else f"error: {_shown(str(failure))}",
        file=sys.stderr,
    )
    if verb.check_with and _may_have_acted(failure):
        print(
            f"hint: the server may have acted on it, so it was not sent again; check with "
            f"'baseten-loops {verb.check_with}' before trying again",
            file=sys.stderr,
        )
    return EXIT_SOME_FAILED


def _may_have_acted(error: LoopsError) -> bool:
    """Whether a create that failed with ``error`` may have been carried out all the same.

    A 4xx answer says the server refused it, and a bad argument stops it before any I/O;
    no answer, a 5xx or an unreadable 2xx leave it open.
    """
    if isinstance(error, APIStatusError):
        return error.status_code >= 500
    return not isinstance(error, InvalidIdError)
