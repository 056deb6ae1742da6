import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from propscope.pipeline.analyzer import Analyzer, load_analyzer
from propscope.server import FetchPolicy, ServerSettings, create_app
from propscope.techniques import TECHNIQUE_NAMES
from tests.server.conftest import PAGES
from tests.server.test_fetch import ARTICLE_HTML

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def client():
    settings = ServerSettings(
        max_chars=5_000, max_word_pieces=2_000, queue=8, fetch=FetchPolicy(allow_private=True, timeout_seconds=1.0)
    )
    return TestClient(create_app(settings, analyzer=load_analyzer()), base_url="http://127.0.0.1:8000")


def test_health_and_catalogue(client):
    assert client.get("/api/health").json()["status"] == "ok"
    assert [t["name"] for t in client.get("/api/techniques").json()] == list(TECHNIQUE_NAMES)


def test_analyze_text(client, sample_text):
    response = client.post("/api/analyze", json={"text": sample_text, "title": "Harbour"})
    assert response.status_code == 200
    data = response.json()
    assert data["article"]["title"] == "Harbour"
    assert data["spans"] and all(sample_text[s["start"] : s["end"]] == s["text"] for s in data["spans"])


def test_analyze_url(client, page_server):
    PAGES["/api-story"] = (200, "text/html", ARTICLE_HTML)
    data = client.post("/api/analyze", json={"url": f"{page_server}/api-story"}).json()
    assert data["article"]["title"] == "Harbour vote"
    assert "bridge plan" in data["article"]["text"]


def test_classify_spans(client, sample_text):
    start = sample_text.index("greedy developers")
    response = client.post("/api/classify", json={"text": sample_text, "spans": [{"start": start, "end": start + 17}]})
    span = response.json()["spans"][0]
    assert span["text"] == "greedy developers"
    assert span["technique"] in TECHNIQUE_NAMES
    probabilities = span["probabilities"].values()
    assert all(0 <= p <= 1 for p in probabilities) and sum(probabilities) <= 1 + 1e-3  # the rest: no technique


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"content": b"{not json", "headers": JSON}, 422, "the body is not valid JSON (Expecting property name"),
        ({"content": b"", "headers": JSON}, 422, "the body is empty"),
        ({"content": b'{"text": "words"}', "headers": {"content-type": "text/plain"}}, 415, "application/json"),
        ({"content": b'{"text": "words"}'}, 415, "without a content type"),
        ({"data": {"text": "words"}}, 415, "not application/x-www-form-urlencoded"),
        ({"json": {"text": "words", "titel": "A"}}, 422, "titel: Extra inputs are not permitted"),
        ({"json": {}}, 422, "exactly one of"),
        ({"json": {"text": "x", "url": "http://a.b"}}, 422, "exactly one of"),
        ({"json": {"text": "   "}}, 400, "empty"),
        ({"json": {"text": 5}}, 422, "text"),
        ({"json": {"text": "word " * 2_000}}, 413, "limit is 5000"),
        ({"json": {"url": "ftp://example.org/a"}}, 422, "only http and https"),
        ({"json": {"url": "http://127.0.0.1:9/nothing-listens"}}, 422, "cannot fetch"),
        ({"content": b'{"text": "a \\ud800 b"}', "headers": JSON}, 422, "surrogate"),
        ({"content": b'{"text": "ok", "title": "\\udfff"}', "headers": JSON}, 422, "title"),
        ({"content": b'{"url": "http://a.b/\\ud800"}', "headers": JSON}, 422, "url"),
        ({"json": {"text": "\u200b\u200b\u200b"}}, 400, "no words the model can read"),
        ({"json": {"text": "\x00\ue000\x00"}}, 400, "no words the model can read"),
        ({"json": {"text": "\\" * 2_500}}, 413, "2500 word pieces; the limit is 2000"),
        ({"json": {"url": "http://127.0.0.1:99999/"}}, 422, "malformed"),
        ({"json": {"url": "http://127.0.0.1:abc/"}}, 422, "malformed"),
        ({"json": {"url": "http://127.0.0.1:-1/"}}, 422, "malformed"),
        ({"json": {"url": "http://[::1"}}, 422, "malformed"),
        ({"json": {"url": "http://reader:secret@example.org/a"}}, 422, "user name or password are refused"),
    ],
)
def test_bad_requests_get_json_errors_and_the_server_keeps_serving(client, kwargs, status, message):
    response = client.post("/api/analyze", **kwargs)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.get("/api/health").status_code == 200


def test_private_urls_are_refused_without_the_flag(page_server):
    guarded = TestClient(create_app(ServerSettings(), analyzer=load_analyzer()), base_url="http://localhost")
    response = guarded.post("/api/analyze", json={"url": f"{page_server}/story"})
    assert response.status_code == 422 and "non-public address" in response.json()["error"]


def test_classify_span_outside_text(client):
    response = client.post("/api/classify", json={"text": "short", "spans": [{"start": 0, "end": 50}]})
    assert response.status_code == 422 and "outside the text" in response.json()["error"]
    response = client.post("/api/classify", json={"text": "short text", "spans": [{"start": 6, "end": 2}]})
    assert response.status_code == 422 and "its end must come after its start" in response.json()["error"]
    response = client.post("/api/classify", json={"text": "short", "spans": [{"start": 0, "end": 2, "technique": 1}]})
    assert response.status_code == 422 and "spans.0.technique: Extra inputs" in response.json()["error"]


