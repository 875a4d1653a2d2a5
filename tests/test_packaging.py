"""The wheel carries the weights: built from this checkout and installed elsewhere, it stylizes."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args, **kw):
    return subprocess.run([sys.executable, *args], check=True, capture_output=True, text=True, **kw)


def test_wheel_installed_outside_the_checkout_stylizes(tmp_path):
    run("-m", "pip", "wheel", "-q", str(ROOT), "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"))
    wheel = next((tmp_path / "dist").glob("adain-*.whl"))
    assert wheel.stat().st_size > 10 * 2**20  # the VGG19 and decoder weights are inside
    run("-m", "pip", "install", "-q", "--no-deps", "--target", str(tmp_path / "site"), str(wheel))
    installed = {p.relative_to(tmp_path / "site").as_posix() for p in (tmp_path / "site" / "adain").rglob("*.py")}
    source = {p.relative_to(ROOT).as_posix() for p in (ROOT / "adain").rglob("*.py")} | {"adain/weights/__init__.py"}
    assert installed == source  # every module and subpackage, nothing stale
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code = ("import numpy as np, adain; from adain import Stylizer; "
            "rng = np.random.default_rng(0); photo = rng.integers(0, 255, (40, 56, 3), np.uint8); "
            "out = Stylizer.load().stylize(photo, rng.integers(0, 255, (64, 64, 3), np.uint8), max_size=None); "
            "import sys; print(adain.__file__, out.size, float(np.asarray(out).std()), "
            "sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    env = {"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "3",
           "HOME": str(tmp_path)}
    module, *size, std, frameworks = run("-c", code, cwd=elsewhere, env=env).stdout.split()
    assert module.startswith(str(tmp_path / "site"))  # the installed copy, not this checkout
    assert frameworks == "[]"  # Stylizer.load()'s default runtime needs only the core install
    assert " ".join(size) == "(56, 40)" and float(std) > 1.0
    fixtures, out = ROOT / "tests" / "fixtures", tmp_path / "cli.png"
    cli = (f"from adain.cli import main; raise SystemExit(main(['stylize', {str(fixtures / 'content.png')!r}, "
           f"{str(fixtures / 'style.png')!r}, '-o', {str(out)!r}, '--max-size', '64']))")
    run("-c", cli, cwd=elsewhere, env=env)  # the installed command line, on its default runtime
    assert out.exists()


def test_import_and_help_load_no_tensorflow():
    code = ("import sys, adain, adain.cli; adain.cli._parser().format_help(); "
            "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    assert run("-c", code).stdout.strip() == "[]"
    assert "stylize" in run("-m", "adain.cli", "--help").stdout
    from adain import Stylizer  # noqa: F401 - the lazy attribute still resolves


def test_cli_stylize_on_the_default_runtime_loads_no_tensorflow(tmp_path, fixtures):
    """The default runtime (int8 ONNX) with the shipped weights: a whole `adain stylize` without TF or Keras."""
    out = tmp_path / "out.png"
    code = ("import sys; from adain.cli import main; "
            f"rc = main(['stylize', {str(fixtures / 'content.png')!r}, {str(fixtures / 'style.png')!r}, '-o', {str(out)!r}]); "
            "print(rc, sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
    assert run("-c", code).stdout.strip().splitlines()[-1] == "0 []"
    from PIL import Image

    assert Image.open(out).size == (96, 96)


def test_space_requirements_are_pinned_complete_and_minimal():
    """requirements.txt (the Space's install) pins exactly the direct dependencies of `.[demo]`, each to a
    version that pyproject's range allows."""
    from packaging.requirements import Requirement  # pytest's own dependency

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]

    def names(reqs):  # direct dependencies, following the package's own extras (adain[tf])
        out = {}
        for req in map(Requirement, reqs):
            if req.name == "adain":
                for extra in req.extras:
                    out.update(names(extras[extra]))
            else:
                out[req.name.lower()] = req.specifier
        return out

    needed = names(project["dependencies"] + extras["demo"])
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines[0] == ".[demo]"
    pins = {Requirement(ln).name.lower(): Requirement(ln) for ln in lines[1:]}
    assert set(pins) == set(needed), "requirements.txt must pin the demo's dependencies and nothing else"
    for name, req in pins.items():
        (spec,) = req.specifier
        assert spec.operator == "==", f"{name} is not pinned"
        assert needed[name].contains(spec.version), f"{name}=={spec.version} is outside pyproject's {needed[name]}"
    assert not {"matplotlib", "tf2onnx", "tensorflow-hub"} & set(pins)  # training, exports: not the Space's


def test_no_import_cycles():
    """The package's modules import each other as a DAG, counting imports inside functions too (a cycle
    hidden in a function is still a cycle)."""
    import ast

    package = ROOT / "adain"
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
               for p in package.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                deps |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                deps |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names}
        graph[name] = {d for d in deps if d in modules and d != name and d != "adain"}

    def cycle_from(node, path):
        if node in path:
            return path[path.index(node):] + [node]
        for dep in sorted(graph[node]):
            found = cycle_from(dep, path + [node])
            if found:
                return found
        return None

    for name in sorted(graph):
        assert cycle_from(name, []) is None, " -> ".join(cycle_from(name, []))
