"""Comparing outlets (or days) from a batch output: a CSV table and an HTML page with charts.

The charts are SVG drawn here and embedded in the page, so the report opens without a network.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TextIO

from propscope.errors import InputError
from propscope.techniques import TECHNIQUES, get_technique

UNKNOWN = "(unknown)"
TOP_PHRASES = 8
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheet programs would run as a formula


@dataclass
class GroupStats:
    name: str
    articles: int = 0
    words: int = 0
    sentences: int = 0
    flagged_sentences: int = 0
    techniques: Counter = field(default_factory=Counter)
    phrases: Counter = field(default_factory=Counter)

    @property
    def spans(self) -> int:
        return sum(self.techniques.values())

    @property
    def spans_per_1000_words(self) -> float:
        return 1000 * self.spans / self.words if self.words else 0.0

    @property
    def flagged_share(self) -> float:
        return self.flagged_sentences / self.sentences if self.sentences else 0.0

    def add(self, row: dict) -> None:
        text = row["article"]["text"]
        self.articles += 1
        self.words += len(text.split())
        self.sentences += row["summary"]["sentences"]
        self.flagged_sentences += row["summary"]["flagged_sentences"]
        for span in row["spans"]:
            self.techniques[span["technique"]] += 1
            self.phrases[" ".join(span["text"].lower().split())] += 1


def group_key(row: dict, by: str) -> str:
    value = str(row.get(by) or "").strip()
    if by == "date":
        value = value[:10]  # one group a day, whatever the time of day
    return value or UNKNOWN


def collect(path: Path, by: str) -> list[GroupStats]:
    groups: dict[str, GroupStats] = {}
    try:
        handle = path.open("rb")
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)  # decodes UTF-8 itself: a bad byte is one more ValueError
                json.dumps(row, ensure_ascii=False).encode("utf-8")  # so is a lone surrogate ("\\ud800")
                key = group_key(row, by)
                groups.setdefault(key, GroupStats(key)).add(row)
            except (ValueError, KeyError, TypeError, AttributeError) as err:  # any JSON, of any shape
                raise InputError(f"{path}:{number}: not a PropScope analysis line ({err})") from None
    if not groups:
        raise InputError(f"{path}: no analyses to report on")
    return sorted(groups.values(), key=lambda g: g.name)


def write_csv(groups: list[GroupStats], out: TextIO) -> None:
    writer = csv.writer(out)
    names = [t.name for t in TECHNIQUES]
    writer.writerow(
        ["group", "articles", "words", "spans", "spans_per_1000_words", "flagged_sentence_share", *names, "top_phrases"]
    )
    for g in groups:
        phrases = "; ".join(f"{p} ({n})" for p, n in g.phrases.most_common(TOP_PHRASES))
        writer.writerow(
            [
                _inert(g.name),
                g.articles,
                g.words,
                g.spans,
                f"{g.spans_per_1000_words:.2f}",
                f"{g.flagged_share:.4f}",
                *(g.techniques[n] for n in names),
                _inert(phrases),
            ]
        )


def _inert(cell: str) -> str:
    """A text cell a spreadsheet shows as text: one that would start a formula gets a leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _bar_chart(groups: list[GroupStats]) -> str:
    """Spans per 1,000 words, one bar per group."""
    width, row, label = 640, 26, 180
    top = max((g.spans_per_1000_words for g in groups), default=1.0) or 1.0
    bars = []
    for i, g in enumerate(groups):
        length = (width - label - 60) * g.spans_per_1000_words / top
        y = i * row
        bars.append(
            f'<text x="{label - 6}" y="{y + 17}" text-anchor="end">{escape(g.name[:28])}</text>'
            f'<rect x="{label}" y="{y + 5}" width="{length:.1f}" height="16" fill="#4e79a7"/>'
            f'<text x="{label + length + 6:.1f}" y="{y + 17}">{g.spans_per_1000_words:.1f}</text>'
        )
    return (
        f'<svg role="img" aria-label="Spans per 1,000 words" viewBox="0 0 {width} {row * len(groups) + 6}" '
        f'width="{width}" font-size="12" font-family="sans-serif">{"".join(bars)}</svg>'
    )


def _mix_chart(groups: list[GroupStats]) -> str:
    """Each group's spans split by technique, as one stacked 100% bar."""
    width, row, label = 640, 26, 180
    bars = []
    for i, g in enumerate(groups):
        x, y = float(label), i * row
        bars.append(f'<text x="{label - 6}" y="{y + 17}" text-anchor="end">{escape(g.name[:28])}</text>')
        for name, count in g.techniques.most_common():
            length = (width - label - 10) * count / (g.spans or 1)
            technique = get_technique(name)
            bars.append(
                f'<rect x="{x:.1f}" y="{y + 5}" width="{length:.1f}" height="16" fill="{technique.colour}">'
                f"<title>{escape(technique.display_name)}: {count}</title></rect>"
            )
            x += length
    return (
        f'<svg role="img" aria-label="Techniques by group" viewBox="0 0 {width} {row * len(groups) + 6}" '
        f'width="{width}" font-size="12" font-family="sans-serif">{"".join(bars)}</svg>'
    )


def render_html(groups: list[GroupStats], by: str) -> str:
    legend = "".join(
        f'<li><span style="background:{t.colour}"></span>{escape(t.display_name)}</li>' for t in TECHNIQUES
    )
    rows = "".join(
        f"<tr><td>{escape(g.name)}</td><td>{g.articles}</td><td>{g.words}</td><td>{g.spans}</td>"
        f"<td>{g.spans_per_1000_words:.1f}</td><td>{g.flagged_share:.0%}</td>"
        f"<td>{escape(', '.join(get_technique(n).display_name for n, _ in g.techniques.most_common(3)))}</td>"
        f"<td>{escape('; '.join(f'{p} ({n})' for p, n in g.phrases.most_common(TOP_PHRASES)))}</td></tr>"
        for g in groups
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>PropScope report by {escape(by)}</title><style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #ddd; padding: .3rem .5rem;
text-align: left; vertical-align: top; }} svg {{ max-width: 100%; height: auto; }}
ul {{ display: flex; flex-wrap: wrap; gap: .3rem 1rem; list-style: none; padding: 0; }}
li span {{ display: inline-block; width: .9em; height: .9em; margin-right: .3em; border-radius: 2px; }}
</style></head><body>
<h1>PropScope report by {escape(by)}</h1>
<p>{sum(g.articles for g in groups)} articles in {len(groups)} groups.</p>
<h2>Spans per 1,000 words</h2>{_bar_chart(groups)}
<h2>Techniques used</h2><ul>{legend}</ul>{_mix_chart(groups)}
<h2>Table</h2><table><tr><th>{escape(by)}</th><th>articles</th><th>words</th><th>spans</th>
<th>spans / 1,000 words</th><th>sentences flagged</th><th>main techniques</th><th>frequent flagged phrases</th></tr>
{rows}</table></body></html>
"""
