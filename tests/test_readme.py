"""The README's Python and command-line sections run as written (so they stay true)."""

import re
import shlex
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from adain.cli import _parser, main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def section_block(title: str, language: str) -> str:
    """The first ```language block under the README heading `title`."""
    section = README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(rf"```{language}\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def readme_files(tmp_path, fixtures, monkeypatch):
    """The files the snippets name, small, in a fresh working folder."""
    content, style = Image.open(fixtures / "content.png").convert("RGB"), Image.open(fixtures / "style.png").convert("RGB")
    content.save(tmp_path / "photo.jpg")
    style.save(tmp_path / "painting.jpg")
    style.rotate(90).save(tmp_path / "a.jpg")
    Image.fromarray(255 - np.asarray(style)).save(tmp_path / "b.jpg")
    half = np.zeros((content.height, content.width), np.uint8)
    half[: content.height // 2] = 255
    Image.fromarray(half).save(tmp_path / "sky.png")
    Image.fromarray(255 - half).save(tmp_path / "ground.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


# What each option of the README's calls is compared with: the same call without it (the mix: the other way round).
CONTROLS = {"alpha": {}, "preserve_color": {}, "weights": {"weights": [0.7, 0.3]}, "masks": {}}


def _differs(a, b) -> bool:
    a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return a.shape != b.shape or np.abs(a - b).mean() > 1.0


def test_python_section_runs(readme_files, capsys, monkeypatch):
    """The block runs as written, and each option it shows changes the picture (the call without it differs)."""
    from adain.stylizer import Stylizer

    calls, stylize = [], Stylizer.stylize

    def recorded(self, content, style, **options):
        image = stylize(self, content, style, **options)
        calls.append((self, content, style, options, image))
        return image

    monkeypatch.setattr(Stylizer, "stylize", recorded)
    code = section_block("Python", "python")
    exec(compile(code, "README.md (Python)", "exec"), {})
    out = Image.open(readme_files / "out.png")
    assert out.size == Image.open(readme_files / "photo.jpg").size
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 100 and printed[-1].startswith("100 ")  # the optimize callback, once per step
    shown = [(name, call) for call in calls for name in call[3] if name in CONTROLS]
    assert sorted(name for name, _ in shown) == sorted(CONTROLS)
    for name, (stylizer, content, style, options, image) in shown:
        plain = {k: v for k, v in options.items() if k != name} | CONTROLS[name]
        assert _differs(image, stylize(stylizer, content, style, **plain)), name


def test_command_line_section_runs(readme_files):
    lines = [ln.split("  #")[0] for ln in section_block("Command line", "bash").splitlines() if ln.strip()]
    assert len(lines) >= 7 and all(ln.startswith("adain ") for ln in lines)
    for line in lines:
        argv = shlex.split(line)[1:]
        if argv[0] == "train":  # hours of training: its arguments are checked, not run
            args = _parser().parse_args(argv)
            assert (args.crop, args.steps, args.resume) == (128, 20000, True)
            continue
        assert main(argv) == 0, line
        args = _parser().parse_args(argv)
        if args.command == "stylize":  # the library's picture for the same arguments; without the options, another
            from adain import Stylizer

            stylizer = Stylizer.load(args.decoder, runtime=args.runtime)
            styles = [str(p) for p in args.styles] if len(args.styles) > 1 else str(args.styles[0])
            options = {"alpha": args.alpha, "weights": args.weights, "preserve_color": args.preserve_color,
                       "masks": [str(m) for m in args.masks] if args.masks else None}
            same = stylizer.stylize(str(args.content), styles, max_size=args.max_size, **options)
            assert not _differs(Image.open(args.output).convert("RGB"), same), line
            shown = {k: v for k, v in options.items() if v not in (None, 1.0)}
            assert shown, line
            for name in shown:
                plain = {k: v for k, v in options.items() if k != name} | CONTROLS[name]
                assert _differs(same, stylizer.stylize(str(args.content), styles, max_size=args.max_size, **plain)), line
    for name in ("out.png", "mix.png", "regions.png", "classic.png"):
        assert Image.open(readme_files / name).size == (96, 96), name
    assert sorted(p.name for p in (readme_files / "exported").iterdir()) == ["decoder.onnx", "encoder.onnx"]


DOCS = sorted((Path(__file__).resolve().parent.parent / "docs").glob("*.md"))


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_the_readme_is_short_and_shows_before_it_tells():
    """At most 150 lines, the results strip in the first 15, and every docs/ page linked from it."""
    lines = README.splitlines()
    assert len(lines) <= 150
    assert any("![" in ln and "docs/strip.jpg" in ln for ln in lines[:15])
    assert (Path(__file__).resolve().parent.parent / "docs" / "strip.jpg").exists()
    for page in DOCS:
        assert f"docs/{page.name}" in README, page.name


@pytest.mark.parametrize("page", DOCS, ids=lambda p: p.name)
def test_docs_snippets(page):
    """The docs pages' snippets hold as written: `adain` commands parse with the real parser (they run in
    their own tests: the dataset commands in tests/test_dataset.py, which needs Ray in a private network
    namespace), the scripts and benchmarks they name exist, and their Python compiles."""
    root = Path(__file__).resolve().parent.parent
    text = page.read_text()
    for block in code_blocks(text, "bash"):
        for line in (ln.split("  #")[0] for ln in block.splitlines() if ln.strip()):
            for command in (c.strip() for c in line.split("&&")):
                words = shlex.split(command)
                while "=" in words[0]:  # an environment variable for the command
                    words = words[1:]
                if words[0] == "torchrun":  # what torchrun starts in each process
                    words = words[words.index("--no-python") + 1:]
                if words[0] == "adain":
                    _parser().parse_args(words[1:])
                elif words[0] == "python":
                    assert (root / words[1]).exists(), command
    for block in code_blocks(text, "python"):
        compile(block, f"{page.name} (Python)", "exec")


def test_the_readme_training_commands_parse_as_written():
    """The data-parallel lines: torchrun's own options as torchrun parses them, then `adain train`'s."""
    from torch.distributed.run import get_args_parser

    lines = [ln for ln in section_block("Training your own decoder", "bash").splitlines() if ln.strip()]
    assert len(lines) == 2
    for line in lines:
        words = shlex.split(line)
        launcher = get_args_parser().parse_args(words[1:])
        assert launcher.no_python and launcher.training_script == "adain"
        args = _parser().parse_args(launcher.training_script_args)
        assert args.command == "train" and args.resume and args.batch % int(launcher.nproc_per_node) == 0


def test_dataset_commands_parse_as_written():
    parsed = [_parser().parse_args(shlex.split(ln)[1:]) for ln in
              code_blocks((Path(__file__).resolve().parent.parent / "docs" / "datasets.md").read_text(), "bash")[0].splitlines()
              if ln.strip()]
    assert [a.command for a in parsed] == ["stylize-dataset"] * 2
    assert (parsed[1].styles_per_image, parsed[1].alpha_range, parsed[1].seed, parsed[1].address) == (3, [0.5, 1.0], 7, "auto")


@pytest.mark.parametrize("module", ["adain.pipeline", "adain.train.config", "adain.train.schedule", "adain.decoder",
                                    "adain.image_io", "adain.dataset", "adain.train.clock",
                                    "adain.style_cache", "adain.temporal"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_every_public_name_is_documented_with_an_example():
    """adain.__all__ and the Stylizer contract: a docstring with an Example each, and every parameter of
    the public functions and methods under Args."""
    import inspect

    import adain
    from adain.stylizer import Stylizer

    for name in adain.__all__:
        assert "Example" in (inspect.getdoc(getattr(adain, name)) or ""), name
    from adain.dataset import StylizeBatch, stylize_dataset

    for fn in (adain.optimize, adain.load_image, Stylizer.load, Stylizer.from_hub, Stylizer.stylize, Stylizer.stylize_frames,
               Stylizer.encode_style, stylize_dataset, StylizeBatch):
        doc = inspect.getdoc(fn) or ""
        missing = [p for p in inspect.signature(fn).parameters if p not in ("self", "cls") and f"{p}:" not in doc]
        assert "Args:" in doc and "Example" in doc and not missing, (fn.__qualname__, missing)


def test_every_benchmark_has_help_and_help_writes_nothing():
    """`python bench/X.py --help` prints its usage and exits: it used to run (bench_classic, bench_train_step)
    and overwrite the committed results."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    results = {p: p.stat().st_mtime_ns for p in (root / "bench" / "results").iterdir()}
    scripts = [p for p in sorted((root / "bench").glob("*.py")) if '__name__ == "__main__"' in p.read_text()]
    assert len(scripts) >= 8
    for script in scripts:
        proc = subprocess.run([sys.executable, str(script), "--help"], capture_output=True, text=True, timeout=120, cwd=root)
        assert proc.returncode == 0 and "usage" in proc.stdout.lower(), (script.name, proc.stderr[-500:])
    assert {p: p.stat().st_mtime_ns for p in (root / "bench" / "results").iterdir()} == results
