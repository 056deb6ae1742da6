"""Meme texts of SemEval-2021 Task 6 (subtask 2: spans), mapped onto the 14 PTC techniques.

The memes' inventory has 20 techniques; most are PTC techniques under other spellings, three PTC
classes were split there (whataboutism, straw man and red herring; bandwagon and reductio ad
hitlerum), and three have no PTC counterpart (smears, glittering generalities, obfuscation): their
spans are left out rather than forced into a wrong class.
"""

from __future__ import annotations

from pathlib import Path

from propscope.corpus.articles import read_json_list
from propscope.corpus.labels import Label
from propscope.document import Article
from propscope.errors import InputError

MEME_TECHNIQUES: dict[str, str | None] = {
    "Appeal to authority": "Appeal_to_Authority",
    "Appeal to fear/prejudice": "Appeal_to_fear-prejudice",
    "Black-and-white Fallacy/Dictatorship": "Black-and-White_Fallacy",
    "Causal Oversimplification": "Causal_Oversimplification",
    "Doubt": "Doubt",
    "Exaggeration/Minimisation": "Exaggeration,Minimisation",
    "Flag-waving": "Flag-Waving",
    "Loaded Language": "Loaded_Language",
    "Name calling/Labeling": "Name_Calling,Labeling",
    "Repetition": "Repetition",
    "Slogans": "Slogans",
    "Thought-terminating cliché": "Thought-terminating_Cliches",
    "Whataboutism": "Whataboutism,Straw_Men,Red_Herring",
    "Misrepresentation of Someone's Position (Straw Man)": "Whataboutism,Straw_Men,Red_Herring",
    "Presenting Irrelevant Data (Red Herring)": "Whataboutism,Straw_Men,Red_Herring",
    "Bandwagon": "Bandwagon,Reductio_ad_hitlerum",
    "Reductio ad hitlerum": "Bandwagon,Reductio_ad_hitlerum",
    "Smears": None,
    "Glittering generalities (Virtue)": None,
    "Obfuscation, Intentional vagueness, Confusion": None,
}


def read_memes(path: Path) -> tuple[list[Article], list[Label]]:
    """Memes as articles (id ``meme<ID>``) and their spans with PTC technique names."""
    records = read_json_list(path, "memes")
    articles, labels = [], []
    for number, record in enumerate(records, 1):
        try:
            article = Article(f"meme{record['id']}", record["text"])
            spans = [(int(s["start"]), int(s["end"]), s["technique"]) for s in record["labels"]]
        except (KeyError, TypeError, ValueError) as err:
            expected = "expected id, text and labels with start, end, technique"
            raise InputError(f"{path}: meme {number}: {expected} ({err})") from None
        articles.append(article)
        for start, end, name in spans:
            if name not in MEME_TECHNIQUES:
                raise InputError(f"{path}: meme {number}: unknown technique {name!r}")
            if not 0 <= start < end <= len(article.text):
                raise InputError(f"{path}: meme {number}: span {start}-{end} outside its text")
            if technique := MEME_TECHNIQUES[name]:
                labels.append(Label(article.id, start, end, technique))
    return articles, labels
