"""SemEval-2021 Task 6 meme spans, read and mapped onto the PTC inventory."""

import json
from pathlib import Path

import pytest

from propscope.corpus.memes import MEME_TECHNIQUES, read_memes
from propscope.errors import InputError
from propscope.techniques import TECHNIQUE_NAMES


def write(tmp_path: Path, records) -> Path:
    path = tmp_path / "memes.txt"
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def test_spans_are_mapped_and_unmapped_techniques_left_out(tmp_path: Path):
    text = "STOP THE WASTE\n\nThey lie to you, every day"
    path = write(
        tmp_path,
        [
            {
                "id": "7",
                "text": text,
                "labels": [
                    {"start": 0, "end": 14, "technique": "Slogans", "text_fragment": "STOP THE WASTE"},
                    {"start": 16, "end": 24, "technique": "Smears", "text_fragment": "They lie"},
                    {"start": 16, "end": 41, "technique": "Whataboutism", "text_fragment": "..."},
                ],
            }
        ],
    )
    articles, labels = read_memes(path)
    assert [a.id for a in articles] == ["meme7"] and articles[0].text == text
    assert [(lab.start, lab.end, lab.technique) for lab in labels] == [
        (0, 14, "Slogans"),
        (16, 41, "Whataboutism,Straw_Men,Red_Herring"),
    ]


def test_every_mapping_names_a_ptc_technique():
    assert {t for t in MEME_TECHNIQUES.values() if t} <= set(TECHNIQUE_NAMES)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ({"id": "1"}, "expected a JSON list"),
        ([{"id": "1", "text": "x"}], "meme 1: expected id, text and labels"),
        ([{"id": "1", "text": "abc", "labels": [{"start": 0, "end": 9, "technique": "Doubt"}]}], "outside its text"),
        ([{"id": "1", "text": "abc", "labels": [{"start": 0, "end": 2, "technique": "Hype"}]}], "unknown technique"),
    ],
)
def test_malformed_files_name_the_problem(tmp_path: Path, records, message: str):
    with pytest.raises(InputError, match=message):
        read_memes(write(tmp_path, records))


def test_undecodable_file_is_an_input_error(tmp_path: Path):
    path = tmp_path / "memes.txt"
    path.write_bytes(b"\xff\xfe[")
    with pytest.raises(InputError, match="not a JSON file"):
        read_memes(path)
