"""Label files of SemEval-2020 Task 11.

Three row shapes, split on tabs only because technique names contain commas:

* ``ID<TAB>technique<TAB>start<TAB>end`` — technique classification and the full task;
* ``ID<TAB>technique<TAB>start<TAB>end`` with technique ``?`` — a classification template;
* ``ID<TAB>start<TAB>end`` — span identification.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from propscope.corpus.articles import decode_text
from propscope.document import Analysis, merge_intervals
from propscope.errors import InputError
from propscope.techniques import TECHNIQUE_NAMES, is_technique

TEMPLATE_MARK = "?"
_OFFSET = re.compile("[0-9]+")  # ASCII digits only: int() would also take "+1_0", "٣" and "３"


@dataclass(frozen=True, order=True)
class Label:
    """One row of a label file; ``technique`` is None for span identification rows."""

    article_id: str
    start: int
    end: int
    technique: str | None = None

    @property
    def is_template(self) -> bool:
        return self.technique == TEMPLATE_MARK


def id_problem(article_id: str) -> str | None:
    """Ids go into tab-separated rows and line-based files: no control character or line break may corrupt them."""
    try:
        article_id.encode("utf-8")
    except UnicodeEncodeError:
        return "id is not valid Unicode (it holds a lone surrogate)"
    if any(unicodedata.category(c) == "Cc" or c in "\u2028\u2029" for c in article_id):
        return "id holds a tab, line break or other control character"
    return None


def parse_label_line(line: str, where: str) -> Label:
    fields = line.rstrip("\r\n").split("\t")
    if len(fields) == 4:
        article_id, technique, start_text, end_text = fields
        if not (is_technique(technique) or technique == TEMPLATE_MARK):
            raise InputError(f"{where}: unknown technique {technique!r} (known: {', '.join(TECHNIQUE_NAMES)})")
    elif len(fields) == 3:
        article_id, start_text, end_text = fields
        technique = None
        if is_technique(start_text) or start_text == TEMPLATE_MARK:
            raise InputError(f"{where}: a technique row needs ID<TAB>technique<TAB>start<TAB>end; this one has no end")
    else:
        raise InputError(
            f"{where}: expected ID<TAB>technique<TAB>start<TAB>end or ID<TAB>start<TAB>end, "
            f"found {len(fields)} tab-separated fields"
        )
    if not article_id.strip():
        raise InputError(f"{where}: empty article id")
    if not (_OFFSET.fullmatch(start_text.strip()) and _OFFSET.fullmatch(end_text.strip())):
        raise InputError(f"{where}: offsets must be whole numbers, got {start_text!r} and {end_text!r}")
    start, end = int(start_text), int(end_text)
    if not 0 <= start < end:
        raise InputError(f"{where}: needs 0 <= start < end, got start {start} and end {end}")
    return Label(article_id.strip(), start, end, technique)


def parse_labels(text: str, source: str) -> list[Label]:
    text = text.removeprefix("\ufeff")  # a byte order mark, as some editors save, is not part of the first id
    return [
        parse_label_line(line, f"{source}:{number}")
        for number, line in enumerate(text.split("\n"), start=1)
        if line.strip()
    ]


def read_labels(path: Path) -> list[Label]:
    """Rows of one label file, or of every ``*.labels`` file in a folder."""
    if path.is_dir():
        files = sorted(path.glob("*.labels"))
        if not files:
            raise InputError(f"{path}: no .labels files in this folder")
        return [label for f in files for label in read_labels(f)]
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    return parse_labels(decode_text(data, str(path)), str(path))


def format_label(label: Label) -> str:
    if label.technique is None:
        return f"{label.article_id}\t{label.start}\t{label.end}"
    return f"{label.article_id}\t{label.technique}\t{label.start}\t{label.end}"


def write_labels(labels: Iterable[Label], out: TextIO) -> None:
    for label in labels:
        out.write(format_label(label) + "\n")


def group_by_article(labels: Iterable[Label]) -> dict[str, list[Label]]:
    grouped: dict[str, list[Label]] = {}
    for label in labels:
        grouped.setdefault(label.article_id, []).append(label)
    return grouped


def technique_labels(analysis: Analysis) -> list[Label]:
    """An analysis as ``ID technique start end`` rows (technique classification and full task)."""
    return [Label(analysis.article.id, s.start, s.end, s.technique) for s in analysis.spans]


def span_labels(analysis: Analysis) -> list[Label]:
    """An analysis as ``ID start end`` rows, spans of all techniques merged (span identification)."""
    merged = merge_intervals((s.start, s.end) for s in analysis.spans)
    return [Label(analysis.article.id, start, end) for start, end in merged]
