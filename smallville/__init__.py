"""Smallville: a town of generative agents on a tile map."""

__version__ = "0.1.0"
