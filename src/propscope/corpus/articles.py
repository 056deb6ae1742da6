"""Reading articles in the corpus layout: ``article<ID>.txt``, one file or a folder of them."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from propscope.document import Article
from propscope.errors import InputError

_ARTICLE_NAME = re.compile(r"^article(?P<id>[^.]+)\.txt$")


def article_id_from_path(path: Path) -> str:
    """``article123.txt`` -> ``123``; any other file keeps its stem as the id."""
    match = _ARTICLE_NAME.match(path.name)
    return match.group("id") if match else path.stem


def decode_text(data: bytes, source: str) -> str:
    """Decode strictly, without newline translation: label offsets count every character as stored."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(f"{source}:{line}: not valid UTF-8 (byte {err.start})") from None
    if "\0" in text:  # never in text; every other byte in UTF-16 without a byte order mark
        line = text[: text.index("\0")].count("\n") + 1
        raise InputError(f"{source}:{line}: holds NUL bytes, so not UTF-8 text (UTF-16? save it as UTF-8)")
    return text


def has_substance(text: str) -> bool:
    """Whether ``text`` holds a letter, digit, punctuation mark or symbol, not only white space and
    invisible, control or private-use characters (NUL, zero-width, byte order marks)."""
    return any(unicodedata.category(c)[0] in "LNPS" for c in text)


def read_json_list(path: Path, what: str) -> list:
    """A JSON file that holds a list of ``what`` (memes, annotated tasks), or an error that says which file."""
    try:
        records = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not a JSON file of {what} ({err})") from None
    if not isinstance(records, list):
        raise InputError(f"{path}: expected a JSON list of {what}")
    return records


def title_of(text: str) -> str:
    """The corpus puts the title on the first line; plain text often does too."""
    first = text.lstrip().split("\n", 1)[0].strip()
    return first[:300]


def read_article(path: Path, article_id: str | None = None) -> Article:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, expected a text file") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    text = decode_text(data, str(path))
    return Article(id=article_id or article_id_from_path(path), text=text, title=title_of(text))


def article_files(folder: Path) -> list[Path]:
    """The corpus' ``article*.txt`` files, else any ``*.txt``, in a stable order."""
    files = sorted(folder.glob("article*.txt")) or sorted(folder.glob("*.txt"))
    if not files:
        raise InputError(f"{folder}: no .txt articles in this folder")
    return files


def load_articles(path: Path, ids: set[str] | None = None) -> list[Article]:
    """Articles from a file or a folder, optionally only those whose id is in ``ids``."""
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    files = article_files(path) if path.is_dir() else [path]
    return [read_article(f) for f in files if ids is None or article_id_from_path(f) in ids]


def read_ids(path: Path) -> list[str]:
    """A split file: one article id per line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    return [line.strip() for line in lines if line.strip()]
