"""``samplers get`` and ``samplers wait``, written out rather than declared as verbs.

``get`` looks many samplers up at once (ids from the command line and an ids file), streams
JSON Lines or builds a table, and shows a progress bar on a terminal; ``wait`` polls one sampler
and shows each status change. Neither fits the verb table's call-and-print.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from datetime import datetime

from .._client import LoopsClient
from .._exceptions import AuthenticationError, LoopsError, SamplerFailedError, WaitTimeoutError
from .._models import Sampler
from ._escape import _error_line, _shown, _shown_id
from ._exit import _KEY_REFUSED, EXIT_OK, EXIT_SOME_FAILED, _UsageError
from ._options import (
    _add_client_options,
    _check_stdin_use,
    _client,
    _HelpFormatter,
    _positive_float,
    _positive_int,
    _read_input,
    _source,
)
from ._progress import _progress
from ._render import SAMPLER_COLUMNS, _print_table


def _add_get_and_wait(
    sampler_commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    get = sampler_commands.add_parser(
        "get",
        help="print samplers as JSON (or a table)",
        description="Print each sampler as JSON: one indented object for one id, one object "
        "per line (in completion order) for several. Failures go to stderr. A refused key "
        "(401) stops at once with exit code 2.",
        formatter_class=_HelpFormatter,
    )
    get.add_argument("ids", nargs="*", metavar="ID", help="sampler ids")
    get.add_argument(
        "--ids-file",
        metavar="FILE",
        help="read more ids from FILE, one per line ('-': stdin) (default: none, the IDs only)",
    )
    get.add_argument("--format", choices=("json", "table"), default="json", help="output format")
    get.add_argument(
        "--concurrency",
        type=_positive_int,
        default=16,
        metavar="N",
        help="lookups in flight at once",
    )
    _add_client_options(get)
    get.set_defaults(run=_run_get)

    wait = sampler_commands.add_parser(
        "wait",
        help="wait until a sampler is ACTIVE",
        description="Poll a sampler until it is ACTIVE, showing status changes on stderr; "
        "print it as JSON when it is. Exit 1 if it fails or --max-wait runs out.",
        formatter_class=_HelpFormatter,
    )
    wait.add_argument("id", metavar="ID")
    wait.add_argument(
        "--max-wait",
        type=_positive_float,
        default=900.0,
        metavar="S",
        help="seconds to wait in all, lookups and pauses included",
    )
    wait.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=5.0,
        metavar="S",
        help="seconds between lookups",
    )
    _add_client_options(wait)
    wait.set_defaults(run=_run_wait)


# -- samplers get ----------------------------------------------------------------------------


def _read_ids(args: argparse.Namespace) -> list[str]:
    ids = list(args.ids)
    if args.ids_file is not None:
        from_file = [line.strip() for line in _read_input(args.ids_file, "--ids-file").split("\n")]
        if not any(from_file):
            raise _UsageError(f"--ids-file {_source(args.ids_file)} has no sampler ids")
        ids.extend(from_file)
    # Blank lines in a file are skipped; the same id twice is looked up once.
    return list(dict.fromkeys(i for i in ids if i))


def _run_get(args: argparse.Namespace) -> int:
    _check_stdin_use(args)
    ids = _read_ids(args)
    if not ids:
        raise _UsageError("no sampler ids: give IDs or --ids-file")
    client = _client(args)
    return asyncio.run(_get(client, ids, args.format, args.concurrency))


async def _get(client: LoopsClient, ids: list[str], output: str, concurrency: int) -> int:
    streaming = output == "json" and len(ids) > 1  # JSON Lines as results arrive
    found: dict[str, Sampler] = {}  # kept only for a table or a single object
    failures = 0
    progress = _progress(len(ids), client)
    try:
        async with (
            client,
            contextlib.aclosing(client.samplers.iter_many(ids, concurrency=concurrency)) as results,
        ):
            async for sampler_id, result in results:
                if isinstance(result, AuthenticationError):
                    # No lookup with this key can succeed: leaving the block closes the
                    # iterator, which cancels the lookups in flight and sends no more.
                    raise _UsageError(_KEY_REFUSED)
                if isinstance(result, Sampler):
                    if streaming:
                        print(json.dumps(result.to_dict()), flush=True)
                    else:
                        found[sampler_id] = result
                else:
                    failures += 1
                    progress.error(_error_line(sampler_id, result))
                progress.advance(failed=not isinstance(result, Sampler))
    finally:
        progress.close()
    ordered = [found[i] for i in ids if i in found]
    if output == "table":
        _print_table(ordered, SAMPLER_COLUMNS)
    elif len(ids) == 1 and ordered:
        print(json.dumps(ordered[0].to_dict(), indent=2))
    return EXIT_SOME_FAILED if failures else EXIT_OK


# -- samplers wait ---------------------------------------------------------------------------


def _run_wait(args: argparse.Namespace) -> int:
    client = _client(args)
    return asyncio.run(_wait(client, args.id, args.max_wait, args.poll_interval))


async def _wait(client: LoopsClient, sampler_id: str, max_wait: float, poll: float) -> int:
    def show(sampler: Sampler) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        line = f"[{stamp}] {_shown_id(sampler.id)}: {_shown(str(sampler.status.name))}"
        print(line, file=sys.stderr, flush=True)

    async with client:
        try:
            sampler = await client.samplers.wait_until_active(
                sampler_id, timeout=max_wait, poll_interval=poll, on_status=show
            )
        except AuthenticationError:
            raise _UsageError(_KEY_REFUSED) from None
        except (SamplerFailedError, WaitTimeoutError) as exc:
            print(f"error: {_shown(str(exc))}", file=sys.stderr)
            return EXIT_SOME_FAILED
        except LoopsError as exc:
            print(_error_line(sampler_id, exc), file=sys.stderr)
            return EXIT_SOME_FAILED
    print(json.dumps(sampler.to_dict(), indent=2))
    return EXIT_OK
