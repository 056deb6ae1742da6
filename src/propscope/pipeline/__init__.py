"""The analysis pipeline: text in, spans with techniques and sentence flags out."""

from propscope.pipeline.analyzer import Analyzer, analyze, load_analyzer
from propscope.pipeline.sentences import split_sentences

__all__ = ["Analyzer", "analyze", "load_analyzer", "split_sentences"]
