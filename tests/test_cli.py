"""The command line, through its entry points, against the fake server."""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from baseten_loops import ClientStats, LoopsClient, cli
from baseten_loops._routes import ROUTES
from baseten_loops.cli import _escape, _progress, _render
from baseten_loops.cli import _main as cli_main
from baseten_loops.cli import _verbs as cli_verbs
from baseten_loops.testing import FakeLoopsServer, Reply

from .spec_payloads import operations, properties_of, request_schema

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
    assert "--api-key-file" in err
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
    assert first.startswith("Fake Loops API serving 7 generated samplers at http://127.0.0.1:")
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
    assert _render._age(now - timedelta(seconds=seconds), now) == shown


def test_errors_print_above_the_progress_bar(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = fake.add_samplers(3)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    code, out, err = run(capsys, "samplers", "get", *ids, "missing")
    assert code == 1
    assert len(out.splitlines()) == 3
    assert "error: missing: 404 Not Found" in err


# -- hostile text from the server or an ids file is shown escaped, never as markup ---------

#: Each would do something to a terminal or to rich if printed raw: set the window title,
#: clear the screen, overwrite the line, close rich markup (MarkupError), render a link,
#: reverse the text that follows.
HOSTILE_MODEL = "\x1b]0;pwned\x07[link=https://evil]x[/link]\x1b[2J\rfake\u202eevil"
HOSTILE_STATUS = "[/]\x1b[31mBUILDING"
RAW_SEQUENCES = ("\x1b]0;", "\x07", "\x1b[2J", "\x1b[31m", "\u202e", "\x1b]8;")


def assert_inert(text: str) -> None:
    """No control or bidi character at all, as a pipe or file would receive it."""
    assert all(c.isprintable() or c == "\n" for c in text), ascii(text)


def assert_no_raw_sequences(text: str) -> None:
    """On a (pretend) terminal rich draws its own bar; the server's sequences stay escaped."""
    for sequence in RAW_SEQUENCES:
        assert sequence not in text, ascii(text)


@pytest.mark.parametrize("with_rich", [True, False], ids=["rich", "plain"])
def test_table_shows_hostile_server_text_escaped_and_not_as_markup(
    fake: FakeLoopsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    with_rich: bool,
) -> None:
    if not with_rich:
        monkeypatch.setitem(sys.modules, "rich.table", None)
    monkeypatch.setenv("COLUMNS", "400")
    fake.add_sampler("abc", status=HOSTILE_STATUS, base_model=HOSTILE_MODEL)
    code, out, err = run(capsys, "samplers", "get", "abc", "--format", "table")
    assert (code, err) == (0, "")  # no MarkupError for "[/]"
    assert_inert(out)
    row = out.splitlines()[1]
    assert "\\x1b]0;pwned\\x07[link=https://evil]x[/link]\\x1b[2J\\rfake\\u202eevil" in row
    assert "[/]\\x1b[31mBUILDING" in row


def test_json_output_keeps_the_server_text_exact(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_sampler("abc", base_model=HOSTILE_MODEL)
    code, out, _ = run(capsys, "samplers", "get", "abc")
    assert code == 0
    assert_inert(out)  # JSON escapes control characters itself
    assert json.loads(out)["base_model"] == HOSTILE_MODEL


def test_wait_lines_show_hostile_statuses_escaped(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.script_statuses("abc", [HOSTILE_STATUS, "ACTIVE"])
    code, _, err = run(capsys, "samplers", "wait", "abc", "--poll-interval", "0.01")
    assert code == 0
    assert_inert(err)
    assert err.splitlines()[0].endswith("] abc: [/]\\x1b[31mBUILDING")


@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_error_lines_show_hostile_messages_request_ids_and_ids_escaped(
    fake: FakeLoopsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    terminal: bool,
) -> None:
    if terminal:  # errors then go through rich's console, above the progress bar
        monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    fake.add_sampler("abc")
    # Raw bytes: aiohttp's server refuses to send control characters in a header; a hostile
    # server is not so polite, and the client reads them.
    body = json.dumps({"message": HOSTILE_MODEL}).encode()
    head = "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
    head += f"x-request-id: req\x1b]0;id\x07[/]\r\nContent-Length: {len(body)}\r\n\r\n"
    fake.enqueue(Reply(raw=head.encode() + body), sampler_id="gone")
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("abc\ngone\n\x1b]0;title\x07\n[link=https://evil]x[/link]\n:smile:\u202e\n")
    code, out, err = run(capsys, "samplers", "get", "--ids-file", str(ids_file))
    assert code == 1
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["abc"]
    (assert_no_raw_sequences if terminal else assert_inert)(err)
    flat = "".join(err.split())  # rich may wrap a long line on a narrow terminal
    assert "error:gone:404NotFound" in flat
    assert "\\x1b]0;pwned\\x07[link=https://evil]x[/link]\\x1b[2J\\rfake\\u202eevil" in flat
    assert "[requestidreq\\x1b]0;id\\x07[/]]" in flat
    assert "error:\\x1b]0;title\\x07:" in flat
    assert "error:[link=https://evil]x[/link]:" in flat
    assert "error::smile:\\u202e:" in flat  # no emoji code expanded either


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Qwen/Qwen3-8B", "Qwen/Qwen3-8B"),
        ("模型 ünïcødé ✓", "模型 ünïcødé ✓"),
        ("\x1b[2J\x9b\x00", "\\x1b[2J\\x9b\\x00"),
        ("a\rb\nc\td", "a\\rb\\nc\\td"),
        ("\u202eabc\u200b\u2028", "\\u202eabc\\u200b\\u2028"),
        ("x" * 100, "x" * 80 + "... (100 characters in all)"),
    ],
)
def test_shown_escapes_control_characters_and_truncates(text: str, shown: str) -> None:
    assert _escape._shown(text, limit=80) == shown


# -- a refused key is fatal ------------------------------------------------------------------


def test_a_refused_key_stops_the_lookups_with_one_line_and_exit_2(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASETEN_API_KEY", "sk-wrong-key-123")
    ids = fake.add_samplers(200)
    code, out, err = run(capsys, "samplers", "get", *ids, "--concurrency", "4")
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "refused the API key (401 Unauthorized)" in err
    assert "sk-wrong-key-123" not in err
    # The lookups in flight when the first 401 arrives, and at most one more each, are sent.
    assert fake.requests <= 2 * 4


def test_a_refused_key_ends_a_wait_with_exit_2(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BASETEN_API_KEY", "sk-wrong-key-123")
    fake.add_sampler("abc")
    code, out, err = run(capsys, "samplers", "wait", "abc")
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "refused the API key" in err


def test_a_403_is_not_fatal(fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]) -> None:
    ids = fake.add_samplers(3)
    fake.enqueue(Reply(status=403), sampler_id=ids[0])
    code, out, err = run(capsys, "samplers", "get", *ids)
    assert code == 1
    assert len(out.splitlines()) == 2
    assert f"error: {ids[0]}: 403 Forbidden" in err


# -- fake-server -----------------------------------------------------------------------------


def test_fake_server_on_a_busy_port_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ids_out = tmp_path / "ids.txt"
        code, out, err = run(capsys, "fake-server", "--port", str(port), "--ids-out", str(ids_out))
    assert (code, out) == (2, "")
    assert err == (
        f"baseten-loops: error: port {port} on 127.0.0.1 is already in use: "
        "pick another with --port (0: any free port)\n"
    )
    assert not ids_out.exists()


def test_fake_server_that_cannot_bind_says_why_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(self: FakeLoopsServer) -> None:
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(FakeLoopsServer, "start", refused)
    code, _, err = run(capsys, "fake-server", "--port", "80")
    assert code == 2
    assert err == "baseten-loops: error: cannot serve on 127.0.0.1:80: Permission denied\n"


def test_fake_server_with_an_unwritable_ids_out_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "missing-dir" / "ids.txt"
    code, out, err = run(capsys, "fake-server", "--port", "0", "--ids-out", str(target))
    assert (code, out) == (2, "")
    assert err.count("\n") == 1
    assert "cannot write --ids-out" in err
    assert "No such file or directory" in err


# -- ids files -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x7fELF\x02\x01\x01\x00\x00\x00" * 50, "is a binary file, not text"),
        (b"abc\n\xff\xfedef\n", "is not UTF-8 text (undecodable byte at offset 4)"),
        (b"", "has no sampler ids"),
        (b"\n  \n\t\n", "has no sampler ids"),
    ],
    ids=["binary", "latin-1", "empty", "blank"],
)
def test_unusable_ids_files_are_one_line_and_exit_2(
    fake: FakeLoopsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    content: bytes,
    message: str,
) -> None:
    ids_file = tmp_path / "ids.txt"
    ids_file.write_bytes(content)
    code, out, err = run(capsys, "samplers", "get", "--ids-file", str(ids_file))
    assert (code, out) == (2, "")
    assert err == f"baseten-loops: error: --ids-file {ids_file} {message}\n"
    # The same from stdin, read as bytes.
    stdin = io.TextIOWrapper(io.BytesIO(content), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    code, _, err = run(capsys, "samplers", "get", "--ids-file", "-")
    assert code == 2
    assert err == f"baseten-loops: error: --ids-file stdin {message}\n"
    assert fake.requests == 0


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_unreadable_ids_files_are_one_line_and_exit_2(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "nope.txt" if kind == "missing" else tmp_path
    code, _, err = run(capsys, "samplers", "get", "--ids-file", str(path))
    assert code == 2
    assert err.startswith(f"baseten-loops: error: cannot read --ids-file {path}: ")
    assert err.count("\n") == 1


def test_ids_from_a_closed_stdin_are_one_line_and_exit_2(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", None)
    code, _, err = run(capsys, "samplers", "get", "--ids-file", "-")
    assert code == 2
    assert err == "baseten-loops: error: cannot read --ids-file stdin: no standard input\n"


def test_a_huge_id_line_is_echoed_truncated(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    fake.add_sampler("abc")
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\x1b" + "x" * 2_000_000 + "\nabc\n")
    code, out, err = run(capsys, "samplers", "get", "--ids-file", str(ids_file))
    assert code == 1
    assert [json.loads(line)["id"] for line in out.splitlines()] == ["abc"]
    assert err.count("\n") == 1
    assert err.startswith("error: \\x1b" + "x" * 79 + "... (2000001 characters in all): ")
    assert_inert(err)
    assert len(err) < 400


# -- the key, --help and --timeout ---------------------------------------------------------


def test_missing_key_points_a_cli_user_to_the_cli_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BASETEN_API_KEY", raising=False)
    code, _, err = run(capsys, "samplers", "wait", "abc")
    assert code == 2
    assert "--api-key-file" in err
    assert "BASETEN_API_KEY" in err
    assert "LoopsClient" not in err
    assert "api_key=" not in err


def test_api_key_file_and_stdin_are_read_and_stripped(
    fake: FakeLoopsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("BASETEN_API_KEY", "sk-wrong-key-123")  # the file wins
    fake.add_sampler("abc")
    key_file = tmp_path / "key"
    key_file.write_text(f"  {KEY}\n")
    code, out, _ = run(capsys, "samplers", "get", "abc", "--api-key-file", str(key_file))
    assert code == 0
    assert json.loads(out)["id"] == "abc"
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{KEY}\r\n"))
    code, out, _ = run(capsys, "samplers", "get", "abc", "--api-key-file", "-")
    assert code == 0
    assert json.loads(out)["id"] == "abc"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b" \n", "holds no key"),
        (KEY.encode() + b"\x00\xff", "is a binary file, not text"),
        (KEY.encode() + b"\xff", "is not UTF-8 text"),
        (None, "cannot read --api-key-file"),
    ],
    ids=["blank", "binary", "latin-1", "missing"],
)
def test_unusable_api_key_files_are_one_line_and_exit_2(
    fake: FakeLoopsServer,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: bytes | None,
    message: str,
) -> None:
    key_file = tmp_path / "key"
    if content is not None:
        key_file.write_bytes(content)
    code, _, err = run(capsys, "samplers", "get", "abc", "--api-key-file", str(key_file))
    assert code == 2
    assert err.count("\n") == 1
    assert message in err
    assert fake.requests == 0


def test_key_and_ids_cannot_both_come_from_stdin(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{KEY}\nabc\n"))
    code, _, err = run(capsys, "samplers", "get", "--api-key-file", "-", "--ids-file", "-")
    assert code == 2
    assert err == "baseten-loops: error: --api-key-file - and --ids-file - cannot both read stdin\n"
    assert sys.stdin.read() == f"{KEY}\nabc\n"  # refused before reading anything


def test_api_key_and_api_key_file_are_exclusive(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["samplers", "get", "abc", "--api-key", "k", "--api-key-file", str(tmp_path)])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (
            ["samplers", "get"],
            [
                "--concurrency N lookups in flight at once (default: 16)",
                "--attempt-timeout S seconds one request attempt may take (default: 30.0)",
                "--timeout S seconds each lookup, page or call may take in all, retries included "
                "(default: 60.0)",
                "--max-attempts N tries per lookup (default: 4)",
                "--format {json,table} output format (default: json)",
                "Visible to other local users in the process list",
                "--api-key-file FILE read the API key from FILE ('-': stdin)",
            ],
        ),
        (
            ["samplers", "wait"],
            [
                "--max-wait S seconds to wait in all, lookups and pauses included (default: 900.0)",
                "--poll-interval S seconds between lookups (default: 5.0)",
                "--attempt-timeout S seconds one request attempt may take (default: 30.0)",
            ],
        ),
        (["fake-server"], ["--port PORT port to bind (0: any free one) (default: 8089)"]),
        (
            ["runs", "create"],
            [
                "--session-id SESSION_ID",
                "check with 'baseten-loops runs list' before trying again",
                "--team TEAM_ID act within this team",
                "--format {json,table} output format (default: json)",
                "--attempt-timeout S seconds one request attempt may take (default: 30.0)",
            ],
        ),
        (
            ["deployments", "logs"],
            [
                "--start TIME window start: epoch milliseconds or ISO 8601",
                "--direction {asc,desc}",
                "--min-level {DEBUG,INFO,WARNING,ERROR}",
            ],
        ),
        (["checkpoints"], ["files list every file of a checkpoint, with download URLs"]),
        ([], ["--api-key is visible to other local users in the process list"]),
    ],
)
def test_help_shows_defaults_and_the_key_warning(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    shown: list[str],
) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exited:
        cli.main([*command, "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for phrase in shown:
        assert phrase in text
    assert "(default: None)" not in text


@pytest.mark.parametrize("command", ["get", "wait"])
def test_attempt_timeout_is_per_attempt_in_get_and_wait(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    fake.add_sampler("abc", status="ACTIVE")
    fake.enqueue(Reply(delay=1.0), sampler_id="abc")  # the first attempt outlasts it
    code, out, _ = run(
        capsys, "samplers", command, "abc", "--attempt-timeout", "0.2", "--max-attempts", "2"
    )
    assert code == 0  # the slow attempt was given up and retried; the wait went on
    assert json.loads(out)["status"]["name"] == "ACTIVE"
    assert fake.requests_by_id["abc"] == 2


def test_timeout_bounds_each_lookup_retries_included(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.add_sampler("abc", status="ACTIVE")
    fake.enqueue(Reply(delay=2.0), sampler_id="abc")  # longer than the whole lookup may take
    code, out, err = run(
        capsys, "samplers", "get", "abc", "--timeout", "0.3", "--max-attempts", "4"
    )
    assert code == 1  # the lookup ran out of time: no second attempt after it
    assert out == ""
    assert "deadline" in err
    assert fake.requests_by_id["abc"] == 1


def test_progress_line_says_when_the_client_is_throttled(
    fake: FakeLoopsServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = fake.add_samplers(40)
    fake.set_rate_limit(50, burst=1)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setenv("COLUMNS", "160")
    code, out, err = run(capsys, "samplers", "get", *ids, "--concurrency", "8")
    assert code == 0
    assert len(out.splitlines()) == 40  # every id found despite the limit
    assert "throttled x" in err


def test_progress_summary_shows_the_pacing_rate() -> None:
    quiet = ClientStats(requests=10, retries=0, retries_denied=0, budget_tokens=500)
    assert "throttled" not in _progress._progress_summary(
        done=10, errors=0, elapsed=1.0, stats=quiet
    )
    paced = attrs.evolve(quiet, throttled=3, rate_limit=42.4)
    summary = _progress._progress_summary(done=10, errors=0, elapsed=1.0, stats=paced)
    assert summary.endswith("throttled x3, pacing at 42/s")


# -- a closed stdout (`... | head -1`) -------------------------------------------------------

#: So many samplers that their output overflows a pipe's buffer (64 KiB on Linux): the command
#: is still writing when its reader has gone, whatever the timing.
PIPE_OVERFLOW_SAMPLERS = 1500


@pytest.mark.parametrize(
    ("argv", "lines_read"),
    [
        (["samplers", "get", "--ids-file", "{ids}"], 1),  # JSON Lines, as results arrive
        (["samplers", "get", "--ids-file", "{ids}", "--format", "table"], 1),  # rich's table
        (["samplers", "list"], 1),  # a list verb: JSON Lines
        (["samplers", "list", "--format", "table"], 1),
        (["samplers", "get", "abc"], 0),  # one indented object, to a reader already gone
        (["samplers", "wait", "abc", "--poll-interval", "0.01"], 0),
    ],
    ids=["get-json", "get-table", "list-json", "list-table", "get-one", "wait"],
)
def test_a_closed_stdout_ends_the_command_quietly_with_exit_141(
    fake: FakeLoopsServer, tmp_path: Path, argv: list[str], lines_read: int
) -> None:
    fake.add_sampler("abc")
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(fake.add_samplers(PIPE_OVERFLOW_SAMPLERS)))
    env = {**os.environ, "BASETEN_API_KEY": KEY, "BASETEN_BASE_URL": fake.base_url}
    command = [sys.executable, "-m", "baseten_loops", *(a.format(ids=ids_file) for a in argv)]
    read_end, write_end = os.pipe()
    reader = os.fdopen(read_end, "rb")
    if lines_read == 0:
        reader.close()  # the reader is gone before the command writes anything
    with subprocess.Popen(command, env=env, stdout=write_end, stderr=subprocess.PIPE) as proc:
        os.close(write_end)  # the command holds the only write end
        try:
            head = [reader.readline() for _ in range(lines_read)]
        finally:
            reader.close()  # `head -1` exits
        _, err = proc.communicate(timeout=60)
    assert all(head), head  # the reader did get its line
    assert proc.returncode == 141  # 128 + SIGPIPE, as a command killed by SIGPIPE
    shown = err.decode()
    assert "Traceback" not in shown
    assert "BrokenPipeError" not in shown
    assert "Exception ignored" not in shown
    if argv[1] != "wait":  # wait shows its status lines on stderr; nothing else may appear
        assert shown == ""


def test_a_closed_stdout_in_process_is_exit_141(
    fake: FakeLoopsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    fake.add_sampler("abc")
    monkeypatch.setattr(sys, "stdout", ClosedPipe())  # no file descriptor to point elsewhere
    assert cli.main(["samplers", "get", "abc"]) == 141


def test_a_stdout_closed_from_the_start_is_no_error(
    fake: FakeLoopsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.add_sampler("abc")
    monkeypatch.setattr(sys, "stdout", None)  # what Python makes of `baseten-loops ... >&-`
    assert cli.main(["samplers", "get", "abc"]) == 0


# -- every option's help shows its default ---------------------------------------------------


def all_parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every (sub)command's parser, by its command line (``"runs create"``)."""
    pending = [("", cli_main._build_parser())]
    while pending:
        name, parser = pending.pop()
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                pending.extend((f"{name} {sub}".strip(), p) for sub, p in action.choices.items())


def options_with_a_default(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """The options a command line may leave out, so that something else is used instead.

    Not: positionals, flags (``--faults``: on or off), ``--help`` and ``--version``, required
    options, and the options of a group of which one must be given (``checkpoints list``).
    """
    in_required_group = {
        id(action)
        for group in parser._mutually_exclusive_groups
        if group.required
        for action in group._group_actions
    }
    for action in parser._actions:
        if (
            action.option_strings
            and action.nargs != 0
            and not action.required
            and id(action) not in in_required_group
        ):
            yield action


def spec_defaults(command: str) -> dict[str, object]:
    """The spec's non-null defaults of the query and body fields of a verb's operation."""
    verb = next((v for v in cli_verbs.VERBS if f"{v.group} {v.name}" == command), None)
    if verb is None:  # not a declared verb: samplers get and wait, fake-server, demo, groups
        return {}
    group = verb.group
    method = verb.method(LoopsClient("k", base_url="http://127.0.0.1:9"))
    route = ROUTES[f"{group}.{method.__name__.removeprefix('iter_')}"]
    _, _, operation = operations()[route.operation_id]
    fields = {p["name"]: p["schema"] for p in operation.get("parameters", []) if "schema" in p}
    if (body := request_schema(operation)) is not None:
        fields.update(properties_of(body))
    return {
        name: node["default"] for name, node in fields.items() if node.get("default") is not None
    }


def test_every_option_that_can_be_left_out_shows_its_default_in_help() -> None:
    """docs/cli.md: ``--help`` shows every option's default: argparse's, or the server's."""
    missing = []
    checked = 0
    for command, parser in all_parsers():
        shown = "".join(parser.format_help().split())  # help wraps lines, even at hyphens
        verb_defaults = spec_defaults(command)
        for action in options_with_a_default(parser):
            checked += 1
            text = " ".join(parser._get_formatter()._expand_help(action).split())
            flag = action.option_strings[0]
            if action.default is not None and f"(default: {action.default})" not in text:
                missing.append(f"{command} {flag}: argparse's default {action.default!r} not shown")
            elif "default" not in text:
                missing.append(f"{command} {flag}: says nothing of its default: {text!r}")
            elif "".join(text.split()) not in shown:
                missing.append(f"{command} {flag}: {text!r} is not in the help")
            server_default = verb_defaults.get(action.dest)
            if server_default is not None and f"default: {server_default}" not in text:
                missing.append(f"{command} {flag}: the server's default {server_default} not shown")
    assert checked > 40
    assert not missing, "\n".join(missing)
