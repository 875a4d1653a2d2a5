"""Training data: image folders, a held-out validation split, and a prefetching random-crop sampler.

Batches are a pure function of (seed, step), so a resumed run sees exactly the data order it would
have seen without the interruption, with any number of data-parallel processes. Unreadable files are
skipped and counted, never fatal.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from adain.image_io import IMAGE_SUFFIXES, ImageError, load_image


def list_images(folder: str | Path) -> list[Path]:
    """All image files under `folder` (recursive), sorted for reproducibility."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"not a folder: {folder}")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {folder}")
    return files


def split_holdout(files: list[Path], count: int) -> tuple[list[Path], list[Path]]:
    """(train, validation): the `count` files with the smallest name hash are held out.

    Hashing names (not positions) keeps the split stable when files are added to the folder.
    """
    ranked = sorted(files, key=lambda p: hashlib.sha1(p.name.encode()).hexdigest())
    held = set(ranked[:count])
    return [f for f in files if f not in held], [f for f in ranked[:count]]


def held_out(content_dir: str | Path, style_dir: str | Path, count: int) -> tuple[list[Path], list[Path]]:
    """The held-out contents and styles of two training folders (the validation split training never sees)."""
    return split_holdout(list_images(content_dir), count)[1], split_holdout(list_images(style_dir), count)[1]


def _scaled(img: Image.Image, scale: float, min_side: int, resample) -> Image.Image:
    """`img` resized by `scale`, each side at least `min_side` (so a crop of that size fits)."""
    return img.resize((max(min_side, round(img.width * scale)), max(min_side, round(img.height * scale))), resample)


def center_crop(img: Image.Image, size: int) -> np.ndarray:
    """Resize the short side to `size` and take the central size x size square, float32 RGB 0-255."""
    img = _scaled(img, size / min(img.size), size, Image.BICUBIC)
    left, top = (img.width - size) // 2, (img.height - size) // 2
    return np.asarray(img.crop((left, top, left + size, top + size)), np.float32)


def random_crop(img: Image.Image, size: int, rng: np.random.Generator, sharp: bool = False,
                augment: bool = False) -> np.ndarray:
    """Rescale so the short side is size x U(1, 2) (the paper's 512->256 ratio at most), crop, maybe flip.

    sharp: the short side goes to U(size, its own length) instead, so a crop is never upsampled
        (images smaller than `size` are still enlarged to fit).
    augment: also rotate by a multiple of 90 degrees and, half the time, permute the colour channels:
        a new style out of an old one.
    """
    short = min(img.size)
    target = rng.uniform(size, max(size, short)) if sharp else size * rng.uniform(1.0, 2.0)
    img = _scaled(img, target / short, size, Image.BILINEAR)
    left = int(rng.integers(0, img.width - size + 1))
    top = int(rng.integers(0, img.height - size + 1))
    arr = np.asarray(img.crop((left, top, left + size, top + size)), np.float32)
    arr = arr[:, ::-1] if rng.random() < 0.5 else arr
    if augment:
        arr = np.rot90(arr, int(rng.integers(4)))
        if rng.random() < 0.5:
            arr = arr[..., rng.permutation(3)]
    return np.ascontiguousarray(arr)


class CropSampler:
    """Random crops from a list of files, batch by step number, prefetched by a pool of threads
    (`workers` batches decode at once: a GPU step outruns one thread's JPEG decoding).

    The data order is a function of (seed, step) alone: the files are read in epochs, each a seeded
    permutation of them, and the batch of step s is positions s·batch ... (s+1)·batch − 1 of that
    sequence (each position's crop drawn with its own seeded generator). Process `rank` of a
    data-parallel run of `world` processes reads its contiguous slice of each batch: the batch is the
    same whatever the number of processes (a run resumes with another), and within an epoch the
    processes' shards are disjoint and cover the files.

    Args:
        files: the images to crop from.
        crop: side of the square crops.
        batch: crops per step, over all processes.
        seed: the data order's seed.
        rank, world: this process's place in a data-parallel run (`batch` must divide by `world`).
    """

    def __init__(self, files: list[Path], crop: int, batch: int, seed: int, prefetch: int = 4,
                 sharp: bool = False, augment: bool = False, workers: int | None = None, rank: int = 0, world: int = 1):
        if batch % world or not 0 <= rank < world:
            raise ValueError(f"a batch of {batch} does not split evenly over {world} processes")
        self.files, self.crop, self.batch, self.seed = files, crop, batch, seed
        self.sharp, self.augment = sharp, augment
        self.rank, self.share = rank, batch // world
        self.skipped: set[Path] = set()
        self.workers = workers or max(1, min(prefetch, (os.cpu_count() or 1) // 2))
        self.prefetch = max(prefetch, self.workers)
        self._lock = threading.Lock()
        self._orders: dict[int, np.ndarray] = {}

    def file_at(self, position: int) -> Path:
        """The file at `position` of the data order: the epoch's seeded permutation of the files."""
        epoch, index = divmod(position, len(self.files))
        with self._lock:
            if epoch not in self._orders:
                self._orders = {k: v for k, v in self._orders.items() if k >= epoch - 1}  # epochs behind are done
                self._orders[epoch] = np.random.default_rng([self.seed, epoch, 1]).permutation(len(self.files))
            return self.files[int(self._orders[epoch][index])]

    def positions(self, step: int) -> range:
        """The positions of the data order this process reads at `step`."""
        start = step * self.batch + self.rank * self.share
        return range(start, start + self.share)

    def crop_at(self, position: int) -> np.ndarray:
        """The crop of `position`; an unreadable file is skipped (and counted) for a file drawn at random."""
        rng = np.random.default_rng([self.seed, position])
        path = self.file_at(position)
        for _attempt in range(100):
            if path not in self.skipped:
                try:
                    return random_crop(load_image(path), self.crop, rng, self.sharp, self.augment)
                except ImageError:
                    with self._lock:
                        self.skipped.add(path)
            path = self.files[int(rng.integers(len(self.files)))]
        raise RuntimeError(f"could not read any training image ({len(self.skipped)} unreadable)")

    def batch_at(self, step: int) -> np.ndarray:
        """This process's crops of `step`: (batch / world, crop, crop, 3) float32 RGB 0-255, deterministic in (seed, step)."""
        return np.stack([self.crop_at(p) for p in self.positions(step)])

    def iterate(self, start_step: int, stride: int = 1):
        """Yield batches for start_step, start_step+stride, ... in order, `prefetch` of them ahead."""
        steps = itertools.count(start_step, stride)
        with ThreadPoolExecutor(self.workers, thread_name_prefix="crops") as pool:
            pending = deque(pool.submit(self.batch_at, next(steps)) for _ in range(self.prefetch))
            try:
                while True:
                    yield pending.popleft().result()
                    pending.append(pool.submit(self.batch_at, next(steps)))
            finally:
                for future in pending:
                    future.cancel()
