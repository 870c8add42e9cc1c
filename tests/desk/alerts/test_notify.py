"""Notifiers: JSON lines to stdout and to a file, and a webhook against a real HTTP server on
127.0.0.1 (success, a 500 then success on retry, no retry on a 400, a timeout, a dead port whose
deliveries are stored as failed and delivered on the next round once the server is up)."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from desk.alerts.notify import (
    JsonLinesNotifier,
    NotifyError,
    WebhookNotifier,
    deliver_pending,
    notifier_levels,
)
from desk.store.alerts import deliveries_of, get_alert, insert_alerts, open_alert_store
from desk.store.sqlite import transaction
from engine.alerts.records import Alert
from engine.errors import ConfigurationError


class Hook:
    """A real HTTP server in a thread that answers with the statuses queued (200 when none is
    left), optionally after a delay, and keeps every request it got."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.delay = 0.0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append({"path": self.path, "headers": dict(self.headers),
                                      "body": json.loads(body)})  # fmt: skip
                if hook.delay:
                    threading.Event().wait(hook.delay)
                status = hook.statuses.pop(0) if hook.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/carbon"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture()
def hook():
    server = Hook()
    yield server
    server.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


RECORD = {"id": 7, "key": "abc123", "rule": "cumulative", "severity": "critical", "state": "open",
          "message": "CEA fell 10.1 %", "figures": {"close": 64.74, "move": -0.101}}  # fmt: skip


def test_webhook_posts_the_alert_as_json(hook, monkeypatch):
    monkeypatch.setenv("CARBON_WEBHOOK_TOKEN", "t0ken")
    notifier = WebhookNotifier("hook", hook.url, token_env="CARBON_WEBHOOK_TOKEN",
                               headers={"Accept": "application/json"})  # fmt: skip
    assert "t0ken" not in repr(notifier)
    notifier.send(RECORD)
    (request,) = hook.requests
    assert request["path"] == "/carbon" and request["body"] == RECORD
    headers = request["headers"]
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["X-Carbon-Alert-Key"] == "abc123"
    assert headers["Authorization"] == "Bearer t0ken" and headers["Accept"] == "application/json"
    assert headers["User-Agent"].startswith("carbon-desk/")


def test_webhook_token_from_a_private_file_and_url_from_the_environment(
    hook, tmp_path, monkeypatch
):
    token = tmp_path / "hook.token"
    token.write_text("s3cret\n")
    token.chmod(0o644)
    monkeypatch.setenv("HOOK_URL", hook.url)
    notifier = WebhookNotifier("hook", url_env="HOOK_URL", token_file=str(token))
    with pytest.raises(NotifyError, match=r"open to other users \(mode 0644\): chmod 600"):
        notifier.send(RECORD)
    token.chmod(0o600)
    notifier.send(RECORD)
    assert hook.requests[-1]["headers"]["Authorization"] == "Bearer s3cret"
    monkeypatch.delenv("HOOK_URL")
    with pytest.raises(NotifyError, match=r"HOOK_URL \(url_env\) is not set"):
        notifier.send(RECORD)


@pytest.mark.parametrize("header", ["Authorization", "X-Api-Key", "Cookie", "X-Auth-Token"])
def test_a_credential_written_in_the_configuration_is_refused_unshown(header):
    with pytest.raises(
        ConfigurationError, match=f"headers.{header} = '<redacted>' holds a cr"
    ) as e:
        WebhookNotifier("hook", "https://hooks.example.com/x", headers={header: "Bearer s3cret"})
    assert "s3cret" not in str(e.value) and "token_env" in str(e.value)
    with pytest.raises(ConfigurationError, match="holds a user or password") as e:
        WebhookNotifier("hook", "https://bob:s3cret@hooks.example.com/x")
    assert "s3cret" not in str(e.value)


def test_a_failing_webhook_names_its_url_without_query_or_token(monkeypatch):
    monkeypatch.setenv("CARBON_WEBHOOK_TOKEN", "s3cret")
    notifier = WebhookNotifier("hook", "http://127.0.0.1:9/carbon?sig=s3cret", retries=0,
                               timeout_s=2, token_env="CARBON_WEBHOOK_TOKEN")  # fmt: skip
    with pytest.raises(NotifyError) as e:
        notifier.send(RECORD)
    assert "s3cret" not in str(e.value)
    assert str(e.value).startswith("POST http://127.0.0.1:9/carbon?<redacted> failed after 1 try")


def test_webhook_retries_a_500_with_backoff(hook):
    hook.statuses = [500, 503]
    waits = []
    WebhookNotifier("hook", hook.url, retries=2, backoff_s=0.25).send(RECORD, sleep=waits.append)
    assert len(hook.requests) == 3 and waits == [0.25, 0.5]


def test_webhook_gives_up_after_its_retries(hook):
    hook.statuses = [500, 500, 500]
    with pytest.raises(NotifyError, match=r"failed after 3 tries: HTTP 500"):
        WebhookNotifier("hook", hook.url, retries=2, backoff_s=0).send(RECORD)
    assert len(hook.requests) == 3


