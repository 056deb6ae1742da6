"""A corpus folder: ``article<ID>.txt`` files beside ``*.labels`` files of technique rows.

This is what ``propscope import`` writes from an annotation tool's export, so a team's corrected
spans can be added to the training data.
"""

from __future__ import annotations

from pathlib import Path

from propscope.corpus.articles import load_articles
from propscope.corpus.labels import Label, format_label, read_labels
from propscope.document import Article
from propscope.errors import InputError

LABELS_FILE = "annotations.labels"


def read_corpus_folder(folder: Path) -> tuple[list[Article], list[Label]]:
    """The folder's articles and their technique rows, each row checked against its article.

    An article without rows is kept: an annotator read it and found no technique.
    """
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    articles = load_articles(folder)
    labels = read_labels(folder)
    lengths = {article.id: len(article.text) for article in articles}
    for label in labels:
        row = format_label(label)
        if label.technique is None or label.is_template:
            raise InputError(f"{folder}: row {row!r} needs a technique: ID<TAB>technique<TAB>start<TAB>end")
        if label.article_id not in lengths:
            raise InputError(f"{folder}: row {row!r} names article {label.article_id!r}, which has no .txt file")
        if label.end > lengths[label.article_id]:
            raise InputError(f"{folder}: row {row!r} ends past its article ({lengths[label.article_id]} characters)")
    return articles, labels


def write_corpus_folder(folder: Path, articles: list[Article], labels: list[Label]) -> None:
    """Write ``article<ID>.txt`` byte for byte (no newline translation, so offsets hold) and one labels file."""
    folder.mkdir(parents=True, exist_ok=True)
    for article in articles:
        (folder / f"article{article.id}.txt").write_bytes(article.text.encode("utf-8"))
    rows = "".join(format_label(label) + "\n" for label in labels)
    (folder / LABELS_FILE).write_bytes(rows.encode("utf-8"))
