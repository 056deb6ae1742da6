import re

import pytest

from propscope.techniques import TECHNIQUE_NAMES, TECHNIQUES, UnknownTechniqueError, get_technique


def test_fourteen_corpus_techniques_each_explained():
    assert len(TECHNIQUES) == 14
    assert len(set(TECHNIQUE_NAMES)) == 14
    for technique in TECHNIQUES:
        assert technique.display_name and technique.definition and technique.example
        assert re.fullmatch(r"#[0-9a-f]{6}", technique.colour)
    assert len({t.colour for t in TECHNIQUES}) == 14


def test_lookup_by_corpus_name():
    assert get_technique("Name_Calling,Labeling").display_name == "Name calling or labelling"
    with pytest.raises(UnknownTechniqueError):
        get_technique("Name_Calling")
