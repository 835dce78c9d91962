"""Micro-measurements behind two code comments (benchmarks/README.md#code-uint8-transpose,
#code-png-zlib): python measure.py > claims.json. Best of 5 timings each."""

import io
import json
import platform
import time
import zlib

import numpy as np
import torch
from PIL import Image

from cvae_study.datasets.synthetic import write_pushing


def best(function, rounds=5):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


torch.set_num_threads(1)
frames = np.random.default_rng(0).integers(0, 256, (30, 64, 64, 3), dtype=np.uint8)
numpy_s = best(lambda: [np.ascontiguousarray(frames.transpose(0, 3, 1, 2)) for _ in range(100)])
torch_s = best(lambda: [torch.from_numpy(frames).permute(0, 3, 1, 2).contiguous()
                        for _ in range(100)])

# Real synthetic frames: one pushing sequence written, its PNGs re-encoded both ways.
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

with tempfile.TemporaryDirectory() as folder:
    write_pushing(Path(folder), 1, 0)
    images = [np.asarray(Image.open(p)) for p in sorted(Path(folder).rglob("*.png"))][:30]


def encode(options):
    sizes = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG", **options)
        sizes.append(buffer.tell())
    return sum(sizes)


options = {"level 1": {"compress_level": 1},
           "level 1 + Z_RLE": {"compress_level": 1, "compress_type": zlib.Z_RLE}}
png = {name: {"seconds_30_frames": round(best(lambda o=o: encode(o)), 4), "bytes": encode(o)}
       for name, o in options.items()}
print(json.dumps({
    "machine": f"{platform.processor() or platform.machine()}, 1 torch thread",
    "uint8_transpose_100_clips_of_30x64x64x3": {
        "numpy_ascontiguousarray_s": round(numpy_s, 4),
        "torch_permute_contiguous_s": round(torch_s, 4),
        "torch_over_numpy": round(torch_s / numpy_s, 1)},
    "png_encode_30_pushing_frames": png,
    "rle_time_over_level1": round(png["level 1 + Z_RLE"]["seconds_30_frames"]
                                  / png["level 1"]["seconds_30_frames"], 3),
}, indent=2))
