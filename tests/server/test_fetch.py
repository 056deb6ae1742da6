import asyncio
import time
import tracemalloc

import pytest

from propscope.server.fetch import FetchError, FetchPolicy, _pinned, check_url, fetch_page, page_article
from tests.server.conftest import PAGES

ARTICLE_HTML = b"""<!doctype html><html><head><title>Harbour vote</title></head><body>
<nav>Home | News | Sport</nav>
<article><h1>Harbour vote</h1>
<p>The council approved the reckless and shameful bridge plan on Tuesday night after a long debate.</p>
<p>Opponents said the decision betrayed every honest family in the town and vowed to fight it in court.</p>
<p>Supporters said the town had only two choices: build the new crossing now or watch the harbour die.</p>
</article><footer>Copyright</footer></body></html>"""

OPEN = FetchPolicy(allow_private=True, timeout_seconds=1.0, max_bytes=50_000)


def fetch(url: str, policy: FetchPolicy = OPEN):
    return page_article(asyncio.run(fetch_page(url, policy)))


def check(url: str, policy: FetchPolicy) -> str:
    return asyncio.run(check_url(url, policy))


@pytest.fixture(autouse=True)
def pages(page_server):
    PAGES.update(
        {
            "/story": (200, "text/html; charset=utf-8", ARTICLE_HTML),
            "/big": (200, "text/html", b"<p>" + b"x" * 60_000 + b"</p>"),
            "/empty": (200, "text/html", b"<html><body></body></html>"),
            "/gone": (404, "text/plain", b"gone"),
            "/hop": (302, "text/plain", f"{page_server}/story".encode()),
            "/to-bad-port": (302, "text/plain", b"http://127.0.0.1:99999/"),
            "/to-bad-host": (302, "text/plain", b"http://[::1"),
        }
    )


def test_article_text_and_title_are_extracted(page_server):
    article = fetch(f"{page_server}/story")
    assert article.title == "Harbour vote"
    assert "reckless and shameful bridge plan" in article.text
    assert "Copyright" not in article.text


def test_redirects_are_followed_and_checked(page_server):
    assert "bridge plan" in fetch(f"{page_server}/hop").text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/big", "larger than"),
        ("/empty", "no article text"),
        ("/gone", "HTTP 404"),
        ("/slow", "did not answer"),
        ("/to-bad-port", "malformed"),
        ("/to-bad-host", "Invalid URL in location header"),
    ],
)
def test_unusable_pages_are_named(page_server, path, message):
    with pytest.raises(FetchError, match=message):
        fetch(f"{page_server}{path}")


def test_a_page_dripping_bytes_is_cut_off_at_the_deadline(page_server):
    started = time.monotonic()
    with pytest.raises(FetchError, match="did not answer within 1 seconds"):
        fetch(f"{page_server}/drip")  # every read is quick; the page would take 10 s
    assert time.monotonic() - started < 2.5


def test_a_gzip_bomb_is_refused_before_it_inflates(page_server):
    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="larger than 50000 bytes"):
            asyncio.run(fetch_page(f"{page_server}/bomb", OPEN))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # the page inflates to 50 MB


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:99999/", "http://127.0.0.1:abc/", "http://127.0.0.1:-1/", "http://[::1", "http://h:0/"],
)
def test_malformed_ports_and_hosts_are_named(url):
    with pytest.raises(FetchError, match="malformed|port 0"):
        check(url, FetchPolicy(allow_private=True))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8000/x",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest",
        "http://[::1]/",
    ],
)
def test_private_loopback_and_link_local_are_refused_by_default(url):
    with pytest.raises(FetchError, match="non-public address"):
        check(url, FetchPolicy())


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "javascript:alert(1)", "/relative"])
def test_other_schemes_are_refused(url):
    with pytest.raises(FetchError, match="only http and https"):
        check(url, FetchPolicy(allow_private=True))


def test_connections_are_pinned_to_the_checked_address():
    url, headers, extensions = _pinned("https://news.example.org:8443/a?b=1", "203.0.113.7")
    assert url == "https://203.0.113.7:8443/a?b=1"
    assert headers["Host"] == "news.example.org:8443"
    assert extensions == {"sni_hostname": "news.example.org"}
    url, headers, extensions = _pinned("http://example.org/x", "2001:db8::1")
    assert url == "http://[2001:db8::1]/x" and headers["Host"] == "example.org" and extensions == {}
