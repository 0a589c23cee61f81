"""``baseten-loops fake-server`` as a reader starts it: a process, and the variables it prints."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
from collections.abc import Iterator

import attrs

#: The last line the server prints once it serves.
SERVING = "Press Ctrl-C to stop.\n"
#: How long it may take to print that (well under a second; only a hang comes near it).
START_TIMEOUT_SECONDS = 60.0


@attrs.frozen
class Started:
    """What a started ``fake-server`` printed, and the environment it says to export."""

    printed: list[str]
    env: dict[str, str]


@contextlib.contextmanager
def fake_server_process(*options: str) -> Iterator[Started]:
    """Run ``fake-server --port 0 *options`` until the block ends; stop it then."""
    with subprocess.Popen(
        [sys.executable, "-m", "baseten_loops", "fake-server", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # never read: a full pipe could stall the server
        text=True,
    ) as proc:
        # A server that never says it serves is killed, which ends the reading below.
        watchdog = threading.Timer(START_TIMEOUT_SECONDS, proc.kill)
        watchdog.start()
        try:
            assert proc.stdout is not None
            printed = []
            for line in proc.stdout:
                if line == SERVING:
                    break
                printed.append(line)
            else:
                raise AssertionError(f"fake-server ended before serving: {printed}")
            watchdog.cancel()
            exports = [line.split()[1] for line in printed if line.startswith("  export ")]
            yield Started(printed, dict(export.split("=", 1) for export in exports))
        finally:
            watchdog.cancel()
            proc.terminate()
            proc.wait(timeout=START_TIMEOUT_SECONDS)
