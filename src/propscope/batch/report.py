"""Comparing outlets and periods from batch output with DuckDB (the report extra): a CSV table and an HTML page.

JSON lines and Parquet parts are read by DuckDB under a memory limit, spilling to a temporary folder
past it, and only aggregates come back to Python: memory stays bounded whatever the number of
analyses. Words are counted as Python's ``str.split`` does, from the analysis' summary (or its text, in
outputs written before summaries held them). The charts are SVG drawn here and embedded in the
page, so the report opens without a network.
"""

from __future__ import annotations

import csv
import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

from propscope.errors import InputError
from propscope.techniques import TECHNIQUES, get_technique

UNKNOWN = "(unknown)"
TOP_PHRASES = 8
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheet programs would run as a formula
TOP_ARTICLES = 5  # articles listed per group, those with the most spans
TOP_SPANS = 3  # spans shown per listed article, the surest
STRIP_ARTICLES = 60  # a group of at most this many articles shows each as a dot beside its box
MEMORY_LIMIT = "600MB"
PERIOD_FORMATS = {"week": "%Y-%m-%d", "month": "%Y-%m"}  # a week is named by its Monday
JSON_COLUMNS = {
    "id": "VARCHAR",
    "source": "VARCHAR",
    "url": "VARCHAR",
    "date": "VARCHAR",
    "article": "STRUCT(title VARCHAR, text VARCHAR)",
    "spans": "STRUCT(start INTEGER, technique VARCHAR, score DOUBLE, text VARCHAR)[]",
    "summary": "STRUCT(sentences INTEGER, flagged_sentences INTEGER, words INTEGER)",
}
# What str.split() takes for white space, in RE2's terms: Unicode separators and these controls.
WHITESPACE = r"\pZ\t\n\x{0b}\x{0c}\r\x{1c}-\x{1f}\x{85}"
WORD = r"[\pL\pN]"  # a letter or a digit, in RE2's terms
# A flagged phrase as its words in lower case, apostrophes made straight: quotes, other punctuation and spacing
# around them do not make `red flag`, `Red flag”` and `“red flag` three phrases.
PHRASE = (
    "array_to_string(regexp_extract_all(regexp_replace(lower(s.text), '[’‘ʼ]', '''', 'g'), "
    f"'{WORD}+(?:''{WORD}+)*'), ' ')"
)


@dataclass(frozen=True)
class ArticleLink:
    id: str
    title: str
    url: str
    spans: list[tuple[str, str, float]]  # technique, text, score: the surest first
    count: int = 0  # all its spans
    words: int = 0

    @property
    def spans_per_1000_words(self) -> float:
        return 1000 * self.count / self.words if self.words else 0.0


@dataclass
class GroupStats:
    name: str
    period: str = ""  # empty unless the report is per outlet and period
    articles: int = 0
    words: int = 0
    sentences: int = 0
    flagged_sentences: int = 0
    techniques: Counter = field(default_factory=Counter)
    phrases: Counter = field(default_factory=Counter)  # phrases flagged in two places or more, and in how many
    top_articles: list[ArticleLink] = field(default_factory=list)
    # Per article, spans per 1,000 words: least, lower quartile, median, upper quartile, most (articles with words).
    spread: tuple[float, ...] = ()
    rates: list[float] = field(default_factory=list)  # each article's, in groups of at most STRIP_ARTICLES

    @property
    def label(self) -> str:
        return f"{self.name} · {self.period}" if self.period else self.name

    @property
    def spans(self) -> int:
        return sum(self.techniques.values())

    @property
    def spans_per_1000_words(self) -> float:
        return 1000 * self.spans / self.words if self.words else 0.0

    @property
    def flagged_share(self) -> float:
        return self.flagged_sentences / self.sentences if self.sentences else 0.0

    def ranked_techniques(self) -> list[tuple[str, int]]:
        """Techniques by count, ties in name order: the same ranking however the spans were grouped or read."""
        return _ranked(self.techniques)

    def ranked_phrases(self, limit: int) -> list[tuple[str, int]]:
        return _ranked(self.phrases)[:limit]

    def technique_per_1000_words(self, technique: str) -> float:
        return 1000 * self.techniques[technique] / self.words if self.words else 0.0


