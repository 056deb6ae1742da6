"""Fuzzing the HTTP API: whatever arrives, the answer is never a 5xx, never a traceback, and errors are JSON.

Two runs: hypothesis with hand-written strategies that go where a schema does not (raw bodies, wrong
types, lone surrogates, invisible characters, malformed URLs, odd methods and Host headers), and
schemathesis driven by ``/openapi.json``, which also checks that answers match what the schema promises.
Both are bounded in examples, so the suite stays within its time.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.config import SchemathesisConfig

from propscope.pipeline.analyzer import load_analyzer
from propscope.server import FetchPolicy, ServerSettings, create_app
from propscope.server.app import LOCAL_HOSTS

# A small max_chars keeps every accepted analysis cheap; fetches are refused before any network use
# (private addresses), fail on malformed URLs, or time out after half a second.
SETTINGS = ServerSettings(
    max_chars=600,
    max_word_pieces=200,
    queue=64,
    allowed_hosts=(*LOCAL_HOSTS, "testserver"),  # the test clients' own name
    fetch=FetchPolicy(timeout_seconds=0.5),
)
APP = create_app(SETTINGS, analyzer=load_analyzer())
PAGES_NOT_JSON = ("/", "/static/app.js", "/static/style.css", "/docs", "/redoc", "/openapi.json")

tricky_characters = st.sampled_from(
    ["\ud800", "\udfff", "\x00", "\u200b", "\ufeff", "\ue000", "\U0001f600", "\U0001f1fa\U0001f1f8", "\\", "\x1b[2J"]
)
texts = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(tricky_characters, st.sampled_from(["word ", "reckless ", "shameful. "])), max_size=40).map(
        "".join
    ),
    st.just("\\" * 700),  # over max_chars
)
urls = st.one_of(
    st.sampled_from(
        [
            "http://127.0.0.1:99999/",
            "http://127.0.0.1:abc/",
            "http://127.0.0.1:-1/",
            "http://[::1",
            "http://[::1]:8000/",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest",
            "http://localhost/",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://:80/",
            "http://0/",
            "http://a\x00b/",
            "http://\ud800/",
            "",
        ]
    ),
    st.text(max_size=40).map(lambda tail: "http://" + tail),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
spans = st.lists(
    st.fixed_dictionaries(
        {"start": st.one_of(st.integers(-5, 120), json_values), "end": st.one_of(st.integers(-5, 120), json_values)}
    ),
    max_size=4,
)
analyze_bodies = st.fixed_dictionaries(
    {}, optional={"text": st.one_of(texts, json_values), "title": st.one_of(texts, json_values), "url": urls}
)
classify_bodies = st.fixed_dictionaries({}, optional={"text": st.one_of(texts, json_values), "spans": spans})


@st.composite
def requests(draw) -> dict:
    """One HTTP request: mostly JSON the API might accept, some raw bytes, odd methods, paths and hosts."""
    path = draw(st.sampled_from(["/api/analyze"] * 5 + ["/api/classify"] * 3 + ["/api/health", "/", "/nothing"]))
    method = draw(st.sampled_from(["POST"] * 12 + ["GET", "PUT", "DELETE", "PATCH"]))
    body = draw(classify_bodies if path == "/api/classify" else analyze_bodies)
    raw = draw(
        st.one_of(
            st.just(json.dumps(body).encode()),  # surrogates stay escaped: "\ud800" reaches the server as JSON
            st.binary(max_size=60),
            st.just(json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")),
        )
    )
    content_type = draw(st.sampled_from(["application/json", "application/json", "text/plain", "application/x-www"]))
    served, foreign = ["127.0.0.1:8000", "localhost", "[::1]:8000"], ["evil.example", "127.0.0.1.nip.io"]
    host = draw(st.sampled_from(served * 3 + foreign))
    return {"method": method, "url": path, "content": raw, "headers": {"content-type": content_type, "host": host}}


def assert_well_answered(status: int, content_type: str, body: bytes, path: str) -> None:
    assert status < 500, body
    if path in PAGES_NOT_JSON and status < 400:
        return
    assert content_type.startswith("application/json"), (status, content_type)
    data = json.loads(body)
    if status >= 400:
        assert isinstance(data["error"], str) and data["error"] and data["status"] == status


def test_hypothesis_fuzz_of_the_api():
    client = TestClient(APP)  # a server exception would propagate here and fail the test with its traceback
    statuses: Counter[int] = Counter()

    @settings(max_examples=800, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(request=requests())
    def run(request: dict) -> None:
        response = client.request(**request)
        statuses[response.status_code] += 1
        assert_well_answered(response.status_code, response.headers["content-type"], response.content, request["url"])

    run()
    assert client.get("/api/health").status_code == 200
    print(f"\nhypothesis fuzz: {statuses.total()} requests, statuses {dict(sorted(statuses.items()))}")
    assert statuses.total() >= 400 and not any(code >= 500 for code in statuses)


# Every promise of the schema is checked, with two adjustments: a request the schema forbids may also be
# refused as too large (413), and schema-valid input need not be accepted: a URL that cannot be fetched,
# or a text without words, is valid JSON for the schema and still a 4xx.
CHECKS = {
    "negative_data_rejection": {"expected-statuses": [400, 404, 405, 406, 413, 415, 422]},
    "positive_data_acceptance": {"enabled": False},
}
schema = schemathesis.openapi.from_asgi("/openapi.json", APP, config=SchemathesisConfig.from_dict({"checks": CHECKS}))
SCHEMA_STATUSES: Counter[int] = Counter()


@pytest.fixture(scope="module", autouse=True)
def schema_fuzz_figures():
    yield
    if SCHEMA_STATUSES:
        print(f"\nschema-driven fuzz: {SCHEMA_STATUSES.total()} requests, {dict(sorted(SCHEMA_STATUSES.items()))}")


@schema.parametrize()
@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_schema_driven_fuzz(case):
    response = case.call()
    SCHEMA_STATUSES[response.status_code] += 1
    case.validate_response(response)
    assert_well_answered(response.status_code, response.headers["content-type"][0], response.content, case.path)
