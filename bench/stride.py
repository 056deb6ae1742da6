"""What a longer step between the tagger's windows costs in accuracy and saves in time.

    python bench/stride.py --model MODEL [--strides 160 224 254] [--data ../shared/data/ptc-v2] [--threads 2]

The tagger reads an article in windows of 256 word pieces, one every ``stride`` pieces; fewer windows
(a longer stride) is the plainest way to a faster analysis. Reads every validation article at each
stride with the model's own decoding and prints span, technique and full-task F1 with the median time
of an ~800-word article. MODEL should not have learned from the validation split (a stand-in), so the
rows compare readings of unseen articles.
"""

from __future__ import annotations

import statistics

from benchmark import article_of_words, model_on_validation, timed, validation_parser

from propscope.training.evaluation import evaluate_analyzer


def main() -> None:
    parser = validation_parser(__doc__)
    parser.add_argument("--strides", type=int, nargs="+", default=[160, 224, 254])
    args = parser.parse_args()
    analyzer, articles, gold = model_on_validation(args)
    sample = article_of_words(articles, 800)
    tokenizer = analyzer.model.tokenizer
    print("| stride | windows (sample) | span F1 | technique F1 | full task F1 | p50, ~800 words |")
    print("|---|---|---|---|---|---|")
    for stride in args.strides:
        tokenizer.stride = stride
        figures = evaluate_analyzer(analyzer, articles, gold)
        windows = len(tokenizer.windows(len(tokenizer.tokenize(sample.text))))
        p50 = statistics.median(timed(lambda: analyzer.analyze(sample), 9))
        print(
            f"| {stride} | {windows} | {figures.si.overall.f1:.4f} | {figures.tc.overall.f1:.4f} | "
            f"{figures.flc.overall.f1:.4f} | {p50:.3f} s |"
        )


if __name__ == "__main__":
    main()