def _duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise InputError("propscope report needs the report extra: pip install 'propscope[report]'") from None
    return duckdb


def _scan(path: Path) -> tuple[str, list[Any]]:
    """The table function reading ``path``, and its parameters."""
    try:
        if path.is_dir():
            if not any(path.glob("*.parquet")):
                raise InputError(f"{path}: no .parquet files in this folder")
            return "read_parquet(?)", [str(path / "*.parquet")]
        if not path.is_file():
            raise InputError(f"{path}: no such file or folder")
        path.open("rb").close()  # the system's reason (permissions, a name too long), not DuckDB's
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    if path.suffix.lower() == ".parquet":
        return "read_parquet(?)", [str(path)]
    return "read_json(?, format='newline_delimited', columns=?)", [str(path), JSON_COLUMNS]


def _period_sql(every: str | None) -> str:
    day = "nullif(left(trim(date), 10), '')"
    if every is None:
        return day
    if every not in PERIOD_FORMATS:
        raise InputError(f"periods are {', '.join(PERIOD_FORMATS)}, not {every!r}")
    return f"strftime(date_trunc('{every}', try_cast({day} AS DATE)), '{PERIOD_FORMATS[every]}')"


def _first_bad_line(path: Path) -> str | None:
    """Where a JSON-lines file stops holding analyses, for the error message (DuckDB's own line numbers can be off)."""
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.strip():
                    continue
                try:
                    row = json.loads(raw)  # decodes UTF-8 itself: a bad byte is one more ValueError
                    json.dumps(row, ensure_ascii=False).encode("utf-8")  # so is a lone surrogate ("\\ud800")
                    if not isinstance(row["article"]["text"], str) or not isinstance(row["spans"], list):
                        raise TypeError("article.text must be a string and spans a list")
                    int(row["summary"]["sentences"]), int(row["summary"]["flagged_sentences"])
                except (ValueError, KeyError, TypeError, AttributeError) as err:  # any JSON, of any shape
                    return f"{path}:{number}: not a PropScope analysis line ({err})"
    except OSError as err:
        return f"{path}: cannot read ({err.strerror})"
    return None


def _load(con: Any, path: Path, by: str, every: str | None, min_score: float) -> None:
    """One read of the input into a table of what the report needs (no article text)."""
    source = "coalesce(nullif(trim(source), ''), '(unknown)')"
    period = f"coalesce({_period_sql(every)}, '(unknown)')"
    group, period = (source, period if every else "''") if by == "source" else (period, "''")
    scan, parameters = _scan(path)
    query = f"""
        CREATE TEMP TABLE base AS
        SELECT {group} AS grp, {period} AS period, id, article.title AS title, url,
               coalesce(summary.words, len(regexp_extract_all(article.text, '[^{WHITESPACE}]+'))) AS words,
               summary.sentences AS sentences, summary.flagged_sentences AS flagged,
               list_filter(spans, lambda s: coalesce(s.score, 0) >= ?) AS spans
        FROM {scan}
    """
    duckdb = _duckdb()
    try:
        con.execute(query, [min_score, *parameters])
    except duckdb.Error as err:
        reason = f"{path}: cannot be read as PropScope analyses ({str(err).splitlines()[0]})"
        raise InputError(_json_lines_problem(path) or reason) from None
    (incomplete,) = con.execute(
        "SELECT count(*) FROM base WHERE words IS NULL OR sentences IS NULL OR flagged IS NULL OR spans IS NULL"
    ).fetchone()
    if incomplete:
        raise InputError(_json_lines_problem(path) or f"{path}: {incomplete} rows lack analyses")


def _json_lines_problem(path: Path) -> str | None:
    return _first_bad_line(path) if path.is_file() and path.suffix.lower() != ".parquet" else None


