from propscope.pipeline.sentences import split_sentences


def pieces(text):
    return [text[s:e] for s, e in split_sentences(text)]


def test_lines_and_sentence_ends():
    text = 'Title here\n\nMr. Smith went to Washington. He said "No!" Then left.\nU.S. officials agree.  '
    assert pieces(text) == [
        "Title here",
        "Mr. Smith went to Washington.",
        'He said "No!"',
        "Then left.",
        "U.S. officials agree.",
    ]


def test_offsets_survive_carriage_returns():
    text = "One.\r\nTwo two.\r\n"
    assert pieces(text) == ["One.", "Two two."]
