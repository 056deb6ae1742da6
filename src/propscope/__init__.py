"""PropScope: find and explain propaganda techniques in news articles, offline.

The common case is one call::

    import propscope
    analysis = propscope.analyze(text)
    for span in analysis.spans:
        print(span.technique, span.score, text[span.start:span.end])
"""

from importlib.metadata import PackageNotFoundError, version

from propscope.document import Analysis, Article, Sentence, Span, Summary
from propscope.errors import InputError, ModelError, PropScopeError
from propscope.pipeline import Analyzer, analyze, load_analyzer

try:
    __version__ = version("propscope")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "Analysis",
    "Analyzer",
    "Article",
    "InputError",
    "ModelError",
    "PropScopeError",
    "Sentence",
    "Span",
    "Summary",
    "__version__",
    "analyze",
    "load_analyzer",
]
