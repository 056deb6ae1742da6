import re
from html import unescape
from html.parser import HTMLParser

from propscope.document import Analysis, Article, Cue, Evidence, Span
from propscope.render.html import render_page
from propscope.techniques import get_technique


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.marked = [], []
        self._in_mark = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_mark += tag == "mark"

    def handle_endtag(self, tag):
        self._in_mark -= tag == "mark"

    def handle_data(self, data):
        if self._in_mark:
            self.marked.append(data)


def page_for(text, spans):
    return render_page([Analysis.build(Article("1", text, "<b>Title</b>"), spans, [(0, len(text))])])


def test_user_text_is_escaped():
    text = 'Hello <script>alert("x")</script> and <b>bold</b> & more'
    page = page_for(text, [Span(6, 14, "Loaded_Language", 0.8)])
    parser = _Collector()
    parser.feed(page)
    assert "script" not in parser.tags and "b" not in parser.tags
    assert "&lt;script&gt;" in page
    assert parser.marked == ["<script>"]


def test_overlapping_spans_both_stay_visible():
    text = "a truly shameful and reckless plan"
    page = page_for(text, [Span(2, 21, "Loaded_Language", 0.9), Span(8, 29, "Exaggeration,Minimisation", 0.4)])
    parser = _Collector()
    parser.feed(page)
    assert "".join(parser.marked) == text[2:29]
    assert 'class="likely overlap"' in page
    assert (
        "Exaggeration or minimisation [EM] (0.40, possible)" in page and "Loaded language [LL] (0.90, likely)" in page
    )


def test_an_analysis_renders_itself_in_a_notebook():
    text = 'Vote now <img src=x onerror="alert(1)"> or regret it'
    analysis = Analysis.build(Article("1", text), [Span(0, 8, "Slogans", 0.7)], [(0, len(text))])
    fragment = analysis._repr_html_()
    parser = _Collector()
    parser.feed(fragment)
    assert parser.tags[0] == "div" and "html" not in parser.tags and "script" not in parser.tags
    assert "img" not in parser.tags and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in fragment
    assert parser.marked == ["Vote now"]
    assert 'title="Slogans [SL] (0.70, likely): ' in fragment  # the page's tooltip
    assert fragment.count("<li>") == 14  # the legend names every technique
    assert "http://" not in fragment and "https://" not in fragment and "<link" not in fragment


def test_tooltips_show_the_evidence_and_the_band_escaped():
    text = 'Title\n\nThe <b>"traitors"</b> sold it! Again the <b>"traitors"</b> came.\n'
    phrase = '<b>"traitors"</b>'
    first, second = text.index(phrase), text.rindex(phrase)
    evidence = Evidence(
        words=(Cue(first + 4, first + 12, 0.9),),
        repeats=(Cue(second, second + len(phrase)),),
        signals=("in quotes", "exclamation"),
        techniques=(("Name_Calling,Labeling", 0.7), ("Loaded_Language", 0.2)),
    )
    spans = [
        Span(first, first + len(phrase), "Name_Calling,Labeling", 0.12, evidence),
        Span(second, second + len(phrase), "Repetition", 0.6),
    ]
    page = page_for(text, spans)
    titles = [unescape(t) for t in re.findall(r'<mark[^>]* title="([^"]*)"', page)]
    assert titles[0].splitlines() == [
        "Name calling or labelling [NC] (0.12, unsure): " + get_technique("Name_Calling,Labeling").definition,
        "Key words: “traitors”",
        'Also at: “<b>"traitors"</b>” (paragraph 2)',
        "Signals: in quotes, exclamation",
        "Techniques weighed: Name calling or labelling 70%, Loaded language 20%",
    ]
    assert titles[1].startswith("Repetition [RE] (0.60, likely): ")
    assert '<mark class="unsure"' in page and '<mark class="likely"' in page
    parser = _Collector()
    parser.feed(page)
    assert "b" not in parser.tags
