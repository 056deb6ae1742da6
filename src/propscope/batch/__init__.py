"""Batch analysis of corpora: resumable local runs, the same job on Ray, and outlet reports."""

from propscope.batch.records import Record, Rejected, read_records
from propscope.batch.runner import BatchOptions, BatchSummary, errors_path, run_batch

__all__ = ["BatchOptions", "BatchSummary", "Record", "Rejected", "errors_path", "read_records", "run_batch"]