def collect(path: Path, by: str, every: str | None = None, *, min_score: float = 0.0) -> list[GroupStats]:
    """Per group (``by`` source or date, and per ``every`` week or month): counts, techniques, phrases, articles."""
    duckdb = _duckdb()
    with tempfile.TemporaryDirectory(prefix="propscope-report-") as spill:
        config = {"memory_limit": MEMORY_LIMIT, "temp_directory": spill, "preserve_insertion_order": False}
        with duckdb.connect(config=config) as con:
            _load(con, path, by, every, min_score)
            groups = _aggregate(con)
    if not groups:
        raise InputError(f"{path}: no analyses to report on")
    return sorted(groups.values(), key=lambda g: (g.name, g.period))


def _aggregate(con: Any) -> dict[tuple[str, str], GroupStats]:
    groups = {
        (name, period): GroupStats(name, period, articles, int(words), int(sentences), int(flagged))
        for name, period, articles, words, sentences, flagged in con.execute(
            "SELECT grp, period, count(*), sum(words), sum(sentences), sum(flagged) FROM base GROUP BY ALL"
        ).fetchall()
    }
    spans = "(SELECT grp, period, rowid AS article, unnest(spans) AS s FROM base)"
    for name, period, technique, count in con.execute(
        f"SELECT grp, period, s.technique, count(*) FROM {spans} GROUP BY ALL"
    ).fetchall():
        groups[(name, period)].techniques[technique] = count
    # A place counts once however many techniques it has; a phrase found in one place only is no pattern.
    for name, period, phrase, count in con.execute(
        f"""SELECT grp, period, phrase, n FROM (
                SELECT grp, period, {PHRASE} AS phrase, count(DISTINCT (article, s.start)) AS n
                FROM {spans} WHERE regexp_matches(s.text, '{WORD}') GROUP BY ALL HAVING n >= 2)
            QUALIFY row_number() OVER (PARTITION BY grp, period ORDER BY n DESC, phrase) <= {TOP_PHRASES}"""
    ).fetchall():
        groups[(name, period)].phrases[phrase] = count
    rated = "(SELECT grp, period, 1000 * len(spans) / words AS rate FROM base WHERE words > 0)"
    for name, period, spread in con.execute(
        f"SELECT grp, period, quantile_cont(rate, [0, 0.25, 0.5, 0.75, 1]) FROM {rated} GROUP BY ALL"
    ).fetchall():
        groups[(name, period)].spread = tuple(spread)
    for name, period, rates in con.execute(
        f"""SELECT grp, period, list(rate ORDER BY rate) FROM (
                SELECT * FROM {rated} QUALIFY count(*) OVER (PARTITION BY grp, period) <= {STRIP_ARTICLES})
            GROUP BY ALL"""
    ).fetchall():
        groups[(name, period)].rates = rates
    for name, period, top in con.execute(
        f"""SELECT grp, period, max_by({{'id': id, 'title': title, 'url': url, 'spans': spans, 'words': words}},
                                       len(spans), {TOP_ARTICLES})
            FROM base GROUP BY ALL"""
    ).fetchall():
        groups[(name, period)].top_articles = [_article_link(row) for row in top]
    return groups


def _article_link(row: dict) -> ArticleLink:
    surest = sorted(row["spans"], key=lambda s: -(s["score"] or 0.0))[:TOP_SPANS]
    return ArticleLink(
        str(row["id"] or ""),
        row["title"] or "",
        row["url"] or "",
        [(s["technique"], s["text"] or "", float(s["score"] or 0.0)) for s in surest],
        len(row["spans"]),
        int(row["words"]),
    )


def _ranked(counts: Counter) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _phrases(group: GroupStats) -> str:
    return "; ".join(f"{p} ({n})" for p, n in group.ranked_phrases(TOP_PHRASES))


