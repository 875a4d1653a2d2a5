"""Where the shipped weights are (the one place that knows).

The repository's weights/ folder is installed as the package data `adain.weights` (pyproject's
package-dir mapping), so a wheel installed anywhere finds its weights through importlib.resources;
a checkout put on sys.path without installing falls back to the folder itself.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

try:
    WEIGHTS_DIR = Path(str(files("adain.weights")))
except ModuleNotFoundError:  # a source checkout on sys.path, not installed
    WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
SHIPPED_DECODER = WEIGHTS_DIR / "decoder.npz"  # the default of Stylizer.load
