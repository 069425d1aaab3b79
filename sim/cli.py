"""Simulator subcommands of `embodied-memory` (`sim ...`, `tasks ...`)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the simulator's subcommands to the top-level parser."""
