"""The harness that runs the docs' code blocks (tests/docs_blocks.py), and the docs' surface."""

from __future__ import annotations

import inspect
import os
import pydoc
import re
import textwrap
from pathlib import Path

import pytest
from sybil.example import SybilFailure

import baseten_loops
from tests.docs_blocks import DOCS_SAMPLERS, ROOT, docs_sybil


def run_page(tmp_path: Path, markdown: str) -> list[str]:
    """Run every block of a Markdown page as the docs harness does; return what each did."""
    page = tmp_path / "page.md"
    page.write_text(textwrap.dedent(markdown))
    sybil = docs_sybil(tmp_path, ("page.md",))
    document = sybil.parse(page)
    assert sybil.setup is not None
    assert sybil.teardown is not None
    outcomes = []
    sybil.setup(document.namespace)
    try:
        for example in document.examples():
            try:
                example.evaluate()
            except SybilFailure as failure:
                outcomes.append(f"failed: {failure.result}")
            except Exception as exc:
                outcomes.append(f"{type(exc).__name__}: {exc}")
            else:
                outcomes.append("ok")
    finally:
        sybil.teardown(document.namespace)
    return outcomes


def test_top_level_await_fails_naming_file_line_and_fix(tmp_path: Path) -> None:
    (outcome,) = run_page(
        tmp_path,
        """\
        # A page

        ```python
        import asyncio

        await asyncio.sleep(0)
        ```
        """,
    )
    assert outcome.startswith("failed: python block at ")
    assert "page.md, line 3 failed" in outcome
    assert 'page.md", line 6' in outcome  # the traceback points at the Markdown line
    assert "SyntaxError" in outcome
    assert "asyncio.run(main())" in outcome


def test_each_python_block_starts_afresh_unless_it_says_it_continues(tmp_path: Path) -> None:
    outcomes = run_page(
        tmp_path,
        """\
        ```python
        answer = 42
        ```

        ```python
        # continues the example above
        assert answer == 42
        ```

        ```python
        print(answer)
        ```
        """,
    )
    assert outcomes[:2] == ["ok", "ok"]
    assert "NameError: name 'answer' is not defined" in outcomes[2]


def test_python_blocks_run_as_main_against_the_seeded_fake_server(tmp_path: Path) -> None:
    outcomes = run_page(
        tmp_path,
        """\
        ```python
        import asyncio

        from baseten_loops import LoopsClient


        async def main() -> None:
            async with LoopsClient() as client:
                sampler = await client.samplers.get("abc123")
            assert sampler.status.name == "ACTIVE"


        if __name__ == "__main__":
            asyncio.run(main())
        ```
        """,
    )
    assert outcomes == ["ok"]
    assert DOCS_SAMPLERS["abc123"]["status"] == "ACTIVE"


def test_the_docs_server_serves_the_seeded_objects_and_creations_are_up_at_once(
    tmp_path: Path,
) -> None:
    outcomes = run_page(
        tmp_path,
        """\
        ```python
        import asyncio

        from baseten_loops import LoopsClient


        async def main() -> None:
            async with LoopsClient() as client:
                run = await client.runs.get("r1")
                assert run.sampler is not None and run.sampler.status.name == "ACTIVE"
                [checkpoint] = await client.checkpoints.list(
                    checkpoint_path="bt://loops:r1/sampler_weights/step-100"
                )
                assert checkpoint.id == "c1"
                assert len(await client.deployments.logs("d1", min_level="WARNING")) == 2
                assert await client.runs.list(team_id="t1") == []
                session = await client.sessions.create()
                trainer = await client.trainers.create(
                    session_id=session.id, base_model="Qwen/Qwen3-8B"
                )
                sampler = await client.samplers.create(session_id=session.id, run_id=trainer.id)
                # Up on the first lookup: a wait with the default poll_interval never sleeps.
                assert sampler.status.name == "ACTIVE"
                assert trainer.deployment_id is not None
                deployment = await client.deployments.get(trainer.deployment_id)
                assert deployment.status.name == "RUNNING"


        asyncio.run(main())
        ```
        """,
    )
    assert outcomes == ["ok"]


def test_bash_blocks_run_the_cli_against_the_fake_server(tmp_path: Path) -> None:
    outcomes = run_page(
        tmp_path,
        """\
        ```bash
        baseten-loops samplers get abc123 | grep '"name": "ACTIVE"'
        ```

        ```bash
        baseten-loops samplers get no-such-sampler
        ```
        """,
    )
    assert outcomes[0] == "ok"
    assert outcomes[1].startswith("failed: bash block at ")
    assert "page.md, line 5 exited 1" in outcomes[1]
    assert "no-such-sampler" in outcomes[1]  # the command's stderr is in the report


def test_untagged_and_unknown_blocks_fail_asking_for_a_tag(tmp_path: Path) -> None:
    outcomes = run_page(
        tmp_path,
        """\
        ```
        some output
        ```

        ```python title="x"
        print("not run: the tag is not exactly python")
        ```

        ```text
        shown only
        ```
        """,
    )
    assert len(outcomes) == 2  # the `text` block makes no test
    assert "line 1 has tag '(none)'" in outcomes[0]
    assert "tag it 'python' or 'bash'" in outcomes[0]
    assert "has tag 'python title=\"x\"'" in outcomes[1]