def write_csv(groups: list[GroupStats], out: TextIO) -> None:
    writer = csv.writer(out)
    names = [t.name for t in TECHNIQUES]
    periods = any(g.period for g in groups)
    writer.writerow(
        [
            "group",
            *(["period"] if periods else []),
            "articles",
            "words",
            "spans",
            "spans_per_1000_words",
            "flagged_sentence_share",
            *names,
            "top_phrases",
        ]
    )
    for g in groups:
        writer.writerow(
            [
                _inert(g.name),
                *([_inert(g.period)] if periods else []),
                g.articles,
                g.words,
                g.spans,
                f"{g.spans_per_1000_words:.2f}",
                f"{g.flagged_share:.4f}",
                *(g.techniques[n] for n in names),
                _inert(_phrases(g)),
            ]
        )


def _inert(cell: str) -> str:
    """A text cell a spreadsheet shows as text: one that would start a formula gets a leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def _by_outlet(groups: list[GroupStats]) -> list[GroupStats]:
    """Per-period groups added up per outlet (phrases, articles and spreads are per period only)."""
    outlets: dict[str, GroupStats] = {}
    for g in groups:
        total = outlets.setdefault(g.name, GroupStats(g.name))
        total.articles += g.articles
        total.words += g.words
        total.sentences += g.sentences
        total.flagged_sentences += g.flagged_sentences
        total.techniques.update(g.techniques)
    return list(outlets.values())


def _svg(label: str, width: int, height: int, body: str) -> str:
    return (
        f'<svg role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" width="{width}" '
        f'font-size="12" font-family="sans-serif">{body}</svg>'
    )


def _chart_label(group: GroupStats, size: int = 28) -> str:
    """A group's label cut to fit a chart's margin, the period kept whole."""
    if len(group.label) <= size:
        return group.label
    period = group.label[len(group.name) :]
    return f"{group.name[: size - len(period) - 1]}…{period}"


def _spread_chart(groups: list[GroupStats]) -> str:
    """Per group, how its articles spread: a box from the lower to the upper quartile of their spans per 1,000
    words with the median across it, whiskers to the least and the most, a dot per article where there are
    few, and a diamond at the group's rate (all its spans over all its words, the table's number). A group's
    name links to its articles."""
    width, row, label, right = 640, 28, 180, 50
    top = max((v for g in groups for v in (*g.spread, g.spans_per_1000_words)), default=0.0) or 1.0

    def x(rate: float) -> float:
        return label + (width - label - right) * rate / top

    rows = []
    for i, g in enumerate(groups):
        y = i * row + row / 2
        name = f'<text x="{label - 6}" y="{y + 4}" text-anchor="end">{escape(_chart_label(g))}</text>'
        parts = [f'<a href="#group-{i}">{name}</a>']
        if g.spread:
            least, lower, median, upper, most = (round(x(v), 1) for v in g.spread)
            whiskers = f"M{least},{y - 4}v8M{least},{y}H{lower}M{upper},{y}H{most}M{most},{y - 4}v8"
            parts.append(
                f'<path d="{whiskers}M{median},{y - 8}v16" stroke="currentColor" fill="none"/>'
                f'<rect x="{lower}" y="{y - 8}" width="{upper - lower:.1f}" height="16" fill="none" '
                'stroke="currentColor"/>'
            )
        parts += (
            f'<circle cx="{x(rate):.1f}" cy="{y + (k % 5 - 2) * 2.5}" r="2.5" fill="currentColor" fill-opacity=".35"/>'
            for k, rate in enumerate(g.rates)
        )
        rate = x(g.spans_per_1000_words)
        parts.append(
            f'<path d="M{rate:.1f},{y - 6}l6,6l-6,6l-6,-6z" fill="currentColor"/>'
            f'<text x="{width - right + 8}" y="{y + 4}">{g.spans_per_1000_words:.1f}</text>'
        )
        quartiles = ", ".join(f"{v:.1f}" for v in g.spread) or "no words"
        summary = f"{g.label}: {g.articles} articles; per article least, quartiles, most: {quartiles}"
        rows.append(f"<g><title>{escape(summary)}</title>{''.join(parts)}</g>")
    bottom = row * len(groups) + 4
    axis = (
        f'<path d="M{x(0)},{bottom}H{x(top):.1f}" stroke="currentColor" stroke-opacity=".4"/>'
        f'<text x="{x(0)}" y="{bottom + 14}">0</text>'
        f'<text x="{x(top):.1f}" y="{bottom + 14}" text-anchor="end">{top:.1f}</text>'
    )
    return _svg("Spans per 1,000 words, per article", width, bottom + 20, "".join(rows) + axis)


def _mix_chart(groups: list[GroupStats]) -> str:
    """Each group's spans split by technique, as one stacked 100% bar."""
    width, row, label = 640, 26, 180
    bars = []
    for i, g in enumerate(groups):
        x, y = float(label), i * row
        bars.append(f'<text x="{label - 6}" y="{y + 17}" text-anchor="end">{escape(_chart_label(g))}</text>')
        for name, count in g.ranked_techniques():
            length = (width - label - 10) * count / (g.spans or 1)
            technique = get_technique(name)
            bars.append(
                f'<rect x="{x:.1f}" y="{y + 5}" width="{length:.1f}" height="16" fill="{technique.colour}">'
                f"<title>{escape(technique.display_name)}: {count}</title></rect>"
            )
            x += length
    return _svg("Techniques by group", width, row * len(groups) + 6, "".join(bars))


