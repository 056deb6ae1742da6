"""Corpus file formats of SemEval-2020 Task 11: articles and label files."""

from propscope.corpus.articles import article_id_from_path, load_articles, read_article, read_ids
from propscope.corpus.folder import read_corpus_folder
from propscope.corpus.labels import (
    Label,
    format_label,
    group_by_article,
    read_labels,
    span_labels,
    technique_labels,
    write_labels,
)

__all__ = [
    "Label",
    "article_id_from_path",
    "format_label",
    "group_by_article",
    "load_articles",
    "read_article",
    "read_corpus_folder",
    "read_ids",
    "read_labels",
    "span_labels",
    "technique_labels",
    "write_labels",
]