@pytest.mark.parametrize("text", ["\u200b\u200b", "\x00", "\ue000\ue001", "word \u200b"])
def test_classify_a_span_without_word_pieces(client, text):
    response = client.post("/api/classify", json={"text": text, "spans": [{"start": len(text) - 1, "end": len(text)}]})
    assert response.status_code == 422 and "no word the model can read" in response.json()["error"]


@pytest.mark.parametrize("span", [{"start": True, "end": 3}, {"start": 0, "end": "3"}, {"start": 0.0, "end": 3}])
def test_span_offsets_must_be_json_integers(client, span):
    response = client.post("/api/classify", json={"text": "some words here", "spans": [span]})
    assert response.status_code == 422 and "valid integer" in response.json()["error"]


def test_a_streamed_body_is_cut_off_at_the_limit(client):
    chunks = (b"x" * 10_000 for _ in range(100))  # no Content-Length: sent chunked
    response = client.post("/api/analyze", content=chunks, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "over the limit" in response.json()["error"]


def test_method_not_allowed_names_the_allowed_ones(client):
    response = client.get("/api/analyze")
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["status"] == 405


def test_requests_for_other_host_names_are_refused(client):
    assert client.get("/api/health", headers={"host": "localhost:8000"}).status_code == 200
    refused = client.get("/api/health", headers={"host": "attacker.example:8000"})
    assert refused.status_code == 400 and "attacker.example" in refused.json()["error"]
    assert refused.headers["x-frame-options"] == "DENY"
    anywhere = TestClient(create_app(ServerSettings(allowed_hosts=("*",)), analyzer=load_analyzer()))
    assert anywhere.get("/api/health", headers={"host": "attacker.example"}).status_code == 200


def test_security_headers(client):
    for path in ("/", "/api/health", "/static/app.js"):
        headers = client.get(path).headers
        assert "default-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


def test_schema_documents_errors_and_the_choice_of_text_or_url(client):
    schema = client.get("/openapi.json").json()
    for path in ("/api/analyze", "/api/classify"):
        assert {"400", "413", "422", "503"} <= set(schema["paths"][path]["post"]["responses"])
    analyze = schema["components"]["schemas"]["AnalyzeRequest"]
    assert analyze["oneOf"] == [{"required": ["text"]}, {"required": ["url"]}]


class HeldAnalyzer(Analyzer):
    """The real model, but every analysis waits until the test lets it go."""

    def __init__(self) -> None:
        super().__init__(load_analyzer().model)
        self.release = threading.Event()

    def analyze(self, article, encoded=None):
        self.release.wait(30)
        return super().analyze(article, encoded)


def test_a_full_queue_answers_503_and_health_stays_responsive(sample_text):
    analyzer = HeldAnalyzer()
    app = create_app(ServerSettings(analyses=1, queue=1, retry_after_seconds=3), analyzer=analyzer)
    client = TestClient(app, base_url="http://127.0.0.1")
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(client.post, "/api/analyze", json={"text": sample_text}) for _ in range(2)]
        deadline = time.monotonic() + 10
        while client.get("/api/health").json()["analyses"] < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        started = time.monotonic()
        assert client.get("/api/health").status_code == 200
        assert time.monotonic() - started < 1
        refused = client.post("/api/analyze", json={"text": sample_text})
        assert refused.status_code == 503 and refused.headers["retry-after"] == "3"
        assert "busy" in refused.json()["error"]
        analyzer.release.set()
        assert [f.result().status_code for f in held] == [200, 200]
    assert client.get("/api/health").json()["analyses"] == 0
    assert client.post("/api/analyze", json={"text": sample_text}).status_code == 200


def test_slow_pages_do_not_hold_the_server(page_server):
    settings = ServerSettings(fetches=1, fetch=FetchPolicy(allow_private=True, timeout_seconds=1.0))
    client = TestClient(create_app(settings, analyzer=load_analyzer()), base_url="http://127.0.0.1")
    with ThreadPoolExecutor(1) as pool:
        dripping = pool.submit(client.post, "/api/analyze", json={"url": f"{page_server}/drip"})
        deadline = time.monotonic() + 10
        while client.get("/api/health").json()["fetches"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.post("/api/analyze", json={"url": f"{page_server}/drip"}).status_code == 503
        assert client.get("/api/health").status_code == 200
        answer = dripping.result()
    assert answer.status_code == 422 and "within 1 seconds" in answer.json()["error"]


def test_oversized_body_is_refused_before_parsing(client):
    response = client.post("/api/analyze", content=b"x" * 100_000, headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_page_and_docs_work_offline(client):
    page = client.get("/").text
    assert "<textarea" in page
    assert 'src="http' not in page and 'href="http' not in page
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/other.js").status_code == 404
    assert "/api/analyze" in client.get("/openapi.json").json()["paths"]
    docs = client.get("/docs").text
    assert "swagger" in docs.lower() and "cdn.jsdelivr" not in docs


def test_concurrent_requests_share_the_model(client, sample_text):
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: client.post("/api/analyze", json={"text": sample_text}).json(), range(8)))
    assert all(r["spans"] == results[0]["spans"] for r in results)
