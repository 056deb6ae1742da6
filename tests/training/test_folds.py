"""Cross-fitting folds: every training article is held out exactly once, and never trains its own fold."""

from propscope.document import Article
from propscope.training.loop import Corpus, cross_fitting_folds


def corpus_of(n: int) -> Corpus:
    articles = [Article(str(i), f"text {i}") for i in range(n)]
    return Corpus(train=articles, dev=[], validation=[Article("v", "held for reporting")], labels={})


def test_folds_partition_the_training_articles():
    corpus = corpus_of(11)
    folds = cross_fitting_folds(corpus, 3, seed=13)
    held_out = [a.id for fold in folds for a in fold.dev]
    assert sorted(held_out) == sorted(a.id for a in corpus.train)
    assert [len(fold.dev) for fold in folds] == [4, 4, 3]
    for fold in folds:
        assert not {a.id for a in fold.train} & {a.id for a in fold.dev}
        assert len(fold.train) + len(fold.dev) == 11
        assert fold.validation == corpus.validation


def test_folds_depend_on_the_seed_only():
    corpus = corpus_of(20)
    shuffled = Corpus(train=corpus.train[::-1], dev=[], validation=[], labels={})

    def held_out(c: Corpus, seed: int) -> list[set[str]]:
        return [{a.id for a in fold.dev} for fold in cross_fitting_folds(c, 2, seed)]

    assert held_out(shuffled, 5) == held_out(corpus, 5)
    assert held_out(corpus, 6) != held_out(corpus, 5)


def test_a_fold_share_cuts_what_each_fold_learns_from_not_what_it_holds_out():
    corpus = corpus_of(20)
    whole = cross_fitting_folds(corpus, 2, seed=13)
    cut = cross_fitting_folds(corpus, 2, seed=13, share=0.5)
    for full, half in zip(whole, cut, strict=True):
        assert half.dev == full.dev
        assert {a.id for a in half.train} < {a.id for a in full.train}
        assert len(half.train) == len(full.train) // 2  # articles of their own story each
