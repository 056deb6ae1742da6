"""Scoring with the shipped model: articles encoded once, each scored by the analyzer that goes with it."""

from dataclasses import replace

from propscope.corpus.labels import Label
from propscope.document import Article
from propscope.pipeline.analyzer import Analyzer
from propscope.training.evaluation import evaluate_analyzer, evaluate_encoded

ARTICLES = [
    Article(
        id="1", title="A shameful plan", text="A shameful plan\n\nThe reckless council approved a shameful plan.\n"
    ),
    Article(id="2", title="Our town", text="Our town\n\nReal patriots love this harbour. Traitors hate it!\n"),
]
GOLD = [
    Label("1", 21, 29, "Loaded_Language"),
    Label("2", 10, 41, "Flag-Waving"),
    Label("2", 43, 51, "Name_Calling,Labeling"),
]


def test_encoded_articles_score_as_when_the_analyzer_encodes_them():
    analyzer = Analyzer.load()
    encoded = [(analyzer, a, analyzer.model.encode(a.text)) for a in ARTICLES]
    assert evaluate_encoded(encoded, GOLD) == evaluate_analyzer(analyzer, ARTICLES, GOLD)


def test_each_article_is_decoded_by_its_own_analyzer():
    finds = Analyzer.load()
    silent = Analyzer.load()
    silent.model.decoding = replace(silent.model.decoding, threshold=1.01)  # no probability reaches it
    first, second = (finds.model.encode(a.text) for a in ARTICLES)
    mixed = evaluate_encoded([(finds, ARTICLES[0], first), (silent, ARTICLES[1], second)], GOLD)
    alone = evaluate_analyzer(finds, ARTICLES[:1], GOLD[:1])
    assert alone.si.overall.predicted > 0
    assert mixed.si.overall.predicted == alone.si.overall.predicted
    assert mixed.tc.overall.gold == 3  # techniques are still classified on every gold span
