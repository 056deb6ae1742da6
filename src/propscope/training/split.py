"""Splitting articles so that held-out figures predict unseen news: no story on both sides of a split.

The corpus holds several articles about one story, often from one outlet, sharing whole paragraphs; a
random split lets a model meet the same sentences again at evaluation and rewards memorising. Articles
that share a large part of their word 6-grams are grouped first, and a group never straddles two folds.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict

from propscope.document import Article

_WORD = re.compile(r"\w+")
SHINGLE_WORDS = 6
SAME_STORY = 0.3  # share of an article's 6-grams found in another one that makes them one story


def shingles(text: str, n: int = SHINGLE_WORDS) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def story_groups(articles: list[Article], threshold: float = SAME_STORY) -> list[list[Article]]:
    """Articles joined (transitively) where either shares over ``threshold`` of its 6-grams with the other."""
    sets = [shingles(a.text) for a in articles]
    owners: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for index, grams in enumerate(sets):
        for gram in grams:
            owners[gram].append(index)
    parent = list(range(len(articles)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for index, grams in enumerate(sets):
        shared: dict[int, int] = defaultdict(int)
        for gram in grams:
            for other in owners[gram]:
                if other != index:
                    shared[other] += 1
        for other, count in shared.items():
            if count > threshold * min(len(grams), len(sets[other])):
                parent[root(index)] = root(other)
    groups: dict[int, list[Article]] = defaultdict(list)
    for index, article in enumerate(articles):
        groups[root(index)].append(article)
    return list(groups.values())


def grouped_folds(articles: list[Article], folds: int, seed: int) -> list[list[Article]]:
    """``folds`` parts of about equal size, each story group whole; the seed shuffles which group goes where."""
    groups = _shuffled_stories(articles, seed)
    groups.sort(key=len, reverse=True)  # stable: equal sizes keep the shuffled order
    parts: list[list[Article]] = [[] for _ in range(folds)]
    for group in groups:
        min(parts, key=len).extend(group)
    return [sorted(part, key=lambda a: a.id) for part in parts]


def story_share(articles: list[Article], share: float, seed: int) -> list[Article]:
    """Whole stories drawn with ``seed`` until at least ``share`` of ``articles`` is taken: a smaller training set for
    a learning curve. A smaller share takes a first part of a larger one's, so the sets are nested."""
    taken: list[Article] = []
    for group in _shuffled_stories(articles, seed):
        if len(taken) / len(articles) >= share:
            break
        taken.extend(group)
    return sorted(taken, key=lambda a: a.id)


def _shuffled_stories(articles: list[Article], seed: int) -> list[list[Article]]:
    """The story groups in an order that depends on ``seed`` alone, not on the order ``articles`` came in."""
    groups = sorted(story_groups(articles), key=lambda g: min(a.id for a in g))
    random.Random(seed).shuffle(groups)
    return groups
