"""Stylize whole datasets on Ray Data, on this machine or a Ray cluster: every image of a folder tree in
styles drawn from a folder of paintings (Stylized-ImageNet, `bethgelab/stylize-datasets`).

The same program runs on a laptop (a local Ray started for the run and stopped after it) and on a
cluster (`address=`, or RAY_ADDRESS): Ray Data schedules, streams and retries; nothing here is a pool
or a queue of its own.

- The assignment is a pure function of (seed, the content's path relative to CONTENT_DIR, the sorted
  style list): every content gets `styles_per_image` different styles and, with `alpha_range`, an
  alpha each, drawn by a generator seeded with both, so any machine and any number of workers give the
  same dataset (`assign`).
- Outputs keep the content's relative folder, named `<content stem>-stylized-<style stem>.<ext>` as
  stylize-datasets names them; each is written under a temporary name and renamed when whole, so a
  killed run leaves only whole files, and running the same command again skips them (`overwrite`
  redoes all). A worker process that dies is restarted by the engine and its work redone.
- Styles are decoded and encoded once per run by the driver (`Stylizer.encode_style`: a few KB each)
  and handed to the workers through the object store; each worker loads its stylizer once
  (`StylizeBatch`, a callable class for `map_batches`).
- A content file that cannot be used (empty, truncated, not an image, a decompression bomb, too
  small) is listed in OUTPUT_DIR/errors.csv with the reason, and the rest is done; a style that cannot
  be read, or more styles per image than there are styles, stops the run before any work.
- OUTPUT_DIR/manifest.csv has one row per output (content, style, alpha, output: paths relative to
  CONTENT_DIR, STYLE_DIR and OUTPUT_DIR), sorted, so a dataset can be audited and rebuilt.

Needs `pip install 'adain[dataset]'` (Ray Data).
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from adain.defaults import ALPHA, MAX_SIZE, STYLE_SIZE
from adain.data import list_images
from adain.image_io import ImageError, ImageLike, load_image, save_image
from adain.pipeline import check_alpha
from adain.train.state import write_atomic

FORMATS = ("jpg", "png")  # --format; without it an output keeps its content's format
MANIFEST, ERRORS = "manifest.csv", "errors.csv"
MANIFEST_COLUMNS = ("content", "style", "alpha", "output")
ROWS_PER_BLOCK = 8  # contents per Ray Data block (task): small enough to spread a dataset, large enough to stream


def _listing(folder: Path) -> list[str]:
    """Every image under `folder` (`adain.data.list_images`), as sorted paths relative to it, POSIX style."""
    return sorted(p.relative_to(folder).as_posix() for p in list_images(folder))


@dataclass(frozen=True)
class Plan:
    """What one run makes: the rule from a content's relative path to its outputs (`assign`).

    Args:
        styles: the style files, relative to STYLE_DIR, sorted.
        styles_per_image: outputs per content, each in another style.
        seed: the assignment's seed.
        alpha: style strength of every output, unless `alpha_range` is given.
        alpha_range: (lo, hi): an alpha drawn per output, uniformly, with the same seeded rule.
        fmt: "jpg", "png" or None (the content's own format).
    """

    styles: tuple[str, ...]
    styles_per_image: int = 1
    seed: int = 0
    alpha: float = ALPHA
    alpha_range: tuple[float, float] | None = None
    fmt: str | None = None

    def __post_init__(self) -> None:
        if self.styles_per_image < 1:
            raise ValueError(f"styles per image must be at least 1, got {self.styles_per_image}")
        if self.styles_per_image > len(self.styles):
            raise ValueError(f"{self.styles_per_image} styles per image, but the style folder holds only "
                             f"{len(self.styles)} styles")
        check_alpha(self.alpha)
        if self.alpha_range is not None:
            lo, hi = self.alpha_range
            check_alpha(lo)
            check_alpha(hi)
            if lo > hi:
                raise ValueError(f"alpha range must be LO HI with LO <= HI, got {lo} {hi}")
        if self.fmt not in (None, *FORMATS):
            raise ValueError(f"format must be one of {FORMATS}, got {self.fmt!r}")
        stems: dict[str, str] = {}
        for style in self.styles:
            other = stems.setdefault(Path(style).stem, style)
            if other != style:
                raise ValueError(f"styles {other!r} and {style!r} share the name {Path(style).stem!r}, which names "
                                 "the outputs: rename one")

    def assign(self, content: str) -> list[dict[str, Any]]:
        """The outputs of one content (its path relative to CONTENT_DIR): manifest rows.

        >>> Plan(("a.jpg", "b.png", "c.jpg"), styles_per_image=2, seed=1).assign("dogs/rex.PNG")[0]["output"]
        'dogs/rex-stylized-c.PNG'
        """
        digest = int.from_bytes(hashlib.sha1(content.encode()).digest()[:8], "big")
        rng = np.random.default_rng([self.seed, digest])
        picks = rng.choice(len(self.styles), self.styles_per_image, replace=False)
        alphas = (rng.uniform(*self.alpha_range, self.styles_per_image) if self.alpha_range
                  else np.full(self.styles_per_image, self.alpha))
        path = Path(content)
        suffix = f".{self.fmt}" if self.fmt else path.suffix
        return [{"content": content, "style": self.styles[i], "alpha": round(float(a), 4),
                 "output": path.with_name(f"{path.stem}-stylized-{Path(self.styles[i]).stem}{suffix}").as_posix()}
                for i, a in zip(picks, alphas)]


class StylizeBatch:
    """A Ray Data step: stylize the images of a batch, one stylizer per worker, styles encoded once.

    For `Dataset.map_batches` (a callable class: Ray Data makes one per worker process). The batch has
    a column "image" (HxWx3 uint8 arrays, as `ray.data.read_images` gives) and a column "style" (keys of
    `styles`); an "alpha" column, where there is one, overrides `alpha` per row. The stylized images
    replace "image"; the other columns pass through.

    Args:
        styles: {name: EncodedStyle or style image}, or a Ray object reference to such a dict
            (`ray.put`: encode once in the driver, share with every worker). Style images are encoded
            here, once per worker.
        decoder: decoder weights (.npz); None for the shipped ones.
        runtime: as in `Stylizer.load`; None: the fastest installed. Encoded styles must come from the
            same runtime.
        alpha: style strength, as in `Stylizer.stylize`.
        max_size: long side of the outputs.
        style_size: long side style images are encoded at.
        preserve_color: as in `Stylizer.stylize` (then `styles` must be images, not encoded).

    Example:

    ```python
    import ray
    from adain import Stylizer
    from adain.dataset import StylizeBatch

    styles = {"starry": Stylizer.load().encode_style("starry_night.jpg")}
    ds = ray.data.read_images("photos/", mode="RGB")
    ds = ds.map_batches(lambda b: {**b, "style": ["starry"] * len(b["image"])})
    ds = ds.map_batches(StylizeBatch, fn_constructor_kwargs={"styles": ray.put(styles), "max_size": 512},
                        batch_size=1, concurrency=1)
    ds.write_images("stylized/", column="image", file_format="png")
    ```
    """

    def __init__(self, styles, decoder: str | Path | None = None, runtime: str | None = None, alpha: float = ALPHA,
                 max_size: int | None = MAX_SIZE, style_size: int | None = STYLE_SIZE, preserve_color: str | None = None):
        from adain.stylizer import EncodedStyle, Stylizer

        if not isinstance(styles, dict):
            import ray

            styles = ray.get(styles)
        self.stylizer = Stylizer.load(decoder, runtime=runtime)
        self.options = {"max_size": max_size, "style_size": style_size, "preserve_color": preserve_color}
        self.alpha = alpha
        self.styles = {name: s if isinstance(s, EncodedStyle) or preserve_color else self.stylizer.encode_style(s, style_size)
                       for name, s in styles.items()}

    def stylize(self, image: ImageLike, style: str, alpha: float | None = None) -> np.ndarray:
        """One image in the style named `style`, as a uint8 array."""
        return np.asarray(self.stylizer.stylize(image, self.styles[style], alpha=self.alpha if alpha is None else alpha,
                                                **self.options))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, Any]:
        alphas = batch.get("alpha", [None] * len(batch["style"]))
        images = [self.stylize(image, str(style), None if a is None else float(a))
                  for image, style, a in zip(batch["image"], batch["style"], alphas)]
        return {**batch, "image": images}


class StylizeFiles(StylizeBatch):
    """`StylizeBatch` over files: each row a content path relative to `content_dir`; every output of
    it (`Plan.assign`) that is not on disk yet (or all, with `overwrite`) is stylized and written
    whole (`save_image`). Returns one row per output: its manifest columns and a status, "done",
    "skipped" (already there) or "failed" with the reason (the content could not be used)."""

    def __init__(self, styles, plan: Plan, content_dir: str, output_dir: str, overwrite: bool = False, **options):
        super().__init__(styles, **options)
        self.plan, self.overwrite = plan, overwrite
        self.content_dir, self.output_dir = Path(content_dir), Path(output_dir)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list]:
        rows = []
        for content in batch["content"]:
            outputs = self.plan.assign(str(content))
            todo = [o for o in outputs if self.overwrite or not (self.output_dir / o["output"]).exists()]
            rows += [{**o, "status": "skipped", "reason": ""} for o in outputs if o not in todo]
            if not todo:
                continue
            try:
                image = load_image(self.content_dir / str(content))
                for o in todo:
                    out = self.output_dir / o["output"]
                    out.parent.mkdir(parents=True, exist_ok=True)
                    save_image(self.stylizer.stylize(image, self.styles[o["style"]], alpha=o["alpha"], **self.options), out)
                    rows.append({**o, "status": "done", "reason": ""})
            except ImageError as exc:
                rows += [{**o, "status": "failed", "reason": str(exc)} for o in todo
                         if not any(r["output"] == o["output"] for r in rows)]
        return {k: [r[k] for r in rows] for k in (*MANIFEST_COLUMNS, "status", "reason")}


@dataclass
class Report:
    """What a `stylize_dataset` run did: outputs written, skipped (already there), failed (with
    errors.csv), and its wall time (Ray's start-up apart)."""

    done: int
    skipped: int
    failed: int
    wall_s: float
    startup_s: float
    first_s: float = 0.0  # from the end of start-up to the first result (the workers loading their stylizers)

    @property
    def images_per_s(self) -> float:
        """Outputs written per second of the run after start-up."""
        return self.done / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def steady_images_per_s(self) -> float:
        """Outputs per second once the first result is in (the workers loaded): the rate a long run keeps."""
        return (self.done - 1) / (self.wall_s - self.first_s) if self.done > 1 and self.wall_s > self.first_s else 0.0

    def summary(self) -> str:
        return (f"{self.done} stylized, {self.skipped} skipped (already there), {self.failed} failed; "
                f"{self.wall_s:.1f} s ({self.images_per_s:.2f} images/s) after {self.startup_s:.1f} s of start-up")


def _write_csv(path: Path, columns: Sequence[str], rows: list[dict]) -> None:
    """A CSV file written whole (temporary name, renamed)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, text.getvalue())


CPUS_PER_WORKER = 1  # bench/results/dataset.json: on 2 vCPUs two 1-CPU workers beat one 2-CPU worker (10.3 / 9.4 images/s at 256 px)


def _cluster_workers(cpus_per_worker: int | None, workers: int | None) -> tuple[int, int]:
    """(workers, CPUs each): by default a worker per CPUS_PER_WORKER CPUs of every node."""
    import ray

    cpus = [int(n["Resources"].get("CPU", 0)) for n in ray.nodes() if n.get("Alive")]
    per = cpus_per_worker or CPUS_PER_WORKER
    return workers or max(1, sum(c // per for c in cpus)), per


def stylize_dataset(content_dir: str | Path, style_dir: str | Path, output_dir: str | Path, *, styles_per_image: int = 1,
                    seed: int = 0, alpha: float = ALPHA, alpha_range: tuple[float, float] | None = None,
                    max_size: int | None = MAX_SIZE, style_size: int | None = STYLE_SIZE,
                    preserve_color: str | None = None, runtime: str | None = None, decoder: str | Path | None = None,
                    fmt: str | None = None, overwrite: bool = False, address: str | None = None,
                    workers: int | None = None, cpus_per_worker: int | None = None, progress: bool = True) -> Report:
    """Stylize every image under `content_dir` in styles from `style_dir` into `output_dir` (module
    docstring: naming, resume, manifest, errors), on Ray Data.

    Args:
        content_dir: the dataset (searched recursively; its folder structure is kept).
        style_dir: the paintings.
        output_dir: where the stylized dataset, manifest.csv and errors.csv go.
        styles_per_image: stylized copies of each image, each in another style.
        seed: the seed of the style (and alpha) assignment.
        alpha: style strength of every output.
        alpha_range: (lo, hi): draw each output's alpha uniformly from it instead.
        max_size: long side of the outputs, as in `Stylizer.stylize`.
        style_size: long side the styles are encoded at.
        preserve_color: None, "luminance" or "histogram" (the styles are then prepared per image).
        runtime: as in `Stylizer.load` (None: the fastest installed).
        decoder: decoder weights (.npz); None for the shipped ones.
        fmt: "jpg" (quality 95) or "png"; None keeps each content's format.
        overwrite: redo outputs that already exist (otherwise they are skipped: a re-run resumes).
        address: a Ray cluster's address ("auto", "ray://host:10001", host:port); None: RAY_ADDRESS, else
            a local Ray started for this run and stopped after it.
        workers: stylizer processes (default: as many as the cluster's CPUs hold).
        cpus_per_worker: CPUs Ray reserves for each (default CPUS_PER_WORKER, 1: the fastest measured;
            each worker holds a stylizer, about 300 MB).
        progress: show a progress bar (images per second, time left).

    Returns:
        A `Report` (done, skipped, failed, timings).

    Example:

    ```python
    from adain.dataset import stylize_dataset

    report = stylize_dataset("imagenet/train", "paintings/", "stylized-imagenet/", fmt="jpg", max_size=512)
    print(report.summary())
    ```
    """
    import ray

    from adain.stylizer import Stylizer

    content_dir, style_dir, output_dir = Path(content_dir), Path(style_dir), Path(output_dir)
    plan = Plan(tuple(_listing(style_dir)), styles_per_image, seed, alpha,
                tuple(alpha_range) if alpha_range else None, fmt)
    contents = _listing(content_dir)
    if output_dir.resolve() == content_dir.resolve():
        raise ValueError(f"the output folder {output_dir} is the content folder: choose another")
    local = Stylizer.load(decoder, runtime=runtime)  # the styles are encoded once, here: a bad one stops the run now
    styles = {s: (load_image(style_dir / s) if preserve_color else local.encode_style(style_dir / s, style_size))
              for s in plan.styles}
    output_dir.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    address = address or os.environ.get("RAY_ADDRESS")
    ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    try:
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # ours counts outputs; Ray Data's own logs only what goes wrong
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        n_workers, per = _cluster_workers(cpus_per_worker, workers)
        ds = ray.data.from_items([{"content": c} for c in contents],
                                 override_num_blocks=max(1, min(len(contents), -(-len(contents) // ROWS_PER_BLOCK))))
        # Ray Data restarts a worker process that dies and redoes its batch (its actors' defaults)
        ds = ds.map_batches(StylizeFiles, batch_size=1, compute=ray.data.ActorPoolStrategy(size=n_workers), num_cpus=per,
                            fn_constructor_kwargs={"styles": ray.put(styles), "plan": plan, "content_dir": str(content_dir),
                                                   "output_dir": str(output_dir), "overwrite": overwrite,
                                                   "decoder": decoder, "runtime": runtime, "max_size": max_size,
                                                   "style_size": style_size, "preserve_color": preserve_color})
        startup = time.perf_counter() - started
        rows, first = _collect(ds, len(contents) * styles_per_image, progress)
        wall = time.perf_counter() - started - startup
    finally:
        ray.shutdown()  # a local Ray stops; a cluster is only disconnected from
    _write_csv(output_dir / MANIFEST, MANIFEST_COLUMNS, sorted((r for r in rows if r["status"] != "failed"),
                                                                key=lambda r: r["output"]))
    failed = sorted({(r["content"], r["reason"]) for r in rows if r["status"] == "failed"})
    _write_csv(output_dir / ERRORS, ("content", "reason"), [{"content": c, "reason": why} for c, why in failed])
    count = {status: sum(r["status"] == status for r in rows) for status in ("done", "skipped")}
    return Report(count["done"], count["skipped"], len(failed), wall, startup, first - started - startup)


def _collect(ds, total: int, progress: bool) -> tuple[list[dict], float]:
    """Run the dataset, streaming: its result rows and when the first came (perf_counter); the bar
    counts outputs per second."""
    from tqdm import tqdm

    rows, first = [], None
    with tqdm(total=total, unit="image", dynamic_ncols=True, disable=not progress) as bar:
        for batch in ds.iter_batches(batch_size=None, batch_format="numpy"):
            first = first or time.perf_counter()
            new = [dict(zip(batch, values)) for values in zip(*batch.values())]
            rows += [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in new]
            bar.update(len(new))
    return rows, first or time.perf_counter()
