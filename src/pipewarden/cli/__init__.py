"""The command line. The only code that prints, reads the environment and exits."""

from pipewarden.cli.main import main

__all__ = ["main"]
