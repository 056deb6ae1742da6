"""Output formats for analyses: terminal, JSON, JSON lines, HTML and corpus rows."""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import TextIO

from rich.console import Console

from propscope.corpus.labels import span_labels, technique_labels, write_labels
from propscope.document import Analysis
from propscope.render.html import render_page
from propscope.render.terminal import print_analyses

_UNESCAPED_CONTROLS = re.compile("[\x7f-\x9f]")  # json.dumps escapes the C0 controls but not DEL and C1


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    html = "html"
    ptc = "ptc"
    ptc_si = "ptc-si"


def write_analyses(analyses: list[Analysis], fmt: OutputFormat, out: TextIO, console: Console | None = None) -> None:
    """Write in ``fmt``; ``console`` (for ``text``) keeps colours when ``out`` is a terminal."""
    if fmt is OutputFormat.text:
        print_analyses(analyses, console or Console(file=out, color_system=None, width=100))
    elif fmt is OutputFormat.json:
        payload = analyses[0].to_dict() if len(analyses) == 1 else [a.to_dict() for a in analyses]
        out.write(_json(payload, indent=2) + "\n")
    elif fmt is OutputFormat.jsonl:
        for analysis in analyses:
            out.write(_json(analysis.to_dict()) + "\n")
    elif fmt is OutputFormat.html:
        out.write(render_page(analyses))
    elif fmt is OutputFormat.ptc:
        write_labels((label for a in analyses for label in technique_labels(a)), out)
    elif fmt is OutputFormat.ptc_si:
        write_labels((label for a in analyses for label in span_labels(a)), out)


def _json(payload: object, indent: int | None = None) -> str:
    """JSON with every control character escaped, so that printing it sends none to a terminal."""
    text = json.dumps(payload, ensure_ascii=False, indent=indent)
    return _UNESCAPED_CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


__all__ = ["OutputFormat", "render_page", "write_analyses"]
