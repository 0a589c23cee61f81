"""The command line, through its entry points, against the fake server."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from baseten_loops import cli
from baseten_loops.testing import FakeLoopsServer, Reply

KEY = "sk-cli-SECRET-0042"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLoopsServer]:
    with FakeLoopsServer(KEY).serve_in_thread() as server:
        monkeypatch.setenv("BASETEN_API_KEY", KEY)
        monkeypatch.setenv("BASETEN_BASE_URL", server.base_url)
        yield server


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out + err  # the key is never printed, whatever happens
    return code, out, err


def test_get_one_prints_an_indented_json_object(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_sampler("abc", status="BUILDING", model_id="m1")
    code, out, err = run(capsys, "samplers", "get", "abc")
    assert code == 0
    assert err == ""
    data = json.loads(out)
    assert data["id"] == "abc"
    assert data["status"] == {"name": "BUILDING"}
    assert data["created_at"] == "2026-01-02T03:04:05.123456+00:00"
    assert out.startswith("{\n  ")


def test_get_several_prints_one_object_per_line(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = fake.add_samplers(5)
    code, out, _ = run(capsys, "samplers", "get", *ids, "--concurrency", "2")
    assert code == 0
    lines = out.splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(ids)


def test_some_failures_exit_1_and_successes_still_print(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_sampler("abc")
    code, out, err = run(capsys, "samplers", "get", "abc", "missing", "a/b")
    assert code == 1
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["abc"]
    assert "error: missing: 404 Not Found" in err
    assert "error: a/b: sampler id 'a/b' must not contain '/'" in err


def test_ids_from_a_file_and_stdin(
    fake: FakeLoopsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    ids = fake.add_samplers(4)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"{ids[0]}\n\n{ids[1]}\n{ids[0]}\n")
    code, out, _ = run(capsys, "samplers", "get", "--ids-file", str(ids_file))
    assert code == 0
    assert sorted(json.loads(line)["id"] for line in out.splitlines()) == sorted(ids[:2])
    monkeypatch.setattr(sys, "stdin", __import__("io").StringIO("\n".join(ids[2:]) + "\n"))
    code, out, _ = run(capsys, "samplers", "get", "--ids-file", "-")
    assert code == 0
    assert sorted(json.loads(line)["id"] for line in out.splitlines()) == sorted(ids[2:])


def test_table_output_has_id_status_model_and_age(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_sampler("abc", status="ACTIVE", base_model="Qwen/Qwen3-8B")
    fake.add_sampler("def", status="SCALED_TO_ZERO", base_model="meta-llama/Llama-3.1-8B")
    code, out, _ = run(capsys, "samplers", "get", "abc", "def", "--format", "table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "BASE", "MODEL", "AGE"]
    assert lines[1].split()[:3] == ["abc", "ACTIVE", "Qwen/Qwen3-8B"]
    assert lines[2].split()[:3] == ["def", "SCALED_TO_ZERO", "meta-llama/Llama-3.1-8B"]
    assert lines[1].split()[3].endswith("d")  # created in January 2026: days old


def test_table_without_rich_is_plain_columns(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich.table", None)
    fake.add_sampler("abc")
    code, out, _ = run(capsys, "samplers", "get", "abc", "--format", "table")
    assert code == 0
    assert out.splitlines()[1].startswith("abc  ACTIVE  Qwen/Qwen3-8B")


def test_missing_key_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BASETEN_API_KEY", raising=False)
    code, out, err = run(capsys, "samplers", "get", "abc")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "BASETEN_API_KEY" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["samplers", "get"],
        ["samplers", "get", "abc", "--concurrency", "0"],
        ["samplers", "get", "abc", "--format", "xml"],
        ["samplers", "get", "abc", "--base-url", "http://api.baseten.co"],
        ["samplers", "get", "--ids-file", "/nonexistent/ids.txt"],
        ["samplers"],
        [],
    ],
)
def test_usage_and_configuration_errors_exit_2(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    _, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in err


def test_api_key_option_is_used_and_never_echoed(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BASETEN_API_KEY")
    fake.add_sampler("abc")
    code, _, _ = run(capsys, "samplers", "get", "abc", "--api-key", KEY)
    assert code == 0
    code, _, err = run(capsys, "samplers", "get", "abc", "--api-key", "wrong-key")
    assert code == 2
    assert "refused the API key (401 Unauthorized)" in err
    assert "wrong-key" not in err


def test_retries_follow_max_attempts(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_sampler("abc")
    fake.enqueue(Reply(status=503), Reply(status=503), sampler_id="abc")
    code, _, err = run(capsys, "samplers", "get", "abc", "--max-attempts", "2")
    assert code == 1
    assert "503" in err
    assert fake.requests_by_id["abc"] == 2


def test_progress_is_shown_on_a_terminal_only(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = fake.add_samplers(20)
    _, _, err = run(capsys, "samplers", "get", *ids)
    assert err == ""  # piped: nothing extra
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "120")
    code, out, err = run(capsys, "samplers", "get", *ids)
    assert code == 0
    assert len(out.splitlines()) == 20
    assert "20/20" in err
    assert "errors" in err


def test_wait_shows_status_changes_and_prints_the_sampler(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script_statuses("abc", ["BUILDING", "LOADING_MODEL", "ACTIVE"])
    code, out, err = run(capsys, "samplers", "wait", "abc", "--poll-interval", "0.01")
    assert code == 0
    assert [line.split("] ")[1] for line in err.splitlines()] == [
        "abc: BUILDING",
        "abc: LOADING_MODEL",
        "abc: ACTIVE",
    ]
    assert json.loads(out)["status"]["name"] == "ACTIVE"


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda s: s.script_statuses("abc", ["BUILDING", "BUILD_FAILED"]), "is BUILD_FAILED"),
        (lambda s: s.add_sampler("abc", status="BUILDING"), "did not become ACTIVE within"),
        (lambda s: None, "404 Not Found"),
    ],
)
def test_wait_failures_exit_1(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], setup: object, message: str
) -> None:
    setup(fake)  # type: ignore[operator]
    code, out, err = run(
        capsys, "samplers", "wait", "abc", "--max-wait", "0.3", "--poll-interval", "0.05"
    )
    assert code == 1
    assert out == ""
    assert message in err


def test_demo_prints_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "demo", "--samplers", "300")
    assert code == 0
    assert "Done in" in out
    assert "300 found, 0 failed" in out
    assert "By status: ACTIVE" in out
    assert "per sampler), retries:" in out


def entry_point() -> list[str]:
    script = shutil.which("baseten-loops", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "baseten_loops"]


@pytest.mark.parametrize(
    "command", [entry_point(), [sys.executable, "-m", "baseten_loops"]], ids=["script", "module"]
)
def test_entry_points_run_as_programs(fake: FakeLoopsServer, command: list[str]) -> None:
    fake.add_sampler("abc")
    env = {**os.environ, "BASETEN_API_KEY": KEY, "BASETEN_BASE_URL": fake.base_url}
    done = subprocess.run(
        [*command, "samplers", "get", "abc", "--format", "table"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "abc" in done.stdout
    assert KEY not in done.stdout + done.stderr
    env.pop("BASETEN_API_KEY")
    done = subprocess.run(
        [*command, "samplers", "get", "abc"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "BASETEN_API_KEY" in done.stderr


def test_fake_server_prints_its_url_and_key(tmp_path: Path) -> None:
    ids_out = tmp_path / "ids.txt"
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "baseten_loops",
            "fake-server",
            "--port",
            "0",
            "--samplers",
            "7",
            "--ids-out",
            str(ids_out),
            "--faults",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        second = proc.stdout.readline()
        proc.terminate()
    assert first.startswith("Fake Loops API serving 7 samplers at http://127.0.0.1:")
    assert second == "API key: test-key\n"
    assert len(ids_out.read_text().split()) == 7


def test_fake_server_refuses_a_bad_port(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "fake-server", "--port", "70000")
    assert code == 2
    assert "--port" in err


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(5, "5s"), (65, "1m 5s"), (3 * 3600 + 120, "3h 2m"), (2 * 86400 + 3600, "2d 1h"), (-9, "0s")],
)
def test_age_is_short_and_human(seconds: int, shown: str) -> None:
    from datetime import datetime, timedelta, timezone

    now = datetime(2026, 11, 26, tzinfo=timezone.utc)
    assert cli._age(now - timedelta(seconds=seconds), now) == shown


def test_errors_print_above_the_progress_bar(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = fake.add_samplers(3)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run(capsys, "samplers", "get", *ids, "missing")
    assert code == 1
    assert len(out.splitlines()) == 3
    assert "error: missing: 404 Not Found" in err
