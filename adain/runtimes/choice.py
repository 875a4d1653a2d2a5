"""The choice between the runtimes: `fastest_runtime`, the default of `Stylizer.load`, the CLI and the
demo, and `adain doctor`, which measures it on this machine and remembers it.

A rule from the CPU's instruction sets picked the default runtime and was wrong on a real Zen 4 (OpenVINO
1.5x faster there than the rule's onnx-int8). So the default is measured where it matters: `adain doctor`
times every installed runtime on this machine (a 512² stylization with a new style and with the style
cached, a few seconds in all), prints a table with the CPU's features, and stores the winner for this
CPU model and these package versions in the cache folder (`runtime.json`); `Stylizer.load()`, the CLI and
the demo then use it (`adain.stylizer.fastest_runtime`), never a timing on a user's first stylization.
`ADAIN_RUNTIME` overrides both.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

from adain.cpu import AMX_FLAGS, BF16_FLAGS, cpu_flags, cpu_model
from adain.errors import RuntimeUnavailable, install_hint
from adain.resources import SHIPPED_DECODER, cache_dir

WINNER_FILE = "runtime.json"
FAST_PATH = ("openvino", "onnx-int8")  # timed by default: the runtimes of the core install (no TensorFlow)
MEASURED = (*FAST_PATH, "onnx", "keras")  # with --all (TensorFlow's import and the ONNX export take seconds)
PACKAGES = ("adain", "onnxruntime", "openvino", "keras", "tensorflow")  # a stored winner holds for these versions


# runtime name -> (module, class, keyword arguments of its `load`)
RUNTIME_CLASSES: dict[str, tuple[str, str, dict]] = {
    "keras": ("adain.runtimes.keras", "KerasStylizer", {}),
    "onnx": ("adain.runtimes.onnx", "OnnxStylizer", {"int8": False}),
    "onnx-int8": ("adain.runtimes.onnx", "OnnxStylizer", {"int8": True}),
    "openvino": ("adain.runtimes.openvino", "OpenVinoStylizer", {}),
}
RUNTIMES = tuple(RUNTIME_CLASSES)
HUB_CLASS = ("adain.runtimes.hub", "HubStylizer")


FALLBACKS = ("onnx-int8", "keras")  # where the automatic choice goes when its runtime cannot be imported


def _class(module: str, name: str) -> type:
    """A runtime's class; an error that says which extra installs what it needs, or that names the
    runtime and what its import raised (`RuntimeUnavailable`)."""
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if install_hint(exc) is None:
            raise
        raise ModuleNotFoundError(f"{name} needs {exc.name}, which is not installed: {install_hint(exc)}",
                                  name=exc.name) from exc
    except (ImportError, OSError, RuntimeError, TypeError, AttributeError) as exc:  # what broken binaries raise
        raise RuntimeUnavailable(f"{module} cannot be imported here: {type(exc).__name__}: {exc}") from exc


def _load_runtime(runtime: str, decoder: Path, encoder_weights) :
    module, name, kwargs = RUNTIME_CLASSES[runtime]
    return _class(module, name).load(decoder, encoder_weights=encoder_weights, **kwargs)




def decoder_file(decoder: str | Path | None = None) -> Path:
    """The decoder weights to load: `decoder`, or the shipped ones for None; a missing file says what to do."""
    path = Path(decoder) if decoder is not None else SHIPPED_DECODER
    if not path.exists():
        raise FileNotFoundError(
            f"no trained decoder at {path}. Train one with `adain train --content DIR --style DIR "
            f"--out RUN` and pass RUN/best_decoder.npz as decoder=, or put one at {SHIPPED_DECODER}"
        )
    return path


def load_stylizer(decoder=None, encoder_weights="shipped", runtime: str | None = None):
    """`Stylizer.load`'s work (its docstring says what each argument does): the decoder checked, the
    runtime named or `fastest_runtime()`, falling back along FALLBACKS where an automatic choice cannot
    be imported here (with a warning naming why)."""
    if runtime is not None and runtime not in RUNTIME_CLASSES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    path = decoder_file(decoder)
    if runtime is not None:
        return _load_runtime(runtime, path, encoder_weights)
    choices = [fastest_runtime()]
    choices += [r for r in FALLBACKS if r not in choices]
    for i, choice in enumerate(choices):
        try:
            return _load_runtime(choice, path, encoder_weights)
        except (RuntimeUnavailable, ModuleNotFoundError) as exc:
            if i + 1 == len(choices):
                raise
            warnings.warn(f"runtime {choice!r} is unavailable ({exc}); using {choices[i + 1]!r}", RuntimeWarning,
                          stacklevel=3)


def load_hub(handle):
    """`Stylizer.from_hub`'s work: the TF-Hub runtime's stylizer of the module at `handle`."""
    return _class(*HUB_CLASS).load(handle)


NEEDS = {"openvino": ("openvino",), "onnx-int8": ("onnxruntime",), "onnx": ("onnxruntime", "tf2onnx", "keras"),
         "keras": ("keras",)}  # the packages each runtime of adain.stylizer.RUNTIMES imports


def installed(runtime: str) -> bool:
    """Whether the packages a runtime needs are installed (not whether they import)."""
    return all(importlib.util.find_spec(name) for name in NEEDS[runtime])


def fastest_runtime() -> str:
    """The default runtime of `Stylizer.load`, the CLI and the demo: `ADAIN_RUNTIME` where set; else the
    one `adain doctor` measured fastest on this CPU with these package versions (`measure`); else
    a rule that agrees with every machine measured: "openvino" where it is installed and the CPU has AMX
    or AVX-512 BF16 (AMX Xeon: a 512² stylization 0.13 s against onnx-int8's 0.57 s; Zen 4: 0.58-0.61 s
    against 0.73 s with a new style, 0.35 against 0.51 s cached), else "onnx-int8" (ONNX Runtime is a
    dependency; OpenVINO capped at AVX2 took 0.96 s against its 0.57 s), else "keras". Where the CPU's
    flags cannot be read (macOS, Windows) the rule does not choose OpenVINO; `adain doctor` can.

    Example: `Stylizer.load(runtime=fastest_runtime())` is what `Stylizer.load()` does.
    """

    chosen = os.environ.get("ADAIN_RUNTIME") or stored_winner()
    if chosen and (chosen not in NEEDS or installed(chosen)):
        return chosen  # an unknown name is refused by Stylizer.load with the list of runtimes
    if installed("openvino") and set(AMX_FLAGS + BF16_FLAGS) & cpu_flags():
        return "openvino"
    return "onnx-int8" if installed("onnx-int8") else "keras"


def machine_key() -> dict:
    """What a stored winner is valid for: this CPU model and the installed versions of PACKAGES."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu": cpu_model(), "versions": versions}


