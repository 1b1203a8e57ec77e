"""``python -m app``: the command line (see ``app.cli``)."""

from .cli import cli

cli(prog_name="python -m app")
