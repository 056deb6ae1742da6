"""Rendering an analysis in the terminal: highlighted article, legend and per-technique summary.

Article text is the user's, so it is never read as Rich markup, and its control characters are shown, not
sent: an escape sequence in an article could otherwise clear the screen, retitle the window, plant links or
write the clipboard.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from propscope.document import Analysis
from propscope.techniques import get_technique

# One visible character for each control character, so offsets into the text still hold: C0 controls as
# their Unicode control pictures, DEL and C1 controls as the replacement character; line feeds and tabs stay,
# and the other line and page breaks (carriage returns, as in CRLF text) become spaces.
_STAND_INS = (
    {code: 0x2400 + code for code in range(0x20) if code not in (0x09, 0x0A)}
    | dict.fromkeys((0x0B, 0x0C, 0x0D), 0x20)
    | {0x7F: 0x2421}
    | dict.fromkeys(range(0x80, 0xA0), 0xFFFD)
)


def terminal_safe(text: str) -> str:
    """``text`` with each control character replaced by a visible stand-in of the same length."""
    return text.translate(_STAND_INS)


def highlighted_text(analysis: Analysis) -> Text:
    """The article with each span on its technique's colour; where spans overlap, the surer one shows."""
    text = Text(terminal_safe(analysis.article.text))
    for span in sorted(analysis.spans, key=lambda s: s.score):
        text.stylize(f"black on {get_technique(span.technique).colour}", span.start, span.end)
    return text


def legend(analysis: Analysis) -> Table:
    table = Table(title="Techniques found", show_edge=False, expand=False)
    table.add_column("", width=2)
    table.add_column("Technique")
    table.add_column("Spans", justify="right")
    table.add_column("Mean score", justify="right")
    for name, count in analysis.summary.technique_counts.items():
        technique = get_technique(name)
        scores = [s.score for s in analysis.spans if s.technique == name]
        table.add_row(
            Text("  ", style=f"on {technique.colour}"),
            technique.display_name,
            str(count),
            f"{sum(scores) / len(scores):.2f}",
        )
    return table


def summary_line(analysis: Analysis) -> Text:
    summary = analysis.summary
    return Text.assemble(
        (f"{len(analysis.spans)} spans", "bold"),
        f" in {summary.flagged_sentences} of {summary.sentences} sentences ",
        (f"({summary.flagged_share:.0%} flagged)", "bold"),
        f" · model {terminal_safe(analysis.model)}" if analysis.model else "",
    )


def render_analysis(analysis: Analysis) -> Group:
    title = Text(terminal_safe(analysis.article.title or analysis.article.id))
    parts = [Panel(highlighted_text(analysis), title=title, title_align="left"), summary_line(analysis)]
    if analysis.spans:
        parts.append(legend(analysis))
    else:
        parts.append(Text("No propaganda technique found.", style="italic"))
    return Group(*parts)


def print_analyses(analyses: list[Analysis], console: Console) -> None:
    for analysis in analyses:
        console.print(render_analysis(analysis))
        console.print()