def stored_winner() -> str | None:
    """The runtime `adain doctor` measured fastest on this CPU with these package versions, if any."""
    try:
        saved = json.loads((cache_dir() / WINNER_FILE).read_text())
    except (OSError, ValueError):
        return None
    return saved.get("winner") if saved.get("key") == machine_key() else None


def _time_runtime(runtime: str, size: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    content = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    styles = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(repeats + 1)]
    t0 = time.perf_counter()
    stylizer = load_stylizer(runtime=runtime)
    load = time.perf_counter() - t0
    stylizer.stylize(content, styles[0], max_size=size)  # first call: compiles for the shape
    new, cached = [], []
    for style in styles[1:]:
        t0 = time.perf_counter()
        stylizer.stylize(content, style, max_size=size)
        new.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        stylizer.stylize(content, style, max_size=size)
        cached.append(time.perf_counter() - t0)
    return {"runtime": runtime, "load_s": round(load, 3), "new_style_s": round(float(np.median(new)), 4),
            "cached_style_s": round(float(np.median(cached)), 4)}


def measure(runtimes: tuple[str, ...] = FAST_PATH, size: int = 512, repeats: int = 3, store: bool = True) -> dict:
    """Time each installed runtime and (with `store`) remember the fastest for this machine.

    Args:
        runtimes: which to time, those installed of them (default FAST_PATH; MEASURED: all).
        size: side of the square test image, as the README's table measures (512).
        repeats: timed calls per kind (the medians are kept).
        store: write the winner to the cache folder for `fastest_runtime`.

    Returns:
        {"key": machine_key(), "flags": the CPU's matrix features, "rows": one timing per runtime, or its
        error, "winner": the runtime with the fastest cached-style call}.

    Example: `measure(size=256, repeats=1)["winner"]`.
    """
    rows = []
    for runtime in (r for r in runtimes if installed(r)):
        try:
            rows.append(_time_runtime(runtime, size, repeats))
        except Exception as exc:  # noqa: BLE001 - a runtime that fails here is reported, not chosen
            rows.append({"runtime": runtime, "error": f"{type(exc).__name__}: {exc}"[:200]})
    timed = [r for r in rows if "error" not in r]
    winner = min(timed, key=lambda r: (r["cached_style_s"], r["new_style_s"]))["runtime"] if timed else None
    flags = sorted(f for f in cpu_flags() if f in (*AMX_FLAGS, *BF16_FLAGS, "avx512f", "avx512_vnni", "avx_vnni", "avx2"))
    result = {"key": machine_key(), "flags": flags, "size": size, "rows": rows, "winner": winner}
    if store and winner:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{WINNER_FILE}.partial"
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(folder / WINNER_FILE)
    return result


def table(result: dict) -> str:
    """The measurement as the text `adain doctor` prints."""
    lines = [f"CPU: {result['key']['cpu']} ({', '.join(result['flags']) or 'no AVX2 or newer matrix features'})",
             f"{'runtime':<10} {'load':>8} {'new style ' + str(result['size']) + '²':>16} {'cached style':>14}"]
    for r in result["rows"]:
        if "error" in r:
            lines.append(f"{r['runtime']:<10} unavailable: {r['error']}")
        else:
            mark = "  <- fastest" if r["runtime"] == result["winner"] else ""
            lines.append(f"{r['runtime']:<10} {r['load_s']:>7.2f}s {r['new_style_s']:>15.3f}s {r['cached_style_s']:>13.3f}s{mark}")
    lines.append(f"stored: {result['winner']} is the default on this machine (ADAIN_RUNTIME overrides)"
                 if result["winner"] else "no runtime could be timed")
    return "\n".join(lines)
