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
    colour: str


TECHNIQUES: tuple[Technique, ...] = (
    Technique(
        "Appeal_to_Authority",
        "Appeal to authority",
        "Claims something is true because an expert, official or famous person said so, offered in place of evidence.",
        "Every leading scientist on the panel agrees, so the matter is settled.",
        "#4e79a7",
    ),
    Technique(
        "Appeal_to_fear-prejudice",
        "Appeal to fear or prejudice",
        "Builds support by stirring up anxiety or panic about an alternative, or by playing on existing prejudice.",
        "If the bill fails, our towns will be overrun and no family will be safe.",
        "#e15759",
    ),
    Technique(
        "Bandwagon,Reductio_ad_hitlerum",
        "Bandwagon / Reductio ad Hitlerum",
        "Urges joining a view because everybody already holds it, or rejects a view because a "
        "despised group is said to hold it.",
        "Millions have already switched; only the stubborn few are still holding out.",
        "#76b7b2",
    ),
    Technique(
        "Black-and-White_Fallacy",
        "Black-and-white fallacy",
        "Presents two options as the only possible ones when more exist.",
        "Either you back the mayor's plan or you want the harbour to rot.",
        "#59a14f",
    ),
    Technique(
        "Causal_Oversimplification",
        "Causal oversimplification",
        "Pins a complex outcome on one single cause.",
        "Prices went up for one reason only: the new council.",
        "#edc948",
    ),
    Technique(
        "Doubt",
        "Doubt",
        "Questions the credibility of someone or something to undermine it, without showing why.",
        "Can we really believe a minister who has never held a real job?",
        "#b07aa1",
    ),
    Technique(
        "Exaggeration,Minimisation",
        "Exaggeration or minimisation",
        "Makes something look far larger, better or worse than it is, or plays it down.",
        "The tiny protest was the biggest uprising this country has ever seen.",
        "#ff9da7",
    ),
    Technique(
        "Flag-Waving",
        "Flag-waving",
        "Justifies an idea by appealing to national, group or patriotic feeling.",
        "Any true patriot knows this tax is an insult to our great nation.",
        "#9c755f",
    ),
    Technique(
        "Loaded_Language",
        "Loaded language",
        "Uses words with strong emotional charge to sway the reader rather than inform.",
        "The reckless, shameful decision shocked decent residents.",
        "#f28e2b",
    ),
    Technique(
        "Name_Calling,Labeling",
        "Name calling or labelling",
        "Attaches an insulting or flattering label to a person or group instead of engaging with them.",
        "The so-called experts at the ministry of nonsense have spoken again.",
        "#d37295",
    ),
    Technique(
        "Repetition",
        "Repetition",
        "Repeats the same message or phrase over and over so that it sticks.",
        "Jobs first. Our answer is jobs first. Whatever the question, jobs first.",
        "#a0cbe8",
    ),
    Technique(
        "Slogans",
        "Slogans",
        "A short, striking phrase built to be remembered, often a call to action.",
        "Clean streets, safe streets!",
        "#8cd17d",
    ),
    Technique(
        "Thought-terminating_Cliches",
        "Thought-terminating cliché",
        "A stock phrase that cuts off critical thinking and debate.",
        "It is what it is, and that is the end of it.",
        "#b6992d",
    ),
    Technique(
        "Whataboutism,Straw_Men,Red_Herring",
        "Whataboutism / straw man / red herring",
        "Deflects by accusing the critic of hypocrisy, distorts an opponent's position to attack "
        "it, or drags in an irrelevant topic.",
        "Why complain about the budget when the last government lost far more?",
        "#86bcb6",
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
