import re
from pathlib import Path

import pytest

from propscope.corpus import Label, read_corpus_folder
from propscope.corpus.folder import LABELS_FILE, write_corpus_folder
from propscope.document import Article
from propscope.errors import InputError


def test_written_folder_reads_back(tmp_path: Path):
    articles = [Article("5", "Shameful!\r\nCalm.\r\n"), Article("6", "Nothing here.")]
    labels = [Label("5", 0, 8, "Loaded_Language"), Label("5", 0, 9, "Slogans")]
    write_corpus_folder(tmp_path, articles, labels)
    assert (tmp_path / LABELS_FILE).read_text(encoding="utf-8") == "5\tLoaded_Language\t0\t8\n5\tSlogans\t0\t9\n"
    read_articles, read_rows = read_corpus_folder(tmp_path)
    assert [(a.id, a.text) for a in read_articles] == [("5", articles[0].text), ("6", "Nothing here.")]
    assert read_rows == labels


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("9\tDoubt\t0\t3\n", "names article '9', which has no .txt file"),
        ("5\tDoubt\t0\t30\n", "ends past its article (9 characters)"),
        ("5\t0\t3\n", "needs a technique"),
        ("5\t?\t0\t3\n", "needs a technique"),
    ],
)
def test_rows_that_do_not_fit_their_articles_are_named(tmp_path: Path, rows: str, message: str):
    (tmp_path / "article5.txt").write_text("Shameful!", encoding="utf-8")
    (tmp_path / "team.labels").write_text(rows, encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)):
        read_corpus_folder(tmp_path)


def test_a_missing_folder_is_named(tmp_path: Path):
    with pytest.raises(InputError, match="no such folder"):
        read_corpus_folder(tmp_path / "nope")
