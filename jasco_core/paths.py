"""The one place that locates the repository's `assets/` folder.

`assets/` sits next to the `jasco_core` package (the project is used from its checkout, or
installed in editable mode). `JASCO_ASSETS_DIR` points elsewhere, e.g. for a packaged install.
"""
from __future__ import annotations

import os

__all__ = ["assets_dir", "ASSETS_DIR", "EMBEDDED_DIR", "EXAMPLES_DIR", "CHORD_VOCABULARY_PATH"]


def assets_dir() -> str:
    """`$JASCO_ASSETS_DIR` when set, else the `assets/` folder of the checkout."""
    return os.environ.get("JASCO_ASSETS_DIR") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets")


ASSETS_DIR = assets_dir()
EMBEDDED_DIR = os.path.join(ASSETS_DIR, "embedded")              # the embedded model bundle
EXAMPLES_DIR = os.path.join(ASSETS_DIR, "examples")              # the demo's example inputs and outputs
CHORD_VOCABULARY_PATH = os.path.join(ASSETS_DIR, "chords", "chord_vocabulary.json")
