"""``python -m propscope.cli``: the same command line as ``propscope``."""

from propscope.cli.main import app

app(prog_name="propscope")
