"""``python -m latentroom`` runs the CLI."""

from latentroom.cli.main import main

main()
