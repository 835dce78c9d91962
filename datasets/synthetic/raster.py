"""Rasterising and file helpers the synthetic scenes share.

Soft-edged (anti-aliased) segments and discs on a grid of pixel centres, painted into the box
they cover, and the PNG and CSV writers whose exact bytes the data sets' determinism rests on.
"""

import math
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

# Run-length matching at level 1: faster to write, files nearly as small
# (benchmarks/README.md#code-png-zlib).
_PNG_OPTIONS = {"compress_level": 1, "compress_type": zlib.Z_RLE}


def save_png(image: np.ndarray, path: Path) -> None:
    Image.fromarray(image).save(path, **_PNG_OPTIONS)


def write_csv(path: Path, rows: np.ndarray) -> None:
    text = "".join(",".join(f"{value:.6f}" for value in row) + "\n" for row in rows.tolist())
    path.write_text(text, encoding="utf-8")


def to_uint8(canvas: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(canvas, 0.0, 255.0)).astype(np.uint8)


def pixel_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y of pixel centres, shapes (1, W) and (H, 1), for broadcasting."""
    xs = np.arange(width, dtype=np.float32)[None, :] + 0.5
    ys = np.arange(height, dtype=np.float32)[:, None] + 0.5
    return xs, ys


def segment_coverage(
    xs: np.ndarray, ys: np.ndarray, start: np.ndarray, end: np.ndarray, half_width: float
) -> np.ndarray:
    """(N, H, W) soft masks of thick segments start[n] -> end[n] ((N, 2) each, x then y).

    The one-pixel soft edge keeps sub-pixel motion visible instead of jumping a pixel at a time.
    """
    ax, ay = start[:, 0, None, None], start[:, 1, None, None]
    dx, dy = end[:, 0, None, None] - ax, end[:, 1, None, None] - ay
    length2 = np.maximum(dx * dx + dy * dy, 1e-6)
    along = np.clip(((xs - ax) * dx + (ys - ay) * dy) / length2, 0.0, 1.0)
    distance = np.hypot(xs - ax - along * dx, ys - ay - along * dy)
    return np.clip(half_width + 0.5 - distance, 0.0, 1.0)


def disc_coverage(
    xs: np.ndarray, ys: np.ndarray, centre: np.ndarray, radius: np.ndarray | float
) -> np.ndarray:
    """(N, H, W) soft masks of discs at centre[n] ((N, 2)) with radius (N,) or a scalar."""
    radius = np.broadcast_to(np.asarray(radius, dtype=np.float32), centre.shape[:1])
    distance = np.hypot(xs - centre[:, 0, None, None], ys - centre[:, 1, None, None])
    return np.clip(radius[:, None, None] + 0.5 - distance, 0.0, 1.0)


def box(points: Sequence[np.ndarray], pad: float, height: int, width: int) -> tuple[slice, slice]:
    """(rows, columns) of the box around (N, 2) `points`, widened by `pad` pixels.

    Shapes drawn around those points with reach up to `pad` are zero outside it, so painting
    only the box gives the same pixels as painting the whole frame, for less work.
    """
    joined = np.concatenate(points)
    (left, top), (right, bottom) = joined.min(axis=0), joined.max(axis=0)
    rows = slice(max(0, math.floor(top - pad)), min(height, math.ceil(bottom + pad) + 1))
    columns = slice(max(0, math.floor(left - pad)), min(width, math.ceil(right + pad) + 1))
    return rows, columns


def paint(canvas: np.ndarray, coverage: np.ndarray, colour: Sequence[float]) -> None:
    """Blend `colour` into (N, H, W, 3) `canvas` where (N, H, W) `coverage` is above 0."""
    canvas += coverage[..., None] * (np.asarray(colour, dtype=np.float32) - canvas)
