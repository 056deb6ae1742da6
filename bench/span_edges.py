"""Where spans end, and what evidence costs, on the fixed PTC validation split.

    python bench/span_edges.py [--model default] [--data ../shared/data/ptc-v2] [--threads 2]

Decodes every validation article twice, with the model's span edges (cut at line breaks the model is
not confident it spans, no stray word of the next line, quoted passages whole; ``Decoding``) and with
them switched off, and prints F1 on the three tasks and how many spans cross a line break or a sentence
end, beside the gold labels' own share. Then times the evidence of each article's spans
(``EvidenceFinder``) against the whole analysis.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import replace

import numpy as np
from benchmark import model_on_validation, validation_parser

from propscope.pipeline.evidence import EvidenceFinder
from propscope.training.evaluation import evaluate_encoded

SENTENCE_END = re.compile(r"[.!?][\"”’]?\s+[A-Z“\"]")


def crossings(spans: list[tuple[str, int, int]], texts: dict[str, str]) -> tuple[int, int, int]:
    """(spans, crossing a line break, crossing a sentence end)."""
    passages = [texts[a][s:e] for a, s, e in spans]
    return len(passages), sum("\n" in p for p in passages), sum(bool(SENTENCE_END.search(p)) for p in passages)


def main() -> None:
    analyzer, articles, gold = model_on_validation(validation_parser(__doc__).parse_args())
    texts = {a.id: a.text for a in articles}
    encoded = [(analyzer, a, analyzer.model.encode(a.text)) for a in articles]

    shipped = analyzer.model.decoding
    print("| span edges | spans | across a line break | across a sentence end | span F1 | technique F1 | full F1 |")
    print("|---|---|---|---|---|---|---|")
    n, lines, sentences = crossings(sorted({(g.article_id, g.start, g.end) for g in gold}), texts)
    print(f"| gold labels | {n} | {lines} ({lines / n:.1%}) | {sentences} ({sentences / n:.1%}) | | | |")
    for name, decoding in (("off", replace(shipped, line_break=0.0, piece_words=0, quote_words=-1)), ("on", shipped)):
        analyzer.model.decoding = decoding
        spans = [(a.id, d.start, d.end) for _, a, e in encoded for d in analyzer.model.detect(e)]
        n, lines, sentences = crossings(spans, texts)
        figures = evaluate_encoded(encoded, gold)
        print(
            f"| {name} | {n} | {lines} ({lines / n:.1%}) | {sentences} ({sentences / n:.1%}) "
            f"| {figures.si.overall.f1:.4f} | {figures.tc.overall.f1:.4f} | {figures.flc.overall.f1:.4f} |"
        )

    evidence_ms, analysis_ms = [], []
    for _, article, encoding in encoded:
        started = time.perf_counter()
        analysis = analyzer.analyze(article, encoding)
        analysis_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        finder = EvidenceFinder(article.text, encoding.tokens, encoding.span_probability, analyzer.model.techniques)
        for span in analysis.spans:
            finder.evidence(span.start, span.end, np.zeros(len(analyzer.model.techniques)))
        evidence_ms.append(1000 * (time.perf_counter() - started))
    print(
        f"\nEvidence per article: median {statistics.median(evidence_ms):.2f} ms, max {max(evidence_ms):.2f} ms "
        f"(analysis after encoding, evidence included: median {statistics.median(analysis_ms):.1f} ms)"
    )


if __name__ == "__main__":
    main()