def _series_chart(outlet: str, points: list[GroupStats]) -> str:
    """One line per technique: its spans per 1,000 words in each period, periods left to right."""
    width, height, left, bottom = 640, 220, 40, 30
    periods = [p for p in points if p.period != UNKNOWN]
    techniques = [t for t in TECHNIQUES if any(p.techniques[t.name] for p in periods)]
    top = max((p.technique_per_1000_words(t.name) for p in periods for t in techniques), default=0.0) or 1.0
    step = (width - left - 10) / max(len(periods) - 1, 1)

    def y(value: float) -> float:
        return height - bottom - (height - bottom - 10) * value / top

    lines = []
    for t in techniques:
        xy = " ".join(
            f"{left + i * step:.1f},{y(p.technique_per_1000_words(t.name)):.1f}" for i, p in enumerate(periods)
        )
        lines.append(
            f'<polyline points="{xy}" fill="none" stroke="{t.colour}" stroke-width="2">'
            f"<title>{escape(t.display_name)}</title></polyline>"
        )
    axis = (
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="currentColor" '
        f'stroke-opacity=".4"/>'
        f'<text x="{left - 4}" y="14" text-anchor="end">{top:.1f}</text>'
        f'<text x="{left - 4}" y="{height - bottom}" text-anchor="end">0</text>'
    )
    if periods:
        axis += (
            f'<text x="{left}" y="{height - 10}">{escape(periods[0].period)}</text>'
            f'<text x="{width - 10}" y="{height - 10}" text-anchor="end">{escape(periods[-1].period)}</text>'
        )
    return f"<h3>{escape(outlet)}</h3>" + _svg(f"Techniques over time: {outlet}", width, height, axis + "".join(lines))


def _time_series(groups: list[GroupStats], by: str) -> str:
    """Per outlet (or over all outlets when grouped by date), each technique's rate over the periods."""
    if by == "date":
        points = [GroupStats(g.name, g.name, techniques=g.techniques, words=g.words) for g in groups]
        return _series_chart("All outlets", points)
    outlets: dict[str, list[GroupStats]] = {}
    for g in groups:
        outlets.setdefault(g.name, []).append(g)
    return "".join(_series_chart(name, points) for name, points in outlets.items())


def _link(article: ArticleLink) -> str:
    name = escape(article.title or article.id)
    if urlsplit(article.url).scheme in ("http", "https"):
        return f'<a href="{escape(article.url)}" rel="noreferrer">{name}</a>'
    return name


