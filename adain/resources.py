"""Where the shipped weights are, and where the package keeps what it makes (the one place that knows).

The repository's weights/ folder is installed as the package data `adain.weights` (pyproject's
package-dir mapping), so a wheel installed anywhere finds its weights through importlib.resources;
a checkout put on sys.path without installing falls back to the folder itself.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

try:
    WEIGHTS_DIR = Path(str(files("adain.weights")))
except ModuleNotFoundError:  # a source checkout on sys.path, not installed
    WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
SHIPPED_DECODER = WEIGHTS_DIR / "decoder.npz"  # the default of Stylizer.load


def cache_dir() -> Path:
    """Where exported and compiled graphs, the browser page's site and `adain doctor`'s measurements are
    kept: $ADAIN_CACHE or ~/.cache/adain."""
    return Path(os.environ.get("ADAIN_CACHE") or Path.home() / ".cache" / "adain")
