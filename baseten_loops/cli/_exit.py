"""How a command ends: its exit code, or a usage error that ``main`` turns into exit code 2."""

from __future__ import annotations

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: Standard output was closed by its reader (``... | head -1``): 128 + SIGPIPE, the status of a
#: command killed by SIGPIPE (``git log | head``), so a pipeline under ``set -o pipefail`` still
#: sees that the output was cut short. Lookups still to do are not done.
EXIT_BROKEN_PIPE = 141

_KEY_REFUSED = (
    "the server refused the API key (401 Unauthorized); no request can succeed with it: "
    "check --api-key-file, --api-key or BASETEN_API_KEY"
)


class _UsageError(Exception):
    """Ends the command with its message as one line on stderr and exit code 2."""
