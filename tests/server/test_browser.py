"""End to end in a real browser: Debian's Chromium driven by Playwright against a live server.

Tests of what the page does with an analysis (overlaps, bands, evidence, the slider) answer ``/api/analyze``
with one built here, so they know every span; the others run the model.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path

import pytest

from propscope.document import Analysis, Article, Cue, Evidence, Span
from propscope.pipeline.analyzer import load_analyzer
from propscope.server import FetchPolicy, ServerSettings, create_app
from tests.server.conftest import PAGES

SCREENSHOTS = Path(os.environ.get("PROPSCOPE_SCREENSHOTS", Path(__file__).resolve().parents[2] / "bench" / "out"))
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1200, "height": 900}


@pytest.fixture(scope="module")
def live_server(chromium):
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = ServerSettings(fetch=FetchPolicy(allow_private=True))  # the test pages are on 127.0.0.1
    app = create_app(settings, analyzer=load_analyzer())
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
def page(chromium, live_server):
    page = chromium.new_page()
    page.goto(live_server)
    yield page
    page.close()


@pytest.fixture
def desktop(page):
    """The page at desktop width, the slider at zero, answered by the model."""
    page.unroute("**/api/analyze")
    page.set_viewport_size(DESKTOP)
    set_slider(page, 0)
    return page


def submit(page, text: str = "", url: str = "", title: str = "") -> None:
    page.fill("#title", title)
    page.fill("#url", url)
    page.fill("#text", text)
    page.click("#analyze")
    # Locators, not wait_for_function: the page's Content-Security-Policy forbids evaluating strings in it.
    page.locator("#status", has_text="spans found").wait_for(timeout=30_000)


TEXT = (
    "Harbour vote\n\n"
    "The shameful traitors sold our harbour!\n\n"
    "Calm words follow here for a while.\n\n"
    "They sold our harbour, said the critics.\n"
)


def at(phrase: str, after: int = 0) -> tuple[int, int]:
    start = TEXT.index(phrase, after)
    return start, start + len(phrase)


PASSAGE = at("shameful traitors sold our harbour")
NESTED = at("shameful")
REPEAT = at("sold our harbour", PASSAGE[1])
CALM = at("Calm words follow here")
WEIGHED = (("Loaded_Language", 0.8), ("Name_Calling,Labeling", 0.15))


def built_analysis() -> dict:
    """One passage with two techniques, a span nested in it, a span alone in each band, and evidence of every kind."""
    evidence = Evidence(
        words=(Cue(*NESTED, 0.93), Cue(*at("traitors"), 0.88)),
        repeats=(Cue(*REPEAT),),
        signals=("exclamation",),
        techniques=WEIGHED,
    )
    spans = [
        Span(*PASSAGE, "Loaded_Language", 0.81, evidence),
        Span(*PASSAGE, "Name_Calling,Labeling", 0.3, evidence),
        Span(*NESTED, "Exaggeration,Minimisation", 0.12, Evidence(words=(Cue(*NESTED, 0.9),))),
        Span(*CALM, "Slogans", 0.9, Evidence()),
        Span(*REPEAT, "Repetition", 0.2, Evidence(repeats=(Cue(*at("sold our harbour")),))),
    ]
    lines = [line.span() for line in re.finditer("[^\n]+", TEXT)]
    return Analysis.build(Article("text", TEXT, "Harbour vote"), spans, lines, "test").to_dict()


@pytest.fixture
def built(desktop):
    """The page showing ``built_analysis()``."""
    data = built_analysis()
    desktop.route("**/api/analyze", lambda route: route.fulfill(json=data))
    submit(desktop, TEXT, title="Harbour vote")
    return desktop


def set_slider(page, value: float) -> None:
    """As dragging it does, and whether or not it is on screen (it is hidden until the first result)."""
    page.eval_on_selector("#min-score", "(s, v) => { s.value = v; s.dispatchEvent(new Event('input')); }", value)


def marks(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#article mark",
        "ms => ms.map(m => ({text: m.textContent, techniques: m.dataset.techniques.split('|'),"
        " confidence: m.dataset.confidence, background: getComputedStyle(m).backgroundImage"
        " + getComputedStyle(m).backgroundColor,"
        " underline: getComputedStyle(m).textDecorationLine + ' ' + getComputedStyle(m).textDecorationStyle}))",
    )


def tooltip_for(page, text: str) -> str:
    page.locator("#article mark", has_text=text).first.focus()
    return page.locator("#tooltip").inner_text()


def test_each_technique_of_overlapping_spans_stays_visible_and_reachable(built):
    shown = {m["text"]: m["techniques"] for m in marks(built)}
    assert set(shown["shameful"]) == {"Loaded_Language", "Name_Calling,Labeling", "Exaggeration,Minimisation"}
    assert set(shown[" traitors sold our harbour"]) == {"Loaded_Language", "Name_Calling,Labeling"}
    detail = tooltip_for(built, "shameful")
    for name in ("Loaded language", "Name calling or labelling", "Exaggeration or minimisation"):
        assert name in detail
    assert "“shameful traitors sold our harbour”" in detail and "“shameful”" in detail  # the two passages apart

    # Several techniques at once: hiding two leaves the nested one marked, alone.
    built.uncheck("#legend input[data-technique='Loaded_Language']")
    built.uncheck("#legend input[data-technique='Name_Calling,Labeling']")
    assert [
        (m["text"], m["techniques"]) for m in marks(built) if "harbour" in m["text"] or m["text"] == "shameful"
    ] == [
        ("shameful", ["Exaggeration,Minimisation"]),
        ("sold our harbour", ["Repetition"]),
    ]
    assert built.locator("#legend input:checked").count() == 3
    built.click("#show-all")
    assert built.locator("#legend input:checked").count() == 5 and len(marks(built)) == 4


def test_tooltip_shows_the_evidence_score_and_band_and_links_to_repeats(built):
    detail = tooltip_for(built, " traitors sold our harbour")
    assert "Score 0.81 · likely" in detail and "Score 0.30 · possible" in detail
    assert "Uses words with strong emotional charge" in detail  # the definition, beside the evidence
    assert "“shameful”, “traitors”" in detail and "exclamation" in detail
    assert "Loaded language 80%, Name calling or labelling 15%" in detail
    assert "“sold our harbour” (paragraph 4)" in detail
    built.keyboard.press("Enter")  # pins the detail and moves into it
    built.keyboard.press("Tab")
    built.keyboard.press("Enter")  # the place where the passage recurs
    assert built.evaluate("getSelection().toString()") == "sold our harbour"
    assert built.evaluate("document.getSelection().anchorNode.parentElement.closest('#article') !== null")
    assert built.locator("#tooltip").is_hidden()


def test_sure_and_unsure_spans_look_different(built):
    bands = {m["text"]: m for m in marks(built)}
    likely, unsure = bands["Calm words follow here"], bands["sold our harbour"]
    assert (likely["confidence"], unsure["confidence"]) == ("likely", "unsure")  # the bands of the JSON
    assert "rgb(135, 255, 175)" in likely["background"]  # Slogans' catalogue colour, full strength
    assert "rgb(0, 255, 255)" not in unsure["background"]  # Repetition's, paler
    assert (likely["underline"], unsure["underline"]) == (
        "none solid",
        "underline dashed",
    )  # the mark of an unsure span


def test_slider_and_summary_agree(built):
    summary = built.locator("#summary")
    assert summary.inner_text().startswith("3 of 4 sentences (75%)") and "5 of 5 spans shown" in summary.inner_text()
    set_slider(built, 0.5)
    assert "2 of 5 spans shown" in summary.inner_text() and summary.inner_text().startswith("2 of 4 sentences")
    set_slider(built, 0.85)
    assert summary.inner_text().startswith("1 of 4 sentences (25%)") and "1 of 5 spans shown" in summary.inner_text()
    assert [m["text"] for m in marks(built)] == ["Calm words follow here"]
    built.uncheck("#legend input[data-technique='Slogans']")
    assert summary.inner_text().startswith("0 of 4 sentences (0%)") and "0 of 5 spans shown" in summary.inner_text()


def test_filters_come_before_the_spans_in_tab_order(built):
    assert built.evaluate("document.activeElement.id") == "result-title"  # focus moved to the result
    order = []
    for _ in range(12):
        built.keyboard.press("Tab")
        order.append(built.evaluate("(e => e.dataset.technique || e.id || e.tagName)(document.activeElement)"))
        if order[-1] == "MARK":
            break
    legend = built.eval_on_selector_all("#legend input", "bs => bs.map(b => b.dataset.technique)")
    assert order == ["min-score", *legend, "show-all", "MARK"]


def test_downloaded_rows_name_the_article(built):
    with built.expect_download() as download:
        built.click("#download-rows")
    assert download.value.suggested_filename == "harbour-vote.labels"
    rows = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert len(rows) == 5 and all(row.startswith("harbour-vote\t") for row in rows)
    built.fill("#article-id", "article 42")
    with built.expect_download() as download:
        built.click("#download-rows")
    assert Path(download.value.path()).read_text(encoding="utf-8").startswith("article-42\t")


def test_on_a_phone_the_result_comes_into_view_and_the_tooltip_stays_inside(desktop, sample_text):
    page = desktop
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, 0)")
    submit(page, sample_text)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("document.activeElement.id") == "result-title"
    top = page.evaluate("document.getElementById('result-title').getBoundingClientRect().top")
    assert 0 <= top < PHONE["height"] / 2
    for mark, block in ((page.locator("#article mark").last, "end"), (page.locator("#article mark").first, "start")):
        # at the bottom of the screen, then at the top
        mark.evaluate(f"m => {{ m.scrollIntoView({{block: '{block}'}}); m.focus({{preventScroll: true}}); }}")
        tip, box = page.locator("#tooltip").bounding_box(), mark.bounding_box()
        assert tip["x"] >= 0 and tip["x"] + tip["width"] <= PHONE["width"]
        assert tip["y"] >= 0 and tip["y"] + tip["height"] <= PHONE["height"]
        assert tip["y"] >= box["y"] + box["height"] or tip["y"] + tip["height"] <= box["y"]  # not over the passage
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "web-page-phone.png"))


def test_paste_highlight_filter_and_screenshot(desktop, sample_text):
    submit(desktop, sample_text)
    assert desktop.locator("#article mark").count() > 3
    assert desktop.locator("#article").inner_text().replace("\r", "") == sample_text.replace("\r", "")
    first = desktop.locator("#legend input").first
    chosen = first.get_attribute("data-technique")
    first.uncheck()
    shown = desktop.eval_on_selector_all("#article mark", "ms => ms.map(m => m.dataset.techniques)")
    assert shown and all(chosen not in techniques.split("|") for techniques in shown)
    desktop.click("#show-all")
    set_slider(desktop, 1)
    assert desktop.locator("#article mark").count() == 0
    set_slider(desktop, 0)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    desktop.screenshot(path=str(SCREENSHOTS / "web-page.png"), full_page=True)
    assert (SCREENSHOTS / "web-page.png").stat().st_size > 10_000


def test_a_fetched_article_shows_its_title_and_address_as_text(desktop, page_server):
    title = '<img src=x onerror="window.hacked=1"> Harbour vote'
    body = (
        "<p>The council approved the reckless and shameful bridge plan on Tuesday night after a long debate.</p>"
        "<p>Opponents said the decision betrayed every honest family in the town and vowed to fight it.</p>"
    )
    escaped = title.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    PAGES["/news/harbour-vote.html?a=1&b=2"] = (
        200,
        "text/html",
        f"<html><head><title>{escaped}</title></head><body><article><h1>{escaped}</h1>{body}</article></body></html>".encode(),
    )
    url = f"{page_server}/news/harbour-vote.html?a=1&b=2"
    submit(desktop, url=url)
    assert desktop.locator("#result-title").inner_text() == title
    link = desktop.locator("#source-link")
    assert link.inner_text() == link.get_attribute("href") == url
    assert desktop.locator("#result img").count() == 0 and desktop.evaluate("window.hacked === undefined")
    assert desktop.input_value("#article-id") == "harbour-vote"


def test_highlights_cover_their_text_after_emoji_and_flags(desktop, sample_text):
    emoji = "\U0001f600\U0001f44d\U0001f3fd\U0001f389\U0001f680\U0001f525\U0001f4f0\U0001f914"  # two UTF-16 units each
    flags = "\U0001f1fa\U0001f1f8\U0001f1ec\U0001f1e7"  # two flags, four code points
    text = f"{emoji} {flags}\n{sample_text}"
    submit(desktop, text)
    spans = desktop.evaluate("state.analysis.spans")
    assert spans and all(text[s["start"] : s["end"]] == s["text"] for s in spans)  # offsets count code points
    cuts = sorted({0, len(text)} | {s["start"] for s in spans} | {s["end"] for s in spans})
    pieces = zip(cuts, cuts[1:], strict=False)
    expected = [text[a:b] for a, b in pieces if any(s["start"] < b and a < s["end"] for s in spans)]
    assert desktop.eval_on_selector_all("#article mark", "ms => ms.map(m => m.textContent)") == expected
    assert desktop.locator("#article").inner_text().replace("\r", "") == text


def test_markup_in_an_article_shows_as_text(desktop):
    hostile = (
        "Breaking news\n\n<script>window.hacked = true</script> The <b>shameful</b>, reckless traitors "
        '<img src=x onerror="window.hacked=true">!\n'
    )
    submit(desktop, hostile, title="<b>Title</b>")
    assert desktop.evaluate("window.hacked === undefined")
    assert desktop.locator("#result script, #result img, #result b").count() == 0
    assert "<script>window.hacked = true</script>" in desktop.locator("#article").inner_text()
    assert desktop.locator("#result-title").inner_text() == "<b>Title</b>"


def test_an_error_clears_the_previous_result(desktop, sample_text):
    submit(desktop, sample_text)
    desktop.fill("#text", "   ")
    desktop.click("#analyze")
    desktop.locator("#status.error").wait_for(timeout=10_000)
    assert "empty" in desktop.locator("#status").inner_text()
    assert desktop.locator("#result").is_hidden() and desktop.locator("#article mark").count() == 0
