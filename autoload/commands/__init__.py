"""Implementations of the `autoload` console script's subcommands."""