def test_webhook_does_not_retry_a_client_error(hook):
    hook.statuses = [400]
    with pytest.raises(NotifyError, match=r"failed after 1 try: HTTP 400"):
        WebhookNotifier("hook", hook.url, retries=3, backoff_s=0).send(RECORD)
    assert len(hook.requests) == 1


def test_webhook_times_out(hook):
    hook.delay = 0.6
    with pytest.raises(NotifyError, match=r"failed after 2 tries: .*timed out"):
        WebhookNotifier("hook", hook.url, timeout_s=0.2, retries=1, backoff_s=0).send(RECORD)


def test_webhook_to_a_dead_port():
    url = f"http://127.0.0.1:{free_port()}/carbon"
    with pytest.raises(NotifyError, match=r"failed after 2 tries: ConnectionRefusedError"):
        WebhookNotifier("hook", url, retries=1, backoff_s=0).send(RECORD)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"url": "ftp://x"}, "url = 'ftp://x' must be an http:// or https:// URL"),
        ({"url": "http://x", "timeout_s": 0}, "timeout_s = 0 must lie in"),
        ({"url": "http://x", "retries": 11}, "retries = 11 must lie in"),
        ({"url": "http://x", "min_severity": "urgent"}, "min_severity = 'urgent' must be one of"),
    ],
)
def test_webhook_settings_are_checked(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        WebhookNotifier("hook", **kwargs)


def test_json_lines_to_stdout_and_to_a_file(tmp_path, capsys):
    JsonLinesNotifier("out").send(RECORD)
    assert json.loads(capsys.readouterr().out) == RECORD
    target = tmp_path / "log" / "alerts.jsonl"
    notifier = JsonLinesNotifier("file", str(target))
    notifier.send(RECORD)
    notifier.send(RECORD | {"id": 8})
    assert [json.loads(line)["id"] for line in target.read_text().splitlines()] == [7, 8]
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(NotifyError, match="cannot append to"):
        JsonLinesNotifier("bad", str(blocked / "x.jsonl")).send(RECORD)


def _alerts():
    return [
        Alert("cumulative", "CEA", dt.date(2025, 9, 8), "warning", "CEA fell 10.1 %",
              {"move": -0.101}, {"threshold": 0.1}),
        Alert("cumulative", "CEA", dt.date(2025, 11, 18), "critical", "CEA rose 20.5 %",
              {"move": 0.205}, {"threshold": 0.1}),
        Alert("volatility", "CEA", dt.date(2025, 11, 19), "info", "sigma 5.3 %",
              {"sigma_pct": 5.31}, {"ratio": 2.0}),
    ]  # fmt: skip


def test_a_dead_webhook_loses_nothing_and_delivers_on_the_next_round(tmp_path):
    """The webhook (warning and above) is down: its deliveries stay in the store as failed
    (the first one tried, the other waiting), the file notifier gets every alert; once the
    server is up on that port, the next round delivers both, and nothing twice."""
    port = free_port()
    hook = WebhookNotifier("hook", f"http://127.0.0.1:{port}/carbon", min_severity="warning",
                           retries=1, backoff_s=0)  # fmt: skip
    log = JsonLinesNotifier("log", str(tmp_path / "alerts.jsonl"))
    conn = open_alert_store(tmp_path / "store.sqlite")
    with transaction(conn):
        insert_alerts(conn, _alerts(), source="test", notifiers=notifier_levels([hook, log]))
    report = deliver_pending(conn, [hook, log])
    assert report.sent == 3 and report.waiting == 1
    assert [(alert_id, name) for alert_id, name, _ in report.failed] == [(1, "hook")]
    assert "ConnectionRefusedError" in report.failed[0][2]
    assert [(d.notifier, d.status, d.attempts) for d in deliveries_of(conn, 1)] == [
        ("hook", "failed", 1), ("log", "sent", 1),
    ]  # fmt: skip
    assert [(d.status, d.attempts) for d in deliveries_of(conn, 2) if d.notifier == "hook"] == [
        ("pending", 0)
    ]
    assert get_alert(conn, 1).state == "open"  # the alert itself is untouched

    server = Hook(port)
    try:
        report = deliver_pending(conn, [hook, log])
        assert (report.sent, report.failed, report.waiting) == (2, (), 0)
        assert [r["body"]["id"] for r in server.requests] == [1, 2]
        assert server.requests[1]["body"] == get_alert(conn, 2).to_dict()
        assert deliver_pending(conn, [hook, log]).sent == 0  # nothing twice
    finally:
        server.close()
    assert [(d.notifier, d.status, d.attempts) for d in deliveries_of(conn, 1)] == [
        ("hook", "sent", 2), ("log", "sent", 1),
    ]  # fmt: skip
    lines = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1, 2, 3]
    conn.close()
