import itertools
import math
import re

import pytest
from rich.color import Color, ColorSystem

from propscope.techniques import TECHNIQUE_NAMES, TECHNIQUES, UnknownTechniqueError, get_technique


def lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of a hex colour: distances there follow what the eye tells apart."""

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(int(colour[i : i + 2], 16) / 255) for i in (1, 3, 5))
    x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
    y = 0.2126 * r + 0.7152 * g + 0.0722 * b
    z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def test_fourteen_corpus_techniques_each_explained():
    assert len(TECHNIQUES) == 14
    assert len(set(TECHNIQUE_NAMES)) == 14
    for technique in TECHNIQUES:
        assert technique.display_name and technique.definition and technique.example
        assert re.fullmatch(r"#[0-9a-f]{6}", technique.colour)
        assert re.fullmatch(r"[A-Z]{2}", technique.tag)
    assert len({t.tag for t in TECHNIQUES}) == 14


def test_colours_tell_the_fourteen_apart_under_black_text():
    colours = [t.colour for t in TECHNIQUES]
    eight_bit = {Color.parse(c).downgrade(ColorSystem.EIGHT_BIT).number for c in colours}
    assert len(eight_bit) == 14  # a 256-colour terminal shows fourteen colours, not fewer
    for first, second in itertools.combinations(colours, 2):
        assert math.dist(lab(first), lab(second)) > 25, (first, second)
    assert min(lab(c)[0] for c in colours) > 60  # black text stays readable on every one


def test_lookup_by_corpus_name():
    assert get_technique("Name_Calling,Labeling").display_name == "Name calling or labelling"
    with pytest.raises(UnknownTechniqueError):
        get_technique("Name_Calling")
