"""Label Studio's JSON: PropScope's spans as pre-annotations, corrected annotations back as corpus files.

Offsets are Python string indices (Unicode code points), which Label Studio stores for text
regions; nothing is normalised, so a CRLF or an emoji in an article keeps every offset exact. Older
exports counted UTF-16 code units instead: a region whose text matches only under that counting
is read with it, and any other mismatch is an error rather than a silently shifted span.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from propscope.corpus.articles import read_json_list
from propscope.corpus.labels import Label
from propscope.document import Article
from propscope.errors import InputError
from propscope.techniques import TECHNIQUES, is_technique

FROM_NAME = "technique"
TO_NAME = "text"
_SAFE_ID = re.compile(r"^[\w\-]+$")


def labeling_config() -> str:
    """The project's labeling interface: the article, and the 14 techniques in PropScope's colours."""
    labels = "\n".join(
        f"    <Label value={quoteattr(t.name)} background={quoteattr(t.colour)} hint={quoteattr(t.definition)}/>"
        for t in TECHNIQUES
    )
    return (
        f'<View>\n  <Labels name="{FROM_NAME}" toName="{TO_NAME}" choice="multiple">\n{labels}\n  </Labels>\n'
        f'  <Text name="{TO_NAME}" value="$text"/>\n</View>\n'
    )


def task(row: dict[str, Any]) -> dict[str, Any]:
    """One analysis, as ``Analysis.to_dict`` or a line of ``propscope batch`` gives it, as a task."""
    article = row["article"]
    text = article["text"]
    meta = {k: row[k] for k in ("source", "url", "date") if row.get(k)}
    regions = [
        {
            "id": f"p{number}",
            "from_name": FROM_NAME,
            "to_name": TO_NAME,
            "type": "labels",
            "score": span["score"],
            "value": {
                "start": span["start"],
                "end": span["end"],
                "text": text[span["start"] : span["end"]],
                "labels": [span["technique"]],
            },
        }
        for number, span in enumerate(row["spans"])
    ]
    scores = [span["score"] for span in row["spans"]]
    return {
        "data": {"text": text, "article_id": str(row.get("id") or article["id"]), "title": article["title"], **meta},
        "predictions": [
            {
                "model_version": f"propscope {row.get('model', '')}".strip(),
                "score": round(sum(scores) / len(scores), 4) if scores else 0.0,
                "result": regions,
            }
        ],
    }


@dataclass(frozen=True)
class Imported:
    articles: list[Article]
    labels: list[Label]
    skipped: int  # tasks without a submitted annotation


def _utf16_to_index(text: str, units: int) -> int:
    """The code-point index of a UTF-16 offset."""
    index = count = 0
    while index < len(text) and count < units:
        count += 2 if ord(text[index]) > 0xFFFF else 1
        index += 1
    return index


def _region_bounds(text: str, value: dict, where: str) -> tuple[int, int]:
    try:
        start, end = int(value["start"]), int(value["end"])
    except (KeyError, TypeError, ValueError):
        raise InputError(f"{where}: a region needs whole-number start and end") from None
    if not 0 <= start < end:
        raise InputError(f"{where}: offsets {start}..{end} hold no character: the end must come after the start")
    expected = value.get("text")
    if expected is not None and text[start:end] != expected:
        start16, end16 = _utf16_to_index(text, start), _utf16_to_index(text, end)
        if end > len(text.encode("utf-16-le")) // 2:  # past the end however the offsets count
            raise InputError(f"{where}: offsets {start}..{end} lie outside the text ({len(text)} characters)")
        if text[start16:end16] != expected:
            raise InputError(f"{where}: offsets {start}..{end} hold {text[start:end]!r}, the export says {expected!r}")
        start, end = start16, end16
    if not 0 <= start < end <= len(text):
        raise InputError(f"{where}: offsets {start}..{end} lie outside the text ({len(text)} characters)")
    return start, end


def _chosen_annotation(record: dict) -> dict | None:
    """The ground truth if one is marked, else the latest submitted annotation; none if all were skipped."""
    submitted = [a for a in record.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    if not submitted:
        return None
    truths = [a for a in submitted if a.get("ground_truth")]
    return max(
        truths or submitted, key=lambda a: (str(a.get("updated_at") or a.get("created_at") or ""), a.get("id") or 0)
    )


def read_export(source: Path) -> Imported:
    """The annotated tasks of a Label Studio JSON export, as articles and technique rows."""
    records = read_json_list(source, "Label Studio tasks (its JSON export)")
    articles: dict[str, Article] = {}
    labels: set[Label] = set()
    skipped = 0
    for number, record in enumerate(records, start=1):
        where = f"{source}: task {record.get('id', number) if isinstance(record, dict) else number}"
        data = record.get("data") if isinstance(record, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise InputError(f"{where}: needs data.text")
        annotation = _chosen_annotation(record)
        if annotation is None:
            skipped += 1
            continue
        article = _article(data, record, where)
        if article.id in articles:
            raise InputError(f"{where}: article id {article.id!r} appears twice")
        articles[article.id] = article
        labels.update(_labels(article, annotation.get("result") or [], where))
    return Imported(list(articles.values()), sorted(labels), skipped)


def _article(data: dict, record: dict, where: str) -> Article:
    article_id = str(data.get("article_id") or f"ls{record.get('id', '')}")
    if not _SAFE_ID.match(article_id):
        raise InputError(f"{where}: article id {article_id!r} cannot name a file (letters, digits, _ and - only)")
    try:
        data["text"].encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"{where}: the text holds a lone surrogate, which no UTF-8 file can store") from None
    return Article(article_id, data["text"], str(data.get("title") or ""))


def _labels(article: Article, result: Iterable[dict], where: str) -> Iterable[Label]:
    for region in result:
        if not isinstance(region, dict) or region.get("type") != "labels":
            continue  # other controls (choices, relations) carry no spans
        value = region.get("value") or {}
        start, end = _region_bounds(article.text, value, f"{where}, region {region.get('id', '?')}")
        for name in value.get("labels") or []:
            if not is_technique(name):
                raise InputError(f"{where}, region {region.get('id', '?')}: unknown technique {name!r}")
            yield Label(article.id, start, end, name)
