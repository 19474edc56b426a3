"""The `director` command line: thin commands over the library."""
