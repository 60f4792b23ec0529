"""The ``glassnet`` command. This version knows ``--version``; the commands come later."""

from __future__ import annotations

import argparse

from . import __version__


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="glassnet", description="A glass-box neural-network library on NumPy.")
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    parser.parse_args(argv)
    parser.print_help()
    return 0
