"""What a classic-mode job costs: its coarse-to-fine schedule and its expected time, without loading
TensorFlow (a server checks a request against its budget before anything runs)."""

from __future__ import annotations

# Seconds one step costs per megapixel of the image being optimised, on a 2-vCPU x86 machine, with a
# margin: measured 5.6 (256²) and 7.4 (512²) on a Zen 4 (issue #39: 0.37 and 1.94 s a step, Adam) and 3.5-7.1
# on an AMX Xeon (session 30, the demo's coffee photo at 256 and 512 px, Adam and L-BFGS, nothing else
# running). It was 36 from older code's 9.5 s a step at 512², which made the page's estimates 4-6x too high
# and refused jobs that would have finished.
SECONDS_PER_MEGAPIXEL_STEP = 8.0


def schedule(final: tuple[int, int], steps: int, scales: int) -> list[tuple[tuple[int, int], int]]:
    """((w, h), steps) of each scale, coarse to fine: the steps split evenly, each scale twice the last."""
    per_scale = [steps // scales + (1 if i < steps % scales else 0) for i in range(scales)]
    return [((max(16, final[0] // 2 ** (scales - 1 - i)), max(16, final[1] // 2 ** (scales - 1 - i))), n)
            for i, n in enumerate(per_scale)]


def estimated_seconds(steps: int, size: tuple[int, int], scales: int = 1) -> float:
    """Expected wall time of `adain.optimize` for an output of `size` = (w, h) on a 2-vCPU machine
    (SECONDS_PER_MEGAPIXEL_STEP; a faster machine takes less)."""
    return sum(n * w * h / 1e6 * SECONDS_PER_MEGAPIXEL_STEP for (w, h), n in schedule(size, steps, scales))
