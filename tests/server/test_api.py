import pytest
from fastapi.testclient import TestClient

from propscope.pipeline.analyzer import load_analyzer
from propscope.server import FetchPolicy, ServerSettings, create_app
from propscope.techniques import TECHNIQUE_NAMES
from tests.server.conftest import PAGES
from tests.server.test_fetch import ARTICLE_HTML


@pytest.fixture(scope="module")
def client():
    settings = ServerSettings(max_chars=5_000, fetch=FetchPolicy(allow_private=True, timeout_seconds=1.0))
    return TestClient(create_app(settings, analyzer=load_analyzer()))


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
    assert sum(span["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "JSON"),
        ({"json": {}}, 422, "exactly one of"),
        ({"json": {"text": "x", "url": "http://a.b"}}, 422, "exactly one of"),
        ({"json": {"text": "   "}}, 400, "empty"),
        ({"json": {"text": 5}}, 422, "text"),
        ({"json": {"text": "word " * 2_000}}, 413, "limit is 5000"),
        ({"json": {"url": "ftp://example.org/a"}}, 422, "only http and https"),
        ({"json": {"url": "http://127.0.0.1:9/nothing-listens"}}, 422, "cannot fetch"),
    ],
)
def test_bad_requests_get_json_errors_and_the_server_keeps_serving(client, kwargs, status, message):
    response = client.post("/api/analyze", **kwargs)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.get("/api/health").status_code == 200


def test_private_urls_are_refused_without_the_flag(page_server):
    guarded = TestClient(create_app(ServerSettings(), analyzer=load_analyzer()))
    response = guarded.post("/api/analyze", json={"url": f"{page_server}/story"})
    assert response.status_code == 422 and "non-public address" in response.json()["error"]


def test_classify_span_outside_text(client):
    response = client.post("/api/classify", json={"text": "short", "spans": [{"start": 0, "end": 50}]})
    assert response.status_code == 422 and "outside the text" in response.json()["error"]


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
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: client.post("/api/analyze", json={"text": sample_text}).json(), range(8)))
    assert all(r["spans"] == results[0]["spans"] for r in results)
