"""End to end in a real browser: Debian's Chromium driven by Playwright against a live server."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from propscope.pipeline.analyzer import load_analyzer
from propscope.server import ServerSettings, create_app

CHROMIUM = os.environ.get("PROPSCOPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("PROPSCOPE_SCREENSHOTS", Path(__file__).resolve().parents[2] / "bench" / "out"))


def _browser_missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set PROPSCOPE_CHROMIUM)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def live_server():
    import uvicorn

    missing = _browser_missing()
    if missing:
        if os.environ.get("PROPSCOPE_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(ServerSettings(), analyzer=load_analyzer())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page(live_server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            headless=True,
            viewport={"width": 1200, "height": 900},
        )
        page = context.new_page()
        page.goto(live_server)
        yield page
        context.close()


def analyze(page, text: str) -> None:
    page.fill("#url", "")
    page.fill("#text", text)
    page.click("#analyze")
    # Locators, not wait_for_function: the page's Content-Security-Policy forbids evaluating strings in it.
    page.locator("#status", has_text="spans found").wait_for(timeout=30_000)


def test_paste_highlight_filter_and_screenshot(page, sample_text):
    analyze(page, sample_text)
    marks = page.locator("#article mark")
    assert marks.count() > 3
    assert page.locator("#article").inner_text().replace("\r", "") == sample_text.replace("\r", "")

    first = page.locator("#legend button").first
    chosen = first.get_attribute("data-technique")
    first.click()
    assert first.get_attribute("aria-pressed") == "true"
    shown = page.eval_on_selector_all("#article mark", "ms => ms.map(m => m.dataset.techniques)")
    assert shown and all(chosen in techniques.split("|") for techniques in shown)

    page.focus("#article mark")
    tooltip = page.locator("#tooltip")
    assert tooltip.is_visible() and "score" in tooltip.inner_text()

    page.click("#show-all")
    page.fill("#min-score", "1")
    page.dispatch_event("#min-score", "input")
    assert page.locator("#article mark").count() == 0
    page.fill("#min-score", "0")
    page.dispatch_event("#min-score", "input")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "web-page.png"), full_page=True)
    assert (SCREENSHOTS / "web-page.png").stat().st_size > 10_000


def test_highlights_cover_their_text_after_emoji_and_flags(page, sample_text):
    emoji = "\U0001f600\U0001f44d\U0001f3fd\U0001f389\U0001f680\U0001f525\U0001f4f0\U0001f914"  # two UTF-16 units each
    flags = "\U0001f1fa\U0001f1f8\U0001f1ec\U0001f1e7"  # two flags, four code points
    text = f"{emoji} {flags}\n{sample_text}"
    analyze(page, text)
    spans = page.evaluate("state.analysis.spans")
    assert spans and all(text[s["start"] : s["end"]] == s["text"] for s in spans)  # offsets count code points
    cuts = sorted({0, len(text)} | {s["start"] for s in spans} | {s["end"] for s in spans})
    pieces = zip(cuts, cuts[1:], strict=False)
    expected = [text[a:b] for a, b in pieces if any(s["start"] < b and a < s["end"] for s in spans)]
    assert page.eval_on_selector_all("#article mark", "ms => ms.map(m => m.textContent)") == expected
    assert page.locator("#article").inner_text().replace("\r", "") == text


def test_markup_in_an_article_shows_as_text(page):
    hostile = (
        "Breaking news\n\n<script>window.hacked = true</script> The <b>shameful</b>, reckless traitors "
        '<img src=x onerror="window.hacked=true">!\n'
    )
    analyze(page, hostile)
    assert page.evaluate("window.hacked === undefined")
    assert page.locator("#article script, #article img, #article b").count() == 0
    assert "<script>window.hacked = true</script>" in page.locator("#article").inner_text()


def test_narrow_screen_and_keyboard(page, sample_text):
    page.set_viewport_size({"width": 380, "height": 800})
    analyze(page, sample_text)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.focus("#text")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "url"
    page.set_viewport_size({"width": 1200, "height": 900})


def test_error_message_for_empty_text(page):
    page.fill("#text", "   ")
    page.fill("#url", "")
    page.click("#analyze")
    page.locator("#status.error").wait_for(timeout=10_000)
    assert "empty" in page.locator("#status").inner_text()
