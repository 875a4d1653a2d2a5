"""The `adain` command line: stylize, optimize, train, evaluate, export.

Bad input ends the command with one clear line on stderr and exit status 2, not a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from adain import defaults, temporal
from adain.color import PRESERVE_COLOR_MODES
from adain.errors import RuntimeUnavailable, install_hint
from adain.image_io import ImageError, save_image
from adain.memory import map_large_blocks
from adain.stylizer import RUNTIMES
from adain.train.config import TrainConfig


def _add_color(p: argparse.ArgumentParser) -> None:
    p.add_argument("--preserve-color", choices=PRESERVE_COLOR_MODES, default=None,
                   help="keep the content's colours: transfer luminance only, or recolour the style first")


def _add_runtime(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runtime", choices=RUNTIMES,
                   help="keras, onnx (ONNX Runtime, faster on CPU), onnx-int8 (int8 encoder; no TensorFlow with the "
                        "shipped decoder) or openvino (the onnx-int8 graphs in bf16 / int8 on the CPU's matrix units); "
                        "default: the fastest installed (adain.stylizer.fastest_runtime)")


def _add_config_fields(p: argparse.ArgumentParser, config_class) -> None:
    """One option per field of a config dataclass, its default, type and help taken from the field."""
    for f in fields(config_class):
        meta = f.metadata
        flag = meta.get("flag", "--" + f.name.replace("_", "-"))
        if f.default is MISSING:
            p.add_argument(flag, dest=f.name, required=True, help=meta["help"])
        elif isinstance(f.default, bool):
            p.add_argument(flag, dest=f.name, action="store_true", help=meta["help"])
        else:
            kind = str if f.default is None else type(f.default)
            p.add_argument(flag, dest=f.name, type=kind, default=f.default, choices=meta.get("choices"),
                           help=meta["help"] + ("" if f.default is None else " (default %(default)s)"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="adain", description="Arbitrary neural style transfer (AdaIN and Gatys).")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("stylize", help="one-pass style transfer with the trained decoder")
    p.add_argument("content", type=Path, help="an image, a folder of frames, an animated GIF/WebP or a video")
    p.add_argument("styles", type=Path, nargs="+", metavar="STYLE")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--alpha", type=float, default=defaults.ALPHA, help="style strength in [0, 1] (default %(default)s)")
    p.add_argument("--weights", type=float, nargs="+", help="mixing weights, one per style")
    p.add_argument("--mask", type=Path, nargs="+", dest="masks", help="one mask image per style (white = this style)")
    p.add_argument("--max-size", type=int, default=defaults.MAX_SIZE, help="long side of the output (default %(default)s)")
    p.add_argument("--style-size", type=int, default=defaults.STYLE_SIZE,
                   help="long side the style is encoded at (default %(default)s)")
    p.add_argument("--decoder", type=Path, help="decoder weights (.npz); default: the shipped ones")
    p.add_argument("--model", type=Path, help="use a TF-Hub module (Magenta convention) instead of the decoder")
    p.add_argument("--temporal", choices=temporal.TEMPORAL_MODES, default=temporal.TEMPORAL,
                   help="frame sequences: align (default) keeps the scene on the network's grid as the camera moves "
                        "and still regions still; flow blends along optical flow (softer strokes); off stylizes "
                        "each frame alone (adain.temporal)")
    _add_runtime(p)
    _add_color(p)

    p = sub.add_parser("stylize-dataset", help="stylize every image of a folder tree in styles drawn from a folder "
                       "(Stylized-ImageNet), on Ray Data: this machine or a Ray cluster")
    p.add_argument("content_dir", type=Path, metavar="CONTENT_DIR", help="the dataset (recursive; folders are kept)")
    p.add_argument("style_dir", type=Path, metavar="STYLE_DIR", help="the paintings")
    p.add_argument("output_dir", type=Path, metavar="OUTPUT_DIR", help="stylized copies, manifest.csv, errors.csv")
    p.add_argument("--styles-per-image", type=int, default=1, metavar="N", help="copies of each image, each in another style")
    p.add_argument("--seed", type=int, default=0, help="seed of the style and alpha assignment (default %(default)s)")
    p.add_argument("--alpha", type=float, default=defaults.ALPHA, help="style strength in [0, 1] (default %(default)s)")
    p.add_argument("--alpha-range", type=float, nargs=2, metavar=("LO", "HI"), help="draw each output's alpha from [LO, HI]")
    p.add_argument("--max-size", type=int, default=defaults.MAX_SIZE, help="long side of the outputs (default %(default)s)")
    p.add_argument("--style-size", type=int, default=defaults.STYLE_SIZE,
                   help="long side the styles are encoded at (default %(default)s)")
    p.add_argument("--format", dest="fmt", choices=("jpg", "png"),
                   help="output format (jpg at quality 95); default: each content's own")
    p.add_argument("--decoder", type=Path, help="decoder weights (.npz); default: the shipped ones")
    p.add_argument("--overwrite", action="store_true", help="redo outputs that exist (default: skip them, so a re-run resumes)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any content file could not be used")
    p.add_argument("--address", help="a Ray cluster to run on (default: RAY_ADDRESS, else a local Ray for this run)")
    p.add_argument("--workers", type=int, help="stylizer processes (default: as many as the cluster's CPUs hold)")
    p.add_argument("--cpus-per-worker", type=int, help="CPUs Ray reserves for each worker (default 1: the fastest "
                   "measured; each holds a stylizer, ~300 MB)")
    _add_runtime(p)
    _add_color(p)

    p = sub.add_parser("doctor", help="time the installed runtimes on this machine and make the fastest the default")
    p.add_argument("--all", action="store_true", help="also the TensorFlow runtimes (keras, onnx): their import takes seconds")
    p.add_argument("--size", type=int, default=512, help="side of the square test image (default %(default)s)")
    p.add_argument("--repeats", type=int, default=3, help="timed calls of each kind (default %(default)s)")

    p = sub.add_parser("optimize", help="classic Gatys et al. optimisation (slow, no decoder needed)")
    p.add_argument("content", type=Path)
    p.add_argument("style", type=Path)
    p.add_argument("-o", "--output", type=Path, required=True)
    _add_config_fields(p, defaults.ClassicPreset)
    _add_color(p)

    p = sub.add_parser("train", help="train a decoder on two folders of images (resumable)")
    _add_config_fields(p, TrainConfig)
    p.add_argument("--resume", action="store_true", help="continue the run in --out if it has a checkpoint")

    p = sub.add_parser("export", help="export the stylizer (TF-Hub SavedModel, or ONNX encoder + decoder)")
    p.add_argument("out", type=Path, help="output folder")
    p.add_argument("--format", choices=("tfhub", "onnx"), default="tfhub",
                   help="tfhub: one SavedModel (Magenta convention); onnx: encoder.onnx (RGB 0-255 -> the VGG19 features "
                        "the decoder reads: relu4_1, and relu3_1..relu1_1 for a multi-level decoder such as the shipped one) "
                        "and decoder.onnx (features -> RGB 0-255), AdaIN between them is yours")
    p.add_argument("--alpha-input", action="store_true", help="tfhub: add a style-strength input")
    p.add_argument("--decoder", type=Path, help="decoder weights (.npz); default: the shipped ones")

    p = sub.add_parser("evaluate", help="content and style loss of a decoder on content/style pairs")
    p.add_argument("--pairs", nargs="+", required=True, metavar="CONTENT:STYLE", help="pairs of image paths")
    p.add_argument("--decoder", type=Path, help="decoder weights (.npz); default: the shipped ones")
    p.add_argument("--size", type=int, default=defaults.EVAL_SIZE, help="centre-crop size of both images (default %(default)s)")
    _add_runtime(p)
    return parser


def _progress(total: int):
    from tqdm import tqdm

    bar = tqdm(total=total, unit="step", dynamic_ncols=True)

    def callback(step, losses, _image):
        bar.update(1)
        bar.set_postfix(loss=f"{losses['total']:.4g}")
    return bar, callback


def _check_inputs(args: argparse.Namespace) -> None:
    """What a command can check before TensorFlow loads (3-5 s): its images, folders and decoder file."""
    from adain.data import list_images
    from adain.image_io import load_image
    from adain.runtimes.choice import decoder_file

    if args.command == "optimize":
        load_image(args.content), load_image(args.style)
    elif args.command == "evaluate":
        for paths in (pair.rsplit(":", 1) for pair in args.pairs):
            for path in paths if len(paths) == 2 else ():  # a pair without ":" is the library's error to name
                load_image(path)
    elif args.command == "train":
        list_images(args.content_dir), list_images(args.style_dir)
    if args.command in ("evaluate", "export", "stylize") and getattr(args, "decoder", None):
        decoder_file(args.decoder)


def _load_tensorflow_quietly() -> None:
    """Import TensorFlow (where Keras runs on it) with its native start-up lines kept off stderr: it prints
    oneDNN and CUDA-stub notices before its logging starts, whatever TF_CPP_MIN_LOG_LEVEL says, and a
    command's output should be its own. Python errors of the import still reach stderr."""
    import importlib.util

    if (os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow" or "tensorflow" in sys.modules
            or importlib.util.find_spec("tensorflow") is None):
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)