def test_a_block_marked_not_run_is_no_test_and_the_next_one_is(tmp_path: Path) -> None:
    outcomes = run_page(
        tmp_path,
        """\
        <!-- not run: installs from the package index -->
        ```bash
        exit 1
        ```

        ```bash
        true
        ```

        <!-- not run: -->
        ```bash
        exit 3
        ```
        """,
    )
    # The first block is passed over; a marker without a reason does not count.
    assert outcomes[0] == "ok"
    assert "exited 3" in outcomes[1]
    assert len(outcomes) == 2


def test_the_environment_is_restored_after_a_page(tmp_path: Path) -> None:
    before = dict(os.environ)
    run_page(
        tmp_path,
        """\
        ```python
        import os

        assert os.environ["BASETEN_BASE_URL"].startswith("http://127.0.0.1:")
        assert os.environ["BASETEN_API_KEY"]
        ```
        """,
    )
    assert dict(os.environ) == before


@pytest.mark.parametrize(
    "page", ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob("docs/*.md"))]
)
def test_every_page_is_collected(page: str) -> None:
    assert docs_sybil().should_parse(ROOT / page)


def public_classes() -> set[str]:
    return {name for name in baseten_loops.__all__ if inspect.isclass(getattr(baseten_loops, name))}


def test_help_describes_every_public_name() -> None:
    text = pydoc.render_doc(baseten_loops, renderer=pydoc.plaintext)
    description = text.split("\nDESCRIPTION\n", 1)[1].split("\nPACKAGE CONTENTS\n", 1)[0]
    missing = [name for name in baseten_loops.__all__ if name not in description]
    assert not missing, f"add {missing} to the docstring of baseten_loops/__init__.py"
    assert "baseten_loops.testing" in description


def test_help_documents_exactly_the_public_classes() -> None:
    text = pydoc.render_doc(baseten_loops, renderer=pydoc.plaintext)
    classes = text.split("\nCLASSES\n", 1)[1].split("\nDATA\n", 1)[0]
    documented = set(re.findall(r"^    class (\w+)", classes, re.MULTILINE))
    assert documented == public_classes()
    assert "\nFUNCTIONS\n" not in text  # no private helper leaks into the package's namespace


def test_reference_shows_every_public_class_under_its_public_path() -> None:
    reference = (ROOT / "docs" / "reference.md").read_text()
    rendered = set(re.findall(r"^::: baseten_loops\.(\w+)$", reference, re.MULTILINE))
    assert public_classes() <= rendered
    assert "::: baseten_loops._" not in reference


def test_mkdocs_has_site_and_repo_urls_and_fetches_no_fonts() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    assert re.search(r"^site_url: https://\S+/$", config, re.MULTILINE)
    assert re.search(r"^repo_url: https://\S+$", config, re.MULTILINE)
    assert re.search(r"^  font: false\b", config, re.MULTILINE)


def test_every_docs_page_is_in_the_mkdocs_nav() -> None:
    config = (ROOT / "mkdocs.yml").read_text()
    missing = [p.name for p in (ROOT / "docs").glob("*.md") if f": {p.name}\n" not in config]
    assert not missing, f"add {missing} to the nav of mkdocs.yml"


def _design_section(title: str) -> str:
    text = (ROOT / "docs" / "design.md").read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_the_layer_table_names_every_module_of_the_package() -> None:
    layers = _design_section("Layers")
    package = Path(baseten_loops.__file__).parent
    missing = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if not re.search(rf"(?<![\w.]){re.escape(path.stem)}(?![\w])", layers)
    ]
    assert not missing, f"docs/design.md's layer table misses {missing}"


def test_every_name_in_the_where_to_find_table_is_in_the_code() -> None:
    """`_module.name` and `_module.Class.method` resolve; `_dir/file.py` exists."""
    section = _design_section("Where to find")
    table = "\n".join(line for line in section.splitlines() if line.startswith("| "))
    package = Path(baseten_loops.__file__).parent
    files = re.findall(r"`((?:\w+/)?\w+\.py)`", section)
    assert len(files) >= 20
    for file in files:
        places = (package / file, package / "_fake" / file, ROOT / file)
        assert any(p.is_file() for p in places), f"docs/design.md names {file}: no such file"
    dotted = re.findall(r"`((?:_\w+|testing|pytest_plugin)(?:\.\w+)+)`", table)
    assert len(dotted) >= 20
    for name in dotted:
        module_name, *attributes = name.split(".")
        if attributes == ["py"]:
            continue  # a file, checked above
        if not (package / f"{module_name}.py").is_file():
            # A private class named on its own (`_Pool.follow_policy`): defined, with its methods.
            sources = "".join(path.read_text() for path in package.rglob("*.py"))
            assert f"class {module_name}" in sources, f"docs/design.md names {name}"
            assert all(f"def {a}(" in sources for a in attributes), f"docs/design.md names {name}"
            continue
        target: object = __import__(f"baseten_loops.{module_name}", fromlist=["_"])
        for attribute in attributes:
            assert hasattr(target, attribute), f"docs/design.md names {name}: no {attribute}"
            target = getattr(target, attribute)
