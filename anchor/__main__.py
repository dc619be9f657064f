"""`python -m anchor` runs the CLI."""

from anchor.cli import app

app()
