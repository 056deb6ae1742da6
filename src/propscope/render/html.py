"""A standalone HTML page of one or more analyses: no scripts, no external resources.

Every piece of article text goes through ``html.escape``: an article that contains markup shows it as
text.
"""

from __future__ import annotations

from html import escape

from propscope.document import Analysis, Evidence, Span
from propscope.techniques import TECHNIQUES, get_technique

# Scoped under .propscope, so the same rules style the page and an analysis shown in a notebook.
_STYLE = """
.propscope article { white-space: pre-wrap; border: 1px solid #ddd; border-radius: 6px; padding: 1rem; }
.propscope mark { color: #111; border-radius: 3px; padding: 0 1px; }
.propscope mark.overlap { box-shadow: inset 0 -3px 0 #222; }
.propscope mark.unsure { text-decoration: underline dashed; text-underline-offset: 4px; }
.propscope .legend { display: flex; flex-wrap: wrap; gap: .5rem 1rem; margin: 1rem 0; padding: 0; list-style: none; }
.propscope .swatch { display: inline-block; width: 1em; height: 1em; border-radius: 3px; vertical-align: -2px; }
.propscope .bar { display: inline-block; height: .8em; border-radius: 2px; }
.propscope table { border-collapse: collapse; }
.propscope td, .propscope th { padding: .2rem .6rem; text-align: left; }
.propscope .summary { color: #444; }
"""
_PAGE_STYLE = (
    "body { font: 16px/1.6 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }"
)


def _segments(text: str, spans: list[Span]) -> list[tuple[int, int, list[Span]]]:
    """Cut the text at every span boundary, listing the spans that cover each piece."""
    cuts = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    return [(a, b, [s for s in spans if s.start < b and a < s.end]) for a, b in zip(cuts, cuts[1:], strict=False)]


def _paragraph(text: str, position: int) -> int:
    """Which paragraph (non-blank line) ``position`` is in, as the page numbers the places a passage recurs."""
    lines = text[:position].split("\n")
    return sum(1 for line in lines[:-1] if line.strip()) + 1


def _quoted(passage: str) -> str:
    return f"“{passage if len(passage) <= 90 else passage[:89] + '…'}”"


def _evidence_lines(evidence: Evidence, text: str) -> list[str]:
    """The page's evidence, in words: each kind only where the analysis found some."""
    kinds = [
        ("Key words", ", ".join(_quoted(text[c.start : c.end]) for c in evidence.words)),
        (
            "Also at",
            ", ".join(
                f"{_quoted(text[c.start : c.end])} (paragraph {_paragraph(text, c.start)})" for c in evidence.repeats
            ),
        ),
        ("Signals", ", ".join(evidence.signals)),
        (
            "Techniques weighed",
            ", ".join(f"{get_technique(name).display_name} {p:.0%}" for name, p in evidence.techniques),
        ),
    ]
    return [f"{kind}: {found}" for kind, found in kinds if found]


def _technique_line(span: Span) -> str:
    technique = get_technique(span.technique)
    return f"{technique.display_name} [{technique.tag}] ({span.score:.2f}, {span.confidence}): {technique.definition}"


def _tooltip(spans: list[Span], text: str) -> str:
    """Per passage (spans of one passage share its evidence): each technique with its score, band and
    definition, then the evidence; the passage quoted where a piece lies in several."""
    passages: dict[tuple[int, int], list[Span]] = {}
    for span in sorted(spans, key=lambda s: -s.score):
        passages.setdefault((span.start, span.end), []).append(span)
    blocks = []
    for first, *others in passages.values():
        quote = [_quoted(first.text_in(text))] if len(passages) > 1 else []
        evidence = _evidence_lines(first.evidence, text) if first.evidence else []
        blocks.append("\n".join([*quote, *map(_technique_line, (first, *others)), *evidence]))
    return "\n\n".join(blocks)


def article_html(analysis: Analysis) -> str:
    text = analysis.article.text
    pieces = []
    for start, end, covering in _segments(text, analysis.spans):
        chunk = escape(text[start:end])
        if not covering:
            pieces.append(chunk)
            continue
        top = max(covering, key=lambda s: s.score)
        classes = f"{top.confidence} overlap" if len(covering) > 1 else top.confidence
        pieces.append(
            f'<mark class="{classes}" style="background:{get_technique(top.technique).colour}" '
            f'title="{escape(_tooltip(covering, text))}">{chunk}</mark>'
        )
    return "".join(pieces)


def _summary_html(analysis: Analysis) -> str:
    summary = analysis.summary
    most = max(summary.technique_counts.values(), default=1)
    rows = "".join(
        f'<tr><td><span class=swatch style="background:{get_technique(name).colour}"></span> '
        f"{escape(get_technique(name).display_name)}</td><td>{count}</td>"
        f'<td><span class=bar style="width:{8 * count / most:.2f}rem;'
        f'background:{get_technique(name).colour}"></span></td></tr>'
        for name, count in summary.technique_counts.items()
    )
    table = f"<table><tr><th>Technique</th><th>Spans</th><th></th></tr>{rows}</table>" if rows else ""
    return (
        f'<p class="summary">{len(analysis.spans)} spans; {summary.flagged_sentences} of '
        f"{summary.sentences} sentences ({summary.flagged_share:.0%}) use at least one technique.</p>{table}"
    )


def _legend_html() -> str:
    items = "".join(
        f'<li><span class=swatch style="background:{t.colour}"></span> '
        f'<abbr title="{escape(t.definition)} Example: {escape(t.example)}">{escape(t.display_name)}</abbr></li>'
        for t in TECHNIQUES
    )
    return f'<ul class="legend">{items}</ul>'


def _section_html(analysis: Analysis) -> str:
    return (
        f"<section><h2>{escape(analysis.article.title or analysis.article.id)}</h2>{_summary_html(analysis)}"
        f"<article>{article_html(analysis)}</article></section>"
    )


def render_page(analyses: list[Analysis], title: str = "PropScope analysis") -> str:
    sections = "".join(_section_html(a) for a in analyses)
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_PAGE_STYLE}{_STYLE}</style></head>"
        f'<body class="propscope"><h1>{escape(title)}</h1>{_legend_html()}{sections}</body></html>\n'
    )


def render_fragment(analysis: Analysis) -> str:
    """One analysis as a self-contained block for a notebook cell: its own scoped style, no scripts or links."""
    return f'<div class="propscope"><style>{_STYLE}</style>{_legend_html()}{_section_html(analysis)}</div>'
