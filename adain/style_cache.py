"""`StyleCache`: the statistics of the last few styles a stylizer encoded, keyed by their pixels.

A demo or a batch job paints many photos in the same few styles: their encoder pass (a third of a
512² stylization) is done once per style. Thread-safe: a server's handlers share one stylizer.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Callable

import numpy as np

STYLE_CACHE_SIZE = 8  # styles kept per stylizer (a demo reuses the same few)


class StyleCache:
    """The last `size` styles' statistics, least recently used dropped first.

    Args:
        size: how many styles are kept.

    Example:

    >>> cache = StyleCache(size=2)
    >>> style = np.zeros((8, 8, 3), np.float32)
    >>> cache.get(style, lambda s: {"relu4_1": float(s.mean())})
    {'relu4_1': 0.0}
    >>> cache.get(style, lambda s: 1 / 0)  # known: not computed again
    {'relu4_1': 0.0}
    """

    def __init__(self, size: int = STYLE_CACHE_SIZE):
        self.size = size
        self._entries: OrderedDict[bytes, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, style: np.ndarray, compute: Callable[[np.ndarray], dict]) -> dict:
        """The statistics of `style` (an RGB 0-255 array): kept ones, or `compute(style)`'s, then kept."""
        key = hashlib.sha1(np.ascontiguousarray(style, np.float32).tobytes()).digest() + repr(np.shape(style)).encode()
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        stats = compute(style)  # outside the lock: other styles are encoded meanwhile
        with self._lock:
            self._entries[key] = stats
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return stats

    def clear(self) -> None:
        """Forget every style (benchmarks time a new style's cost)."""
        with self._lock:
            self._entries.clear()
