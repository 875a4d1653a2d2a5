"""adain: arbitrary neural style transfer with AdaIN (one pass) and Gatys optimisation (fallback)."""

from adain.gatys import Cancelled, optimize
from adain.image_io import ImageError, load_image
from adain.stylizer import Stylizer

__all__ = ["Stylizer", "optimize", "Cancelled", "load_image", "ImageError"]
__version__ = "0.1.0"
