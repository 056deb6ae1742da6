"""Checks against the real corpus; skipped where ../shared/data is absent."""

from collections import Counter

from propscope.corpus import load_articles, read_ids, read_labels
from propscope.techniques import TECHNIQUE_NAMES


def test_corpus_parses_and_offsets_fit_the_articles(ptc_dir):
    articles = {a.id: a for a in load_articles(ptc_dir / "train-articles")}
    labels = read_labels(ptc_dir / "train-task-flc-tc.labels")
    assert len(articles) == 371
    assert len(labels) == 6128
    assert set(Counter(label.technique for label in labels)) == set(TECHNIQUE_NAMES)
    for label in labels:
        assert label.end <= len(articles[label.article_id].text)


def test_per_article_label_folder_matches_the_single_file(ptc_dir):
    assert sorted(read_labels(ptc_dir / "train-labels-task-flc-tc")) == sorted(
        read_labels(ptc_dir / "train-task-flc-tc.labels")
    )


def test_split_is_fixed_and_disjoint(ptc_dir):
    train = set(read_ids(ptc_dir / "splits" / "train-ids.txt"))
    validation = set(read_ids(ptc_dir / "splits" / "validation-ids.txt"))
    assert (len(train), len(validation)) == (297, 74)
    assert not train & validation
