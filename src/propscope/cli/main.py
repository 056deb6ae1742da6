"""The ``propscope`` command line: importing the command modules registers their commands."""

from propscope.cli import analysis, integrations, services, training  # noqa: F401
from propscope.cli.app import app

__all__ = ["app"]