TENSORFLOW_COMMANDS = ("optimize", "train", "export", "evaluate")  # also stylize --model / a TensorFlow runtime, doctor --all


def _run(args: argparse.Namespace) -> int:
    _check_inputs(args)
    if args.command == "train":
        from adain.train.distributed import World

        if World.from_env().parallel:  # under torchrun: DistributedDataParallel needs the torch backend
            os.environ.setdefault("KERAS_BACKEND", "torch")
    if (args.command in TENSORFLOW_COMMANDS or getattr(args, "model", None) or getattr(args, "all", False)
            or getattr(args, "runtime", None) in ("keras", "onnx")):
        _load_tensorflow_quietly()
    if args.command == "stylize":
        from adain import frames
        from adain.stylizer import Stylizer

        stylizer = Stylizer.from_hub(args.model) if args.model else Stylizer.load(args.decoder, runtime=args.runtime)
        if frames.is_sequence(args.content):
            _stylize_sequence(stylizer, args)
            return
        image = stylizer.stylize(args.content, [str(s) for s in args.styles], alpha=args.alpha, weights=args.weights,
                                 preserve_color=args.preserve_color, masks=[str(m) for m in args.masks] if args.masks else None,
                                 max_size=args.max_size, style_size=args.style_size)
        _save(image, args.output)
    elif args.command == "stylize-dataset":
        from adain.dataset import stylize_dataset

        report = stylize_dataset(args.content_dir, args.style_dir, args.output_dir, styles_per_image=args.styles_per_image,
                                 seed=args.seed, alpha=args.alpha, alpha_range=args.alpha_range, max_size=args.max_size,
                                 style_size=args.style_size, preserve_color=args.preserve_color, runtime=args.runtime,
                                 decoder=args.decoder, fmt=args.fmt, overwrite=args.overwrite, address=args.address,
                                 workers=args.workers, cpus_per_worker=args.cpus_per_worker)
        print(report.summary())
        if report.failed:
            print(f"unusable content files are listed in {args.output_dir / 'errors.csv'}")
            if args.strict:
                return 1
    elif args.command == "doctor":
        from adain.runtimes import choice as doctor

        print(doctor.table(doctor.measure(doctor.MEASURED if args.all else doctor.FAST_PATH, args.size, args.repeats)))
    elif args.command == "optimize":
        from adain.gatys import optimize

        bar, callback = _progress(args.steps)
        with bar:
            image = optimize(args.content, args.style, preserve_color=args.preserve_color, callback=callback,
                             **{f.name: getattr(args, f.name) for f in fields(defaults.ClassicPreset)})
        _save(image, args.output)
    elif args.command == "train":
        from adain.train import Trainer, distributed

        world = distributed.World.from_env()

        config = TrainConfig(**{f.name: getattr(args, f.name) for f in fields(TrainConfig)})
        Trainer(config, resume=args.resume, world=world).fit()
        distributed.leave(world)
    elif args.command == "export":
        from adain.runtimes.hub import export_tfhub
        from adain.runtimes.onnx import export_onnx
        from adain.stylizer import Stylizer

        stylizer = Stylizer.load(args.decoder, runtime="keras")  # exports read the Keras models
        if args.format == "onnx":
            paths = export_onnx(stylizer.encoder, stylizer.decoder, args.out)
            print("wrote " + ", ".join(str(p) for p in paths))
        else:
            out = export_tfhub(stylizer, args.out, alpha_input=args.alpha_input)
            print(f"wrote TF-Hub SavedModel to {out}")
    elif args.command == "evaluate":
        from adain.evaluate import evaluate_files

        for line in evaluate_files(args.pairs, args.decoder, args.size, args.runtime):
            print(line)


