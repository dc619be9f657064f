"""`python -m anchor` runs the CLI."""

from anchor.cli import main

main()
