"""Defaults, limits and presets of the public API, as data: the library, the CLI and the demo read them here.

Kept free of heavy imports (the CLI builds its --help from it without loading a backend). The
training recipe's defaults are the fields of `adain.train.config.TrainConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def option(default, help: str, **extra):
    """A dataclass field with its command-line help (and argparse extras such as choices) as metadata:
    the CLI generates one option per field (`adain.cli`)."""
    return field(default=default, metadata={"help": help, **extra})


# ---- images ----------------------------------------------------------------------------------
MAX_INPUT_PIXELS = 64_000_000  # refuse to decode more than this (a 30000x30000 PNG bomb is 900 MP)
MIN_SIDE = 16  # smaller images have no usable VGG features (relu4_1 is at 1/8 resolution)
MAX_SIZE = 1024  # long side of the working resolution (the output) unless the caller asks otherwise
STYLE_SIZE = 512  # long side a style is encoded at (its brush-stroke scale), as in the AdaIN paper; 384 scored 2 % worse

# ---- one-pass stylization --------------------------------------------------------------------
ALPHA = 1.0  # style strength: 0 gives back the content, 1 full style
EVAL_SIZE = 256  # `adain evaluate`: centre-crop side of both images (the training crops' size)
OPENVINO_CACHE_MB = 256  # runtime "openvino": its graphs compiled per image shape kept on disk (~9 MB a 512² photo)
OPENVINO_SHAPES = 2  # runtime "openvino": input shapes each graph stays compiled for in memory (a video's zoom and the
                     # rest of its frames use two; a compile from the disk cache costs 0.1-0.2 s)


# ---- the classic mode ------------------------------------------------------------------------
CLASSIC_METHODS = ("lbfgs", "adam")
CLASSIC_INITS = ("content", "noise")


@dataclass(frozen=True)
class ClassicPreset:
    """Settings of `adain.optimize` (Gatys et al.): the defaults of the function and of `adain optimize`."""

    steps: int = option(300, "iterations, split evenly over the scales")
    size: int = option(512, "long side of the output")
    method: str = option("lbfgs", "L-BFGS-B (pixels bounded to 0-255) or Adam", choices=CLASSIC_METHODS)
    init: str = option("content", "start from the content or from seeded noise", choices=CLASSIC_INITS)
    scales: int = option(1, "coarse-to-fine levels (each doubles the size), 1 to 4")
    content_weight: float = option(1.0, "weight of the relu4_1 content loss")
    style_weight: float = option(1e2, "weight of the Gram style loss (relu1_1..relu5_1)")
    tv_weight: float = option(1e-3, "weight of the total-variation smoothness term")
    learning_rate: float = option(2.0, "Adam's step, in 0-255 pixel units")
    seed: int = option(0, "seed of the noise start")


CLASSIC = ClassicPreset()


# ---- the web demo (a 2-vCPU Hugging Face Space) ------------------------------------------------
@dataclass(frozen=True)
class DemoLimits:
    """What one visitor may ask of the demo, and what it keeps on disk (a server changes the classic
    budget with --classic-budget or ADAIN_CLASSIC_BUDGET)."""

    max_upload: str = "20mb"  # uploads over this are refused by the server with a message
    max_output: int = 1024  # long side of a result; larger runs locally with the CLI
    size: int = 512  # the size slider's start (long side of a result)
    classic_steps: int = 100  # the classic mode's steps slider's start
    classic_budget_s: float = 600.0  # cost limit of one classic job, in seconds of a 2-vCPU machine
    keep_results: int = 32  # the demo's own result PNGs kept on disk (Gradio serves its copies of them)
    fast_queue_size: int = 64  # fast jobs waiting in line; more are refused (classic jobs never count here)
    classic_queue_size: int = 8  # classic jobs waiting in line (each may cost up to the classic budget)
    disk_budget_mb: float = 4096.0  # uploads and results on disk, all visitors together (ADAIN_DISK_BUDGET_MB)
    cache_cleanup: tuple[int, int] = (600, 7200)  # Gradio deletes cached files older than 2 h, every 10 min: more
    # than the longest wait in line (8 classic jobs of 10 min), so no waiting job loses its uploads
    # ZeroGPU Space (demo/zerogpu.py): seconds of GPU each job asks for (`spaces.GPU(duration=...)`), counted
    # against the visitor's daily quota; a classic job stops itself just before its time ends
    zerogpu_fast_s: int = 20
    zerogpu_classic_s: int = 120
    video_max_seconds: float = 10.0  # a video job: clips up to this long (frames decoded and encoded one at a time)
    video_max_output: int = 512  # long side of a video result (a 10-s clip at 512 px: ~2 min on 2 vCPUs)
    video_queue_size: int = 4  # video jobs waiting in line (they have a line of their own)


DEMO = DemoLimits()
