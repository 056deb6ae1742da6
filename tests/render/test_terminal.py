import io
import re
import unicodedata

import pytest
from rich.console import Console
from rich.style import Style

from propscope.document import CONFIDENCE_BANDS, Analysis, Article, Cue, Evidence, Span
from propscope.render.terminal import print_analyses, terminal_safe

TEXT = "Title\n\nThe shameful, reckless plan [bold]betrays\x1b[2J us. Calm words.\nA shameful plan again.\n"
SGR = re.compile(r"\x1b\[([0-9;]*)m")


@pytest.fixture(autouse=True)
def fresh_styles():
    """Rich keeps a parsed style's escape codes on it, for the colour system that first drew it: each test draws
    with styles of its own."""
    Style.parse.cache_clear()
    Style._add.cache_clear()


def offsets(passage: str, occurrence: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence + 1):
        start = TEXT.index(passage, start + 1)
    return start, start + len(passage)


def analysis() -> Analysis:
    plan = offsets("shameful, reckless plan")
    betrays = offsets("[bold]betrays\x1b[2J us")
    evidence = Evidence(
        words=(Cue(*offsets("shameful"), 0.91), Cue(*offsets("reckless"), 0.62)),
        repeats=(Cue(*offsets("shameful", 1)),),
        signals=("exclamation",),
        techniques=(("Loaded_Language", 0.7), ("Name_Calling,Labeling", 0.2), ("Doubt", 0.05)),
    )
    spans = [
        Span(*plan, "Loaded_Language", 0.81, evidence),
        Span(*plan, "Name_Calling,Labeling", 0.12, evidence),  # the same passage: both listed and marked
        Span(*offsets("reckless"), "Doubt", 0.4),  # within it
        Span(*betrays, "Exaggeration,Minimisation", 0.3, Evidence(words=(Cue(*betrays, 0.5),))),
    ]
    return Analysis.build(Article("1", TEXT, "Title"), spans, [(0, len(TEXT))], model="default")


def render(color_system: str | None, **settings) -> str:
    out = io.StringIO()
    console = Console(file=out, color_system=color_system, force_terminal=True, width=200, **settings)
    print_analyses([analysis()], console)
    return out.getvalue()


def plain(output: str) -> str:
    return SGR.sub("", output)


def test_without_colour_every_span_is_numbered_in_the_text_and_explained_below():
    shown = render(None)
    assert not SGR.search(shown)
    assert "The shameful, reckless[3·DO] plan[1·LL][2·NC] [bold]betrays␛[2J us[4·EM]. Calm words." in shown
    listing = shown[shown.index("Scores are") :]
    for marker, heading in [
        ("[1·LL]", "Loaded language  0.81 likely"),
        ("[2·NC]", "Name calling or labelling  0.12 unsure"),
        ("[3·DO]", "Doubt  0.40 possible"),
        ("[4·EM]", "Exaggeration or minimisation  0.30 possible"),
    ]:
        assert re.search(re.escape(marker) + r"\s+" + re.escape(heading), listing)
    assert listing.count("“shameful, reckless plan”") == 2
    assert "“[bold]betrays␛[2J us”" in listing  # the passage as written, never markup, never a control sequence
    assert "key words: “shameful” 0.91, “reckless” 0.62" in listing
    assert "recurs: “shameful” (line 4)" in listing
    assert "signals: exclamation" in listing
    assert "also weighed: Name calling or labelling 0.20, Doubt 0.05" in listing  # the first span's own left out
    assert "also weighed: Loaded language 0.70, Doubt 0.05" in listing


def style_before(shown: str, marker: str) -> set[str]:
    """The SGR parameters in force where ``marker`` is printed."""
    codes = SGR.findall(shown[: shown.index(marker)])[-1]
    return set(codes.split(";"))


@pytest.mark.parametrize("color_system", ["256", "standard", None])
def test_techniques_stay_apart_by_tag_whatever_the_colours(color_system: str | None):
    shown = render(color_system)
    assert all(plain(shown).count(marker) == 2 for marker in ("[1·LL]", "[2·NC]", "[3·DO]", "[4·EM]"))
    if color_system is not None:  # loaded language and exaggeration: apart in 256 colours, alike in 16
        loaded, exaggeration = (style_before(shown, m) - {"1"} for m in ("[1·LL]", "[4·EM]"))
        assert (loaded == exaggeration) is (color_system == "standard")


@pytest.mark.parametrize(
    ("color_system", "settings"), [("256", {}), ("standard", {}), ("truecolor", {"no_color": True})]
)
def test_sure_and_unsure_spans_look_different(color_system: str, settings: dict):
    shown = render(color_system, **settings)
    likely, unsure, possible = (style_before(shown, m) for m in ("[1·LL]", "[2·NC]", "[4·EM]"))
    assert "1" in likely and "4" not in likely  # bold
    assert "4" in unsure and "1" not in unsure  # underlined
    assert "1" not in possible and "4" not in possible


def test_every_band_has_a_look():
    from propscope.render.terminal import BAND_STYLES

    assert set(BAND_STYLES) == {name for _, name in CONFIDENCE_BANDS}


@pytest.mark.parametrize("code", [0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069])
def test_bidirectional_overrides_cannot_reorder_the_terminal(code):
    text = f"pay {chr(code)}nothing‬ now"
    shown = terminal_safe(text)
    assert len(shown) == len(text)  # offsets still hold
    reordering = {"LRE", "RLE", "PDF", "LRO", "RLO", "LRI", "RLI", "FSI", "PDI"}
    assert not {unicodedata.bidirectional(c) for c in shown} & reordering
    assert shown.replace("�", "") == "pay nothing now"
