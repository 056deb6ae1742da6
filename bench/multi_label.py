"""Several techniques per passage against one, on the fixed PTC validation split.

    python bench/multi_label.py [--model default] [--data ../shared/data/ptc-v2] [--threads 2]

A passage gets its most probable technique where that reaches the model's ``technique_threshold`` and
every further one reaching ``extra_technique_threshold`` (spans that may overlap). The single-label row
keeps, of each passage, only its most probable technique: the same spans and the same "no technique" cut,
so the difference is the further techniques alone. Use a
model whose verifier did not learn from the validation articles (a model trained with ``data.pool =
"train"``), or the figures flatter it.
"""

from __future__ import annotations

from benchmark import model_on_validation, validation_parser

from propscope.corpus.labels import Label
from propscope.metrics import full_task


def main() -> None:
    analyzer, articles, gold = model_on_validation(validation_parser(__doc__).parse_args())
    multi: list[Label] = []
    single: dict[tuple[str, int, int], tuple[float, str]] = {}
    for article in articles:
        for span in analyzer.analyze(article).spans:
            multi.append(Label(article.id, span.start, span.end, span.technique))
            key = (article.id, span.start, span.end)
            single[key] = max(single.get(key, (0.0, "")), (span.score, span.technique))
    one = [Label(a, s, e, technique) for (a, s, e), (_, technique) in single.items()]
    print("| techniques per passage | labels | precision | recall | full-task F1 |")
    print("|---|---|---|---|---|")
    for name, labels in (("the most probable one", one), ("and every further one over the extra threshold", multi)):
        score = full_task(labels, gold).overall
        print(f"| {name} | {len(labels)} | {score.precision:.4f} | {score.recall:.4f} | {score.f1:.4f} |")


if __name__ == "__main__":
    main()