def _stylize_sequence(stylizer, args: argparse.Namespace) -> None:
    """Frames in, frames out, the style encoded once."""
    from tqdm import tqdm

    from adain import frames

    if len(args.styles) != 1 or args.masks or args.weights:
        raise ValueError("frame sequences take exactly one style (no --weights or --mask)")
    frames.check_output(args.content, args.output)
    sequence = frames.read_frames(args.content)
    names = [p.name for p in sequence.frames] if args.content.is_dir() else None

    def with_progress():  # the bar starts with the first frame, once stylize_frames has checked the options
        with tqdm(sequence.frames, total=sequence.count, unit="frame", dynamic_ncols=True) as bar:
            yield from bar

    out = stylizer.stylize_frames(with_progress(), args.styles[0], alpha=args.alpha, preserve_color=args.preserve_color,
                                  max_size=args.max_size, style_size=args.style_size, temporal=args.temporal)
    count = frames.write_frames(out, args.output, sequence.fps, names, audio=sequence.audio)
    print(f"wrote {count} frames to {args.output}")


def _save(image, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(image, path)
    except (OSError, ValueError) as exc:
        raise ImageError(f"cannot write '{path}': {exc}") from None
    print(f"wrote {path} ({image.width}x{image.height})")


def main(argv: list[str] | None = None) -> int:
    """Run the `adain` command line; returns the exit status (0, 2 for bad input, 130 when interrupted)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    args = _parser().parse_args(argv)
    map_large_blocks()
    try:
        status = _run(args)
    except ModuleNotFoundError as exc:
        if install_hint(exc) is None:
            raise
        print(f"adain: error: `adain {args.command}` needs {exc.name}, which is not installed: {install_hint(exc)}",
              file=sys.stderr)
        return 2
    except (ImageError, ValueError, FileNotFoundError, FileExistsError, RuntimeUnavailable) as exc:
        print(f"adain: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("adain: interrupted", file=sys.stderr)
        return 130
    return status or 0


def run() -> None:
    """The console script: `main()`, then the process ends without Python's teardown, which after a
    stylization spends ~70 ms unloading OpenVINO (a tenth of a whole `adain stylize` at 512²). Outputs
    are closed by then; stdout and stderr are flushed here."""
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    run()
