"""The ``latentroom`` command line: thin typer modules that parse, call the library and print."""
