"""Story-grouped folds: articles sharing a large part of their text never fall on both sides of a split."""

from hypothesis import given
from hypothesis import strategies as st

from propscope.document import Article
from propscope.training.split import grouped_folds, story_groups, story_share

SHARED = "the council voted on tuesday to close the old harbour bridge for good after years of debate"


def ids(groups: list[list[Article]]) -> list[set[str]]:
    return sorted(({a.id for a in g} for g in groups), key=lambda g: sorted(g))


def test_articles_sharing_a_passage_are_one_story_even_through_a_third():
    articles = [
        Article("a", f"Morning report\n\n{SHARED}. Residents were angry."),
        Article("b", f"Evening report\n\n{SHARED}. Shops stayed open late tonight in the square."),
        Article("c", "Sports\n\nThe home team won the cup final by two goals in the rain."),
        Article("d", "Shops stayed open late tonight in the square, and the market was busy until dawn today."),
    ]
    assert ids(story_groups(articles, threshold=0.3)) == [{"a", "b"}, {"c"}, {"d"}]
    # b shares 3 of its 6-grams with d: over the lower threshold, d joins a through b
    assert ids(story_groups(articles, threshold=0.05)) == [{"a", "b", "d"}, {"c"}]


def test_a_short_overlap_does_not_join_stories():
    first = Article("a", "Opinion\n\nWe must protect the harbour for our children and their children.")
    second = Article("b", "News\n\nThe mayor said we must protect the harbour, then left the meeting early.")
    assert len(story_groups([first, second])) == 2


words = st.sampled_from(["harbour", "bridge", "council", "vote", "toll", "town", "plan", "night", "the", "a"])
texts = st.lists(words, min_size=0, max_size=30).map(" ".join)


@given(st.lists(texts, min_size=1, max_size=12), st.integers(2, 4), st.integers(0, 5))
def test_folds_partition_the_articles_and_keep_stories_whole(bodies: list[str], folds: int, seed: int):
    articles = [Article(str(i), body) for i, body in enumerate(bodies)]
    parts = grouped_folds(articles, folds, seed)
    assert len(parts) == folds
    assert sorted(a.id for part in parts for a in part) == sorted(a.id for a in articles)
    where = {a.id: k for k, part in enumerate(parts) for a in part}
    for group in story_groups(articles):
        assert len({where[a.id] for a in group}) == 1
    assert grouped_folds(list(reversed(articles)), folds, seed) == parts  # the order given does not matter


@given(st.lists(texts, min_size=1, max_size=12), st.floats(0.05, 1.0), st.integers(0, 5))
def test_a_share_takes_whole_stories_and_a_smaller_one_takes_part_of_it(bodies: list[str], share: float, seed: int):
    articles = [Article(str(i), body) for i, body in enumerate(bodies)]
    taken = story_share(articles, share, seed)
    ids = {a.id for a in taken}
    for group in story_groups(articles):
        assert len({a.id in ids for a in group}) == 1  # a story is taken whole or not at all
    largest = max(len(g) for g in story_groups(articles))
    assert len(taken) / len(articles) >= share > (len(taken) - largest) / len(articles)  # stops once it has enough
    assert {a.id for a in story_share(articles, share / 2, seed)} <= ids
    assert story_share(list(reversed(articles)), share, seed) == taken
