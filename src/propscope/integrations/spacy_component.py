"""The ``propscope`` spaCy pipeline component (``pip install "propscope[spacy]"``).

``nlp.add_pipe("propscope")`` finds it through spaCy's ``spacy_factories`` entry point. It writes each
technique span to ``doc.spans["propaganda"]`` (a span group keeps overlapping spans) with the technique
as label and the calibrated score on ``span._.propscope_score``.

spaCy spans are made of whole tokens, PropScope's of characters. A span whose edge falls inside a
token grows to cover that whole token, so no marked character is lost; the exact character offsets
stay on ``span._.propscope_chars``. An edge in white space between tokens moves to the nearest token
inside the span.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator

from spacy.language import Language
from spacy.tokens import Doc, Span

from propscope.document import Article
from propscope.document import Span as TechniqueSpan
from propscope.pipeline import load_analyzer
from propscope.techniques import TECHNIQUES

SPANS_KEY = "propaganda"
DISPLACY_COLOURS = {t.name: t.colour for t in TECHNIQUES}  # displaCy reads these through an entry point


def _recorded(span: Span) -> tuple[float, int, int] | None:
    return span.doc.user_data.get(("propscope", span.start_char, span.end_char, span.label_))


def _score(span: Span) -> float | None:
    recorded = _recorded(span)
    return None if recorded is None else recorded[0]


def _chars(span: Span) -> tuple[int, int] | None:
    recorded = _recorded(span)
    return None if recorded is None else (recorded[1], recorded[2])


if not Span.has_extension("propscope_score"):
    Span.set_extension("propscope_score", getter=_score)
    Span.set_extension("propscope_chars", getter=_chars)


def token_bounds(starts: list[int], ends: list[int], start: int, end: int) -> tuple[int, int]:
    """The tokens ``[first, last)`` covering the characters ``start..end``, as the module says.

    ``starts`` and ``ends`` are the tokens' character offsets.
    """
    first = bisect_right(ends, start)  # the first token ending after ``start``
    last = bisect_left(starts, end)  # one past the last token starting before ``end``
    if first >= last:  # only white space between two tokens: the token before it holds that space
        first = max(min(first, len(starts)) - 1, 0)
        last = first + 1
    return first, last


def add_spans(doc: Doc, spans: Iterable[TechniqueSpan], key: str = SPANS_KEY) -> Doc:
    """Put technique spans on ``doc``; two that land on the same tokens with one label become one, the surer."""
    starts = [token.idx for token in doc]
    ends = [token.idx + len(token) for token in doc]
    group: dict[tuple[int, int, str], Span] = {}
    for found in sorted(spans, key=lambda s: s.score):
        span = Span(doc, *token_bounds(starts, ends, found.start, found.end), label=found.technique)
        key_of_span = ("propscope", span.start_char, span.end_char, span.label_)
        doc.user_data[key_of_span] = (found.score, found.start, found.end)
        group[(span.start, span.end, span.label_)] = span
    doc.spans[key] = sorted(group.values())
    return doc


class PropScopeComponent:
    """Analyzes ``doc.text`` with one loaded model, shared by every call and every ``nlp.pipe`` batch."""

    def __init__(self, name: str, model: str, min_score: float, spans_key: str) -> None:
        self.name = name
        self.analyzer = load_analyzer(model)
        self.min_score = min_score
        self.spans_key = spans_key

    def __call__(self, doc: Doc) -> Doc:
        if not doc.text.strip():
            doc.spans[self.spans_key] = []
            return doc
        analysis = self.analyzer.analyze(Article(id="doc", text=doc.text)).above(self.min_score)
        return add_spans(doc, analysis.spans, self.spans_key)

    def pipe(self, docs: Iterable[Doc], batch_size: int = 32) -> Iterator[Doc]:
        """The model reads one window per ONNX run (fastest on CPU), so a batch shares the session, not a run."""
        for doc in docs:
            yield self(doc)


@Language.factory(
    "propscope",
    default_config={"model": "default", "min_score": 0.0, "spans_key": SPANS_KEY},
)
def make_component(nlp: Language, name: str, model: str, min_score: float, spans_key: str) -> PropScopeComponent:
    return PropScopeComponent(name, model, min_score, spans_key)
