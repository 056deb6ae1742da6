"""Rendering an analysis in the terminal: the article with numbered spans, each span explained, a legend.

The output must read the same with 256 colours, 16 or none (piped, written to a file, ``NO_COLOR``): each
span is followed in the text by a marker, ``[3·LL]``, with its number in the listing below the article and
its technique's two-letter tag, which tells techniques apart where colours cannot; how sure a span is shows
in its look and, in words, in the listing.

Article text is the user's, so it is never read as Rich markup, and its control characters are shown, not
sent: an escape sequence in an article could otherwise clear the screen, retitle the window, plant links or
write the clipboard.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from propscope.document import CONFIDENCE_BANDS, Analysis, Cue, Evidence, Span
from propscope.techniques import get_technique

# One visible character for each control character, so offsets into the text still hold: C0 controls as
# their Unicode control pictures, DEL, C1 controls and the bidirectional embeddings, overrides and isolates
# (which reorder what a terminal shows after them) as the replacement character; line feeds and tabs stay,
# and the other line and page breaks (carriage returns, as in CRLF text) become spaces.
_STAND_INS = (
    {code: 0x2400 + code for code in range(0x20) if code not in (0x09, 0x0A)}
    | dict.fromkeys((0x0B, 0x0C, 0x0D), 0x20)
    | {0x7F: 0x2421}
    | dict.fromkeys([*range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A)], 0xFFFD)
)

# A span's look follows its confidence band (document.CONFIDENCE_BANDS): solid in its technique's colour where
# likely (bold) or possible, only underlined in it where unsure, so a 0.12 span never looks like a 0.81 one.
BAND_STYLES = {"likely": "bold black on {}", "possible": "black on {}", "unsure": "underline {}"}


def terminal_safe(text: str) -> str:
    """``text`` with each control character replaced by a visible stand-in of the same length."""
    return text.translate(_STAND_INS)


def span_style(span: Span) -> str:
    return BAND_STYLES[span.confidence].format(get_technique(span.technique).colour)


def marker(number: int, span: Span) -> Text:
    """``[3·LL]``: the span's number in the listing and its technique's tag, in the span's style."""
    return Text(f"[{number}·{get_technique(span.technique).tag}]", style=span_style(span))


def highlighted_text(analysis: Analysis) -> Text:
    """The article with each span styled and its marker right after it; where spans overlap, the surer one's
    colour shows and every one keeps its marker."""
    text = Text(terminal_safe(analysis.article.text))
    for span in sorted(analysis.spans, key=lambda s: s.score):
        text.stylize(span_style(span), span.start, span.end)
    markers: dict[int, list[Text]] = defaultdict(list)
    for number, span in enumerate(analysis.spans, start=1):
        markers[span.end].append(marker(number, span))
    marked, position = Text(), 0
    for piece in text.divide(sorted(markers)):
        position += len(piece)
        marked.append_text(piece)
        marked.append_text(Text().join(markers.pop(position, [])))
    return marked


def _quoted(text: str) -> str:
    """A passage on one line, between quotation marks."""
    return f"“{' '.join(terminal_safe(text).split())}”"


def _recurrence(text: str, repeats: tuple[Cue, ...]) -> str:
    """The recurring words and the lines of the article they recur on: ``"our say" (lines 3, 9)``."""
    if not repeats:
        return ""
    lines = sorted({text.count("\n", 0, cue.start) + 1 for cue in repeats})
    where = f"line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))}"
    return f"{_quoted(text[repeats[0].start : repeats[0].end])} ({where})"


def evidence_lines(evidence: Evidence, technique: str, text: str) -> list[Text]:
    """Why the span was marked, a line per kind of evidence the model left: what is missing says nothing."""
    found = {
        "key words": ", ".join(f"{_quoted(text[c.start : c.end])} {c.weight:.2f}" for c in evidence.words),
        "recurs": _recurrence(text, evidence.repeats),
        "signals": ", ".join(evidence.signals),
        "also weighed": ", ".join(
            f"{get_technique(name).display_name} {p:.2f}" for name, p in evidence.techniques if name != technique
        ),
    }
    return [Text.assemble((f"{label}: ", "dim"), value) for label, value in found.items() if value]


def span_entry(span: Span, text: str) -> Group:
    """A span's entry in the listing: what colour and look say in the text, in words, and why."""
    technique = get_technique(span.technique)
    heading = Text.assemble((technique.display_name, "bold"), f"  {span.score:.2f} {span.confidence}")
    evidence = evidence_lines(span.evidence, span.technique, text) if span.evidence else []
    return Group(heading, Text(_quoted(span.text_in(text)), style="italic"), *evidence)


def span_listing(analysis: Analysis) -> Table:
    """Every span, numbered as in the text: its technique, score and band, the passage and the evidence."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column()
    for number, span in enumerate(analysis.spans, start=1):
        table.add_row(marker(number, span), span_entry(span, analysis.article.text))
    return table


def bands_key() -> Text:
    floors = ", ".join(f"{name} ≥ {floor:.2f}" for floor, name in CONFIDENCE_BANDS if floor > 0)
    return Text(f"Scores are the chance a span is right: {floors}, {CONFIDENCE_BANDS[-1][1]} below.", "dim")


def legend(analysis: Analysis) -> Table:
    table = Table(title="Techniques found", show_edge=False, expand=False)
    table.add_column("Tag")
    table.add_column("Technique")
    table.add_column("Spans", justify="right")
    table.add_column("Mean score", justify="right")
    for name, count in analysis.summary.technique_counts.items():
        technique = get_technique(name)
        scores = [s.score for s in analysis.spans if s.technique == name]
        table.add_row(
            Text(f" {technique.tag} ", style=f"black on {technique.colour}"),
            technique.display_name,
            str(count),
            f"{sum(scores) / len(scores):.2f}",
        )
    return table


def summary_line(analysis: Analysis) -> Text:
    summary = analysis.summary
    bands = Counter(span.confidence for span in analysis.spans)
    by_band = ", ".join(f"{bands[name]} {name}" for _, name in CONFIDENCE_BANDS if bands[name])
    return Text.assemble(
        (f"{len(analysis.spans)} spans", "bold"),
        f" ({by_band})" if by_band else "",
        f" in {summary.flagged_sentences} of {summary.sentences} sentences ",
        (f"({summary.flagged_share:.0%} flagged)", "bold"),
        f" · model {terminal_safe(analysis.model)}" if analysis.model else "",
    )


def render_analysis(analysis: Analysis) -> Group:
    title = Text(terminal_safe(analysis.article.title or analysis.article.id))
    parts = [Panel(highlighted_text(analysis), title=title, title_align="left"), summary_line(analysis)]
    if analysis.spans:
        parts += [bands_key(), span_listing(analysis), legend(analysis)]
    else:
        parts.append(Text("No propaganda technique found.", style="italic"))
    return Group(*parts)


def print_analyses(analyses: list[Analysis], console: Console) -> None:
    for analysis in analyses:
        console.print(render_analysis(analysis))
        console.print()
