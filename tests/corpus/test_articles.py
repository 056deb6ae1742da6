from pathlib import Path

import pytest

from propscope.corpus import article_id_from_path, load_articles, read_article
from propscope.errors import InputError


def test_offsets_keep_newlines_exactly(tmp_path: Path):
    path = tmp_path / "article42.txt"
    path.write_bytes(b"Title\r\n\r\nFirst line.\nSecond\n")
    article = read_article(path)
    assert article.id == "42"
    assert article.title == "Title"
    assert article.text == "Title\r\n\r\nFirst line.\nSecond\n"


def test_ids_come_from_corpus_file_names():
    assert article_id_from_path(Path("x/article111.txt")) == "111"
    assert article_id_from_path(Path("x/news.txt")) == "news"


def test_folder_reads_corpus_articles_in_order(tmp_path: Path):
    for name in ("article2.txt", "article1.txt", "notes.md"):
        (tmp_path / name).write_text("Some text\n", encoding="utf-8")
    assert [a.id for a in load_articles(tmp_path)] == ["1", "2"]


def test_undecodable_bytes_name_file_and_line(tmp_path: Path):
    path = tmp_path / "article1.txt"
    path.write_bytes(b"fine\nalso fine\nbad \xff byte\n")
    with pytest.raises(InputError, match=r"article1\.txt:3: not valid UTF-8"):
        read_article(path)


def test_empty_folder_and_missing_path(tmp_path: Path):
    with pytest.raises(InputError, match="no .txt articles"):
        load_articles(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        load_articles(tmp_path / "missing")
