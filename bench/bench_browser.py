"""Time the in-browser page (web/) in headless Chromium on this machine: 512-px stylizations with a new
style each time, WASM (this machine's Chromium has no GPU), and what the page downloads.

    python bench/bench_browser.py [--runs 3]   # -> bench/results/browser.json

The page is served over loopback with no network; times are the page's own (canvas#result's data-ms:
decoding both images, the two graphs, AdaIN and drawing the result), after the models are loaded, and
where they go (its data-stages: images, encoder, decoder, the rest of the pipeline, drawing; medians).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from browser_page import browser_page, serve, site, status, stylize_in_page  # noqa: E402
from machine import machine, save_result  # noqa: E402

EXAMPLES = ROOT / "demo" / "examples"
CONTENT = EXAMPLES / "content" / "1_astronaut.jpg"  # 512x512
STYLES = sorted((EXAMPLES / "styles").glob("*.jpg"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="stylizations, each with another style")
    args = parser.parse_args()
    folder = site()
    model_bytes = sum(p.stat().st_size for p in (folder / "models").iterdir())
    runs, stages = [], []
    with serve(folder) as url, browser_page(url) as page:
        t0 = time.perf_counter()
        for i in range(args.runs + 1):  # the first includes loading the models and the runtime
            _, ms = stylize_in_page(page, CONTENT, STYLES[i % len(STYLES)], size=512)
            runs.append(ms)
            stages.append(json.loads(page.get_attribute("canvas#result", "data-stages")))
            if i == 0:
                first_s = time.perf_counter() - t0
        backend = status(page).split(" on ", 1)[-1].rstrip(".")
    result = {"machine": machine(), "size": 512, "backend": backend, "model_mb": round(model_bytes / 1e6, 2),
              "first_click_to_result_s": round(first_s, 2), "first_stylization_ms": runs[0],
              "new_style_ms": runs[1:], "new_style_median_s": round(sorted(runs[1:])[len(runs[1:]) // 2] / 1000, 2),
              "new_style_stages_ms": {k: sorted(s[k] for s in stages[1:])[len(stages[1:]) // 2] for k in stages[0]}}
    print(json.dumps(result, indent=1))
    save_result("browser.json", result)


if __name__ == "__main__":
    main()
