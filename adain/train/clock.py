"""Step time that leaves out the time the process was stopped (SIGSTOP while benchmarking, a laptop asleep).

Wall-clock time alone counts a pause as training time; CPU time alone depends on how many cores the step
keeps busy. `StepClock` counts a step's wall time, unless the process used markedly less CPU per second
than in its usual steps: then its CPU time at the usual rate (the median CPU-per-wall ratio of the last
steps). A step that waited on something else than the CPU (slow disk) is undercounted the same way.
"""

from __future__ import annotations

import time
from collections import deque
from statistics import median


class StepClock:
    """Times one step at a time: `start()`, then `stop()` gives the seconds to count.

    Args:
        window: how many recent steps the usual CPU-per-wall ratio is the median of.

    Example:

    >>> clock = StepClock()
    >>> clock.start(); time.sleep(0.01); seconds = clock.stop()
    >>> 0.0 <= seconds <= 0.5
    True
    """

    def __init__(self, window: int = 50):
        self.ratios: deque[float] = deque(maxlen=window)
        self._wall = self._cpu = 0.0

    def start(self) -> None:
        """Mark the start of a step."""
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def stop(self) -> float:
        """Seconds of the step since `start()`, pauses left out."""
        wall, cpu = time.perf_counter() - self._wall, time.process_time() - self._cpu
        ratio = cpu / wall if wall > 0 else 0.0
        usual = median(self.ratios) if self.ratios else ratio
        self.ratios.append(ratio)
        return min(wall, cpu / usual) if usual > 0 else wall
