"""The docs' examples run as a reader pastes them: each a file of its own, in a fresh ``python``.

The docs harness (tests/docs_blocks.py) runs the blocks in-process, each page against a fake
server of its own. A reader does something else: starts ``baseten-loops fake-server`` once,
exports what it prints, and runs whichever examples they read, in whatever order. This test
does exactly that. One server for all the blocks, run in parallel (so in no set order): the
blocks read the seeded objects and change only what they create, and a check at the end that
the seeded objects are as seeded is what makes any order work, rather than luck.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs

from baseten_loops import LoopsClient
from baseten_loops.cli._fake import (
    EXAMPLE_DEPLOYMENT,
    EXAMPLE_RUN,
    EXAMPLE_SAMPLERS,
    _seed_examples,
)
from baseten_loops.testing import FakeLoopsServer

from .docs_blocks import CONTINUATION, DOCS_PATTERNS, ROOT, docs_sybil, run_python, where
from .fake_server_process import fake_server_process

#: One block's time limit: a wait in a block takes a few polls of 5 s against ``fake-server``,
#: whose new objects come up through statuses as the live service's do.
BLOCK_TIMEOUT_SECONDS = 120
#: Blocks run at once: most of a block's time is starting Python and waiting on polls.
PARALLEL_BLOCKS = 8


@attrs.frozen
class Block:
    """A python block as a reader would save it: where it is, and the file's text."""

    where: str
    source: str


def python_blocks(root: Path = ROOT, patterns: tuple[str, ...] = DOCS_PATTERNS) -> list[Block]:
    """The python blocks the docs harness runs (not those marked ``<!-- not run: ... -->``).

    A block that continues the one above it is saved with the blocks it continues, as a
    reader pastes them into one file.
    """
    sybil = docs_sybil(root, patterns)
    blocks = []
    for path in sorted({p for pattern in patterns for p in root.glob(pattern)}):
        chain: list[str] = []
        for example in sybil.parse(path).examples():
            if example.region.evaluator is not run_python:
                continue
            source = str(example.parsed)
            chain = [*chain, source] if source.startswith(CONTINUATION) else [source]
            blocks.append(Block(where(example), "\n".join(chain)))
    return blocks


def run_block(block: Block, folder: Path, env: dict[str, str]) -> str | None:
    """Save ``block`` as a file and run it with ``python``; what went wrong, if anything."""
    name = block.where.replace("/", "_").replace(", line ", "_line") + ".py"
    script = folder / name
    script.write_text(block.source, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, script.name],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=BLOCK_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode == 0:
        return None
    return f"{block.where} ({script.name}) exited {done.returncode}:\n{done.stderr[-3000:]}"


async def seeded_state(base_url: str, api_key: str) -> dict[str, Any]:
    """What the examples may read of the seeded objects, as the server serves it now."""
    async with LoopsClient(api_key, base_url=base_url) as client:
        samplers = await client.samplers.get_many(list(EXAMPLE_SAMPLERS))
        run = await client.runs.get(EXAMPLE_RUN)
        deployment = await client.deployments.get(EXAMPLE_DEPLOYMENT)
        config = await client.user_config.get()
    return {
        "samplers": {sampler.id: sampler.status.name for sampler in samplers},
        "run": (run.status.name, run.sampler and run.sampler.status.name),
        "deployment": (deployment.status.name, deployment.active_run_id),
        "user_config": config.to_dict(),
    }


async def freshly_seeded_state() -> dict[str, Any]:
    async with FakeLoopsServer() as server:
        _seed_examples(server)
        return await seeded_state(server.base_url, server.api_key)


def test_every_python_block_runs_pasted_into_a_file_against_fake_server(
    tmp_path: Path,
) -> None:
    blocks = python_blocks()
    assert len(blocks) > 40  # every page's blocks were found
    # Blocks that wait start first: their polls then overlap the others' work.
    blocks.sort(key=lambda block: "wait_until_" not in block.source)
    with fake_server_process() as started:
        env = {
            **os.environ,
            **started.env,
            # A reader's activated virtualenv: its scripts (baseten-loops) first on PATH.
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
            "PIP_NO_INDEX": "1",  # an unmarked 'pip install' fails at once, offline
        }
        with concurrent.futures.ThreadPoolExecutor(PARALLEL_BLOCKS) as pool:
            failures = [
                failure
                for failure in pool.map(lambda block: run_block(block, tmp_path, env), blocks)
                if failure is not None
            ]
        after = asyncio.run(seeded_state(env["BASETEN_BASE_URL"], env["BASETEN_API_KEY"]))
    assert not failures, f"{len(failures)} of {len(blocks)} blocks failed:\n" + "\n".join(failures)
    # Nothing a block did changed what the others read: any order gives the same results.
    seeded = asyncio.run(freshly_seeded_state())
    assert after == seeded, "a block changed a seeded object: change only what it creates"


def test_a_continued_block_is_saved_with_the_blocks_it_continues(tmp_path: Path) -> None:
    (tmp_path / "page.md").write_text(
        "```python\nanswer = 42\n```\n\n"
        f"```python\n{CONTINUATION}\nprint(answer)\n```\n\n"
        "<!-- not run: an illustration -->\n```python\nimport nowhere\n```\n\n"
        "```python\nprint('alone')\n```\n"
    )
    blocks = python_blocks(tmp_path, ("page.md",))
    assert [block.source for block in blocks] == [
        "answer = 42\n",
        f"answer = 42\n\n{CONTINUATION}\nprint(answer)\n",
        "print('alone')\n",
    ]
    assert [block.where.rsplit(", ", 1)[1] for block in blocks] == ["line 1", "line 5", "line 15"]
