"""The 14 techniques of the Propaganda Techniques Corpus, explained in PropScope's own words.

``name`` is the label exactly as written in the corpus files (some contain commas), so it doubles as
the key for every file format and for the model's output layer; its position in ``TECHNIQUES`` is the
class index the model was trained with.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Technique:
    name: str
    display_name: str
    definition: str
    example: str
    colour: str  # an xterm-256 colour, so terminals show the 14 apart; light enough under black text
    tag: str  # two letters that name the technique where colour cannot (16 colours, none, print)


TECHNIQUES: tuple[Technique, ...] = (
    Technique(
        "Appeal_to_Authority",
        "Appeal to authority",
        "Claims something is true because an expert, official or famous person said so, offered in place of evidence.",
        "Every leading scientist on the panel agrees, so the matter is settled.",
        "#00afff",
        "AA",
    ),
    Technique(
        "Appeal_to_fear-prejudice",
        "Appeal to fear or prejudice",
        "Builds support by stirring up anxiety or panic about an alternative, or by playing on existing prejudice.",
        "If the bill fails, our towns will be overrun and no family will be safe.",
        "#ff8787",
        "AF",
    ),
    Technique(
        "Bandwagon,Reductio_ad_hitlerum",
        "Bandwagon / Reductio ad Hitlerum",
        "Urges joining a view because everybody already holds it, or rejects a view because a "
        "despised group is said to hold it.",
        "Millions have already switched; only the stubborn few are still holding out.",
        "#af87d7",
        "BW",
    ),
    Technique(
        "Black-and-White_Fallacy",
        "Black-and-white fallacy",
        "Presents two options as the only possible ones when more exist.",
        "Either you back the mayor's plan or you want the harbour to rot.",
        "#afafaf",
        "BF",
    ),
    Technique(
        "Causal_Oversimplification",
        "Causal oversimplification",
        "Pins a complex outcome on one single cause.",
        "Prices went up for one reason only: the new council.",
        "#00afaf",
        "CO",
    ),
    Technique(
        "Doubt",
        "Doubt",
        "Questions the credibility of someone or something to undermine it, without showing why.",
        "Can we really believe a minister who has never held a real job?",
        "#ffd7ff",
        "DO",
    ),
    Technique(
        "Exaggeration,Minimisation",
        "Exaggeration or minimisation",
        "Makes something look far larger, better or worse than it is, or plays it down.",
        "The tiny protest was the biggest uprising this country has ever seen.",
        "#d7d75f",
        "EM",
    ),
    Technique(
        "Flag-Waving",
        "Flag-waving",
        "Justifies an idea by appealing to national, group or patriotic feeling.",
        "Any true patriot knows this tax is an insult to our great nation.",
        "#5faf5f",
        "FW",
    ),
    Technique(
        "Loaded_Language",
        "Loaded language",
        "Uses words with strong emotional charge to sway the reader rather than inform.",
        "The reckless, shameful decision shocked decent residents.",
        "#ffaf5f",
        "LL",
    ),
    Technique(
        "Name_Calling,Labeling",
        "Name calling or labelling",
        "Attaches an insulting or flattering label to a person or group instead of engaging with them.",
        "The so-called experts at the ministry of nonsense have spoken again.",
        "#ff87d7",
        "NC",
    ),
    Technique(
        "Repetition",
        "Repetition",
        "Repeats the same message or phrase over and over so that it sticks.",
        "Jobs first. Our answer is jobs first. Whatever the question, jobs first.",
        "#00ffff",
        "RE",
    ),
    Technique(
        "Slogans",
        "Slogans",
        "A short, striking phrase built to be remembered, often a call to action.",
        "Clean streets, safe streets!",
        "#87ffaf",
        "SL",
    ),
    Technique(
        "Thought-terminating_Cliches",
        "Thought-terminating cliché",
        "A stock phrase that cuts off critical thinking and debate.",
        "It is what it is, and that is the end of it.",
        "#afd7af",
        "TC",
    ),
    Technique(
        "Whataboutism,Straw_Men,Red_Herring",
        "Whataboutism / straw man / red herring",
        "Deflects by accusing the critic of hypocrisy, distorts an opponent's position to attack "
        "it, or drags in an irrelevant topic.",
        "Why complain about the budget when the last government lost far more?",
        "#ffd7af",
        "WH",
    ),
)

TECHNIQUE_NAMES: tuple[str, ...] = tuple(t.name for t in TECHNIQUES)
_BY_NAME = {t.name: t for t in TECHNIQUES}


class UnknownTechniqueError(KeyError):
    pass


def get_technique(name: str) -> Technique:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownTechniqueError(name) from None


def is_technique(name: str) -> bool:
    return name in _BY_NAME
