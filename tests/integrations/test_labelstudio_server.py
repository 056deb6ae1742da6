"""The annotation round trip through a real Label Studio on 127.0.0.1 with a throwaway SQLite database.

Label Studio is installed into a virtual environment under a temporary folder (its dependencies
would clash with ours), which takes minutes: ``-m "not labelstudio"`` leaves it out while iterating.
Skipped only where it cannot be installed (no network, no matching wheels).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from propscope.corpus import Label, read_corpus_folder
from propscope.corpus.folder import write_corpus_folder
from propscope.document import Analysis, Article, Span
from propscope.integrations.labelstudio import labeling_config, read_export, task

pytestmark = pytest.mark.labelstudio

INSTALL_SECONDS = 1200
START_SECONDS = 240
TOKEN = "propscope-test-token-0123456789"
TEXT = "Rally 😀 today\r\nThey are 🇬🇧 traitors, all of them!\r\nJobs first. Jobs first!\r\n"


@dataclass(frozen=True)
class Server:
    url: str

    def call(self, method: str, path: str, payload: object | None = None) -> object:
        request = urllib.request.Request(
            self.url + path,
            data=None if payload is None else json.dumps(payload).encode("utf-8"),
            headers={"Authorization": f"Token {TOKEN}", "Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read().decode("utf-8"))


def _install(venv: Path) -> None:
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    try:
        done = subprocess.run(
            [str(venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "label-studio"],
            capture_output=True,
            text=True,
            timeout=INSTALL_SECONDS,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"Label Studio did not install within {INSTALL_SECONDS} s")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"Label Studio cannot be installed here: {last}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("label-studio")
    _install(root / "venv")
    data, port = root / "data", _free_port()
    data.mkdir()
    log = (root / "server.log").open("wb")
    command = [
        str(root / "venv" / "bin" / "label-studio"), "start", "--no-browser", "--internal-host", "127.0.0.1",
        "--port", str(port), "--data-dir", str(data), "--database", str(data / "label_studio.sqlite3"),
        "--username", "tester@example.com", "--password", "a-throwaway-password", "--user-token", TOKEN,
        "--enable-legacy-api-token",
    ]  # fmt: skip
    environment = os.environ | {"LABEL_STUDIO_BASE_DATA_DIR": str(data), "DJANGO_DB": "sqlite"}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"Label Studio exited ({process.returncode}): {(root / 'server.log').read_text()[-2000:]}")
            try:
                server.call("GET", "/api/projects")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"Label Studio did not answer within {START_SECONDS} s")
                time.sleep(1)
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_corrected_spans_come_back_exactly(label_studio: Server, tmp_path: Path):
    traitors, jobs = TEXT.index("traitors"), TEXT.index("Jobs first!")
    predicted = [Span(traitors, traitors + 8, "Name_Calling,Labeling", 0.7), Span(0, 5, "Slogans", 0.3)]
    analyses = [
        Analysis.build(Article("41", TEXT, "Rally"), predicted, [(0, len(TEXT))], model="default"),
        Analysis.build(Article("42", "Calm news.\r\n", "Calm"), [], [(0, 12)], model="default"),
    ]
    project = label_studio.call(
        "POST", "/api/projects", {"title": "PropScope round trip", "label_config": labeling_config()}
    )
    label_studio.call("POST", f"/api/projects/{project['id']}/import", [task(a.to_dict()) for a in analyses])
    listed = label_studio.call("GET", f"/api/tasks?project={project['id']}&fields=all")
    by_article = {t["data"]["article_id"]: t for t in listed["tasks"]}
    assert by_article["41"]["data"]["text"] == TEXT

    # the annotator keeps the name calling, drops the slogan, adds a repetition; accepts the calm article as it is
    kept = [r for r in task(analyses[0].to_dict())["predictions"][0]["result"] if r["value"]["labels"] != ["Slogans"]]
    value = {"start": jobs, "end": jobs + 10, "text": TEXT[jobs : jobs + 10], "labels": ["Repetition"]}
    added = {"id": "added", "from_name": "technique", "to_name": "text", "type": "labels", "value": value}
    label_studio.call("POST", f"/api/tasks/{by_article['41']['id']}/annotations", {"result": [*kept, added]})
    label_studio.call("POST", f"/api/tasks/{by_article['42']['id']}/annotations", {"result": []})

    export = tmp_path / "export.json"
    export.write_text(json.dumps(label_studio.call("GET", f"/api/projects/{project['id']}/export?exportType=JSON")))
    imported = read_export(export)
    write_corpus_folder(tmp_path / "corpus", imported.articles, imported.labels)
    articles, labels = read_corpus_folder(tmp_path / "corpus")
    assert {a.id: a.text for a in articles} == {"41": TEXT, "42": "Calm news.\r\n"}
    assert sorted(labels) == [
        Label("41", traitors, traitors + 8, "Name_Calling,Labeling"),
        Label("41", jobs, jobs + 10, "Repetition"),
    ]