def _article_row(article: ArticleLink) -> str:
    surest = "".join(
        f'<li><mark style="background:{get_technique(t).colour}">{escape(text)}</mark> '
        f"{escape(get_technique(t).display_name)} ({score:.2f})</li>"
        for t, text, score in article.spans
    )
    return (
        f"<tr><td>{_link(article)} <small>({escape(article.id)})</small></td><td>{article.count}</td>"
        f"<td>{article.spans_per_1000_words:.1f}</td><td><ul>{surest}</ul></td></tr>"
    )


def _articles_html(index: int, group: GroupStats) -> str:
    return (
        f'<section id="group-{index}"><h3>{escape(group.label)}</h3><div class="wide"><table>'
        "<tr><th>article</th><th>spans</th><th>spans / 1,000 words</th><th>surest spans</th></tr>"
        f"{''.join(map(_article_row, group.top_articles))}</table></div></section>"
    )


def render_html(groups: list[GroupStats], by: str, every: str | None = None) -> str:
    per = f", per {every}" if every else ""
    title = f"PropScope report by {escape(by)}{escape(per)}"
    overall = _by_outlet(groups) if any(g.period for g in groups) else groups
    series = f"<h2>Techniques over time (spans per 1,000 words)</h2>{_time_series(groups, by)}" if every else ""
    legend = "".join(
        f'<li><span style="background:{t.colour}"></span>{escape(t.display_name)}</li>' for t in TECHNIQUES
    )
    rows = "".join(
        f'<tr><td><a href="#group-{i}">{escape(g.name)}</a></td>{f"<td>{escape(g.period)}</td>" if g.period else ""}'
        f"<td>{g.articles}</td><td>{g.words}</td><td>{g.spans}</td>"
        f"<td>{g.spans_per_1000_words:.1f}</td><td>{g.flagged_share:.0%}</td>"
        f"<td>{escape(', '.join(get_technique(n).display_name for n, _ in g.ranked_techniques()[:3]))}</td>"
        f"<td>{escape(_phrases(g))}</td></tr>"
        for i, g in enumerate(groups)
    )
    period_header = "<th>period</th>" if any(g.period for g in groups) else ""
    articles = "".join(_articles_html(i, g) for i, g in enumerate(groups))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #ddd; padding: .3rem .5rem;
text-align: left; vertical-align: top; }} svg {{ max-width: 100%; height: auto; }}
.wide {{ overflow-x: auto; }} td ul {{ margin: 0; padding-left: 1rem; }}
svg a text {{ fill: LinkText; text-decoration: underline; }}
ul.legend {{ display: flex; flex-wrap: wrap; gap: .3rem 1rem; list-style: none; padding: 0; }}
ul.legend li span {{ display: inline-block; width: .9em; height: .9em; margin-right: .3em; border-radius: 2px; }}
mark {{ color: #111; border-radius: 3px; padding: 0 2px; }}
</style></head><body>
<h1>{title}</h1>
<p>{sum(g.articles for g in groups)} articles in {len(groups)} groups.</p>
<h2>Spans per 1,000 words</h2>
<p>Per article: the box holds the middle half of a group's articles, the line across it the median, the whiskers
reach the least and the most, a dot is an article (in groups of up to {STRIP_ARTICLES}); the diamond and the number are
the group's rate, all its spans over all its words. A group's name leads to its articles.</p>{_spread_chart(groups)}
<h2>Techniques used</h2><ul class="legend">{legend}</ul>{_mix_chart(overall)}
{series}
<h2>Table</h2><div class="wide"><table><tr><th>{escape(by)}</th>{period_header}<th>articles</th><th>words</th>
<th>spans</th><th>spans / 1,000 words</th><th>sentences flagged</th><th>main techniques</th>
<th>frequent flagged phrases</th></tr>
{rows}</table></div>
<p>Frequent flagged phrases: those flagged in two places or more, counted by place, as their words in lower case.</p>
<h2>Articles with the most spans</h2>{articles}</body></html>
"""
