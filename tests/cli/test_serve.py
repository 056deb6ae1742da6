"""`propscope serve`: it answers to --host, localhost and the names --allowed-host adds."""

import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from propscope.cli.main import app


def served_app(monkeypatch, *args: str):
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda application, **options: started.update(app=application, **options))
    result = CliRunner().invoke(app, ["serve", *args])
    assert result.exit_code == 0, result.output
    return TestClient(started["app"]), started


@pytest.mark.parametrize(
    ("args", "host", "allowed"),
    [
        ([], "127.0.0.1:8000", True),
        ([], "localhost:8000", True),
        ([], "rebound.example:8000", False),
        (["--host", "0.0.0.0"], "news-desk.lan:8000", False),
        (["--host", "0.0.0.0", "--allowed-host", "news-desk.lan"], "news-desk.lan:8000", True),
        (["--allowed-host", "news-desk.lan"], "localhost:8000", True),
        (["--allowed-host", "*"], "anything.example", True),
    ],
)
def test_host_names_answered(monkeypatch, args, host, allowed):
    client, started = served_app(monkeypatch, *args)
    assert started["host"] == (args[1] if args[:1] == ["--host"] else "127.0.0.1")
    assert (client.get("/api/health", headers={"host": host}).status_code == 200) is allowed
