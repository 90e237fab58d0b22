#!/usr/bin/env python3
"""Writes tests/fixtures/slic/: a few fixed images and the segment maps that
scikit-image's `slic` (the segmentation Clarify documents) gives for them, so
that `cargo test` compares openclarify's SLIC with scikit-image's without Python.

Usage: .venv/bin/python scripts/gen-slic-fixture.py   (bash scripts/venv.sh first)

Each case is an RGB PNG and its labels as an 8-bit greyscale PNG (label 1 is
value 1, ...), listed in cases.json with the `slic` arguments and whether the
maps must agree exactly (flat-colour images) or by adjusted Rand index.
"""
import json
import pathlib

import numpy as np
import skimage
from PIL import Image
from skimage import data
from skimage.segmentation import slic

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "slic"


def photo(image, width, height):
    return np.asarray(Image.fromarray(image).convert("RGB").resize((width, height), Image.BILINEAR))


def tiles(colours, columns, tile_w, tile_h):
    rows = [colours[i:i + columns] for i in range(0, len(colours), columns)]
    return np.concatenate(
        [np.concatenate([np.full((tile_h, tile_w, 3), c, np.uint8) for c in row], axis=1) for row in rows],
        axis=0,
    )


def noise_and_gradient(width, height):
    rng = np.random.default_rng(7)
    y, x = np.mgrid[:height, :width]
    base = np.stack([x * 255 / width, y * 255 / height, (x + y) * 127 / (width + height)], axis=-1)
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


CASES = [
    # name, image, num_segments, compactness, exact
    ("astronaut-20", photo(data.astronaut(), 128, 128), 20, 5.0, False),
    ("astronaut-50", photo(data.astronaut(), 128, 128), 50, 10.0, False),
    ("chelsea-20", photo(data.chelsea(), 150, 100), 20, 5.0, False),
    ("coffee-20", photo(data.coffee(), 120, 80), 20, 5.0, False),
    ("noise-15", noise_and_gradient(100, 60), 15, 5.0, False),
    ("quadrants-4", tiles([(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)], 2, 32, 32), 4, 5.0, True),
    ("bands-3", tiles([(250, 250, 250), (10, 10, 10), (120, 60, 200)], 3, 30, 30), 3, 5.0, True),
    ("tiles-6", tiles([(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)], 3, 40, 40), 6, 5.0, True),
]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    listing = []
    for name, image, segments, compactness, exact in CASES:
        labels = slic(image, n_segments=segments, compactness=compactness)
        assert labels.max() < 256, name
        Image.fromarray(image).save(OUT / f"{name}.png")
        Image.fromarray(labels.astype(np.uint8)).save(OUT / f"{name}.labels.png")
        listing.append({
            "name": name,
            "num_segments": segments,
            "compactness": compactness,
            "exact": exact,
            "segments_found": int(labels.max()),
        })
    (OUT / "cases.json").write_text(json.dumps({"scikit_image": skimage.__version__, "cases": listing}, indent=1) + "\n")
    print(f"wrote {len(listing)} cases to {OUT} (scikit-image {skimage.__version__})")


if __name__ == "__main__":
    main()
