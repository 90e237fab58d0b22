#!/usr/bin/env python3
"""The two sides of scripts/bench-images.sh: openclarify's image SHAP and
shap.KernelExplainer over a binary mask of the same SLIC segments, against
the same HTTP classifier, with timings.

The images are generated (seeded): smooth colour gradients with a few
flat discs and squares, 224x224 PNG. Both sides use a flat grey baseline
image, num_segments 20, compactness 5 and 200 coalitions per image, and
send masked images as application/x-npy batches. shap's side segments with
scikit-image's slic (the segmentation openclarify reproduces, tested in
src/images/slic.rs), and explains the first --shap-images images; a mask
row z shows the segments where z = 1 and the baseline elsewhere.
"""
import argparse
import io
import json
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image
from skimage.segmentation import slic

GREY = (128, 128, 128)


def generate(count, size=224, seed=3):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size] / size
    for _ in range(count):
        a, b, c = rng.uniform(0, 255, 3)
        image = np.stack([a * x + (255 - a) * y, b * (1 - x), c * y * x + 60], axis=-1)
        for _ in range(4):
            cx, cy, r = rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.05, 0.2)
            colour = rng.uniform(0, 255, 3)
            inside = (x - cx) ** 2 + (y - cy) ** 2 < r * r if rng.random() < 0.5 else (
                (abs(x - cx) < r) & (abs(y - cy) < r))
            image[inside] = colour
        yield np.clip(image, 0, 255).astype(np.uint8)


def post_npy(endpoint, images):
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(images, dtype=np.uint8))
    request = urllib.request.Request(endpoint + "/invocations", data=buf.getvalue(),
                                     headers={"Content-Type": "application/x-npy", "Accept": "application/json"})
    with urllib.request.urlopen(request) as answer:
        return np.array(json.loads(answer.read()))


def shap_values(shap, endpoint, image, segments, nsamples, seed):
    labels = np.unique(segments)
    baseline = np.empty_like(image)
    baseline[...] = GREY

    def f(masks):
        out = []
        for start in range(0, len(masks), 32):  # about 5 MB per request, as openclarify batches
            batch = []
            for z in masks[start:start + 32]:
                shown = np.isin(segments, labels[np.asarray(z) > 0.5])
                batch.append(np.where(shown[..., None], image, baseline))
            out.append(post_npy(endpoint, batch))
        return np.concatenate(out)

    np.random.seed(seed)
    explainer = shap.KernelExplainer(f, np.zeros((1, len(labels))))
    values = explainer.shap_values(np.ones((1, len(labels))), nsamples=nsamples, l1_reg=False, silent=True)
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--openclarify", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--shap-images", type=int, default=20)
    ap.add_argument("--num-samples", type=int, default=200)
    ap.add_argument("--num-segments", type=int, default=20)
    a = ap.parse_args()
    import shap

    work = Path(a.work)
    data = work / "data"
    data.mkdir(parents=True)
    images = list(generate(a.images))
    for i, image in enumerate(images):
        Image.fromarray(image).save(data / f"img{i:04d}.png")
    Image.new("RGB", (224, 224), GREY).save(work / "grey.png")
    config = {
        "dataset_type": "application/x-image",
        "methods": {"shap": {"baseline": "grey.png", "num_samples": a.num_samples, "seed": 0,
                             "image_config": {"model_type": "IMAGE_CLASSIFICATION",
                                              "num_segments": a.num_segments, "segment_compactness": 5}}},
        "predictor": {"endpoint_name": "vision", "content_type": "application/x-npy",
                      "label_headers": ["red", "green", "blue"]},
    }
    (work / "config.json").write_text(json.dumps(config))
    start = time.perf_counter()
    subprocess.run([a.openclarify, "run", "--config", str(work / "config.json"), "--data", str(data),
                    "--output", str(work / "out"), "--endpoint-url", a.endpoint],
                   check=True, stderr=subprocess.DEVNULL)
    ours_seconds = time.perf_counter() - start
    lines = [json.loads(l) for l in (work / "out/explanations_shap/out.jsonl").read_text().splitlines()]
    segments_per_image = np.mean([len(l["segments"]) for l in lines])

    shap_images = min(a.shap_images, a.images)
    start = time.perf_counter()
    for i in range(shap_images):
        segments = slic(images[i], n_segments=a.num_segments, compactness=5)
        shap_values(shap, a.endpoint, images[i], segments, a.num_samples, i)
    shap_seconds = time.perf_counter() - start

    ours_rate, shap_rate = a.images / ours_seconds, shap_images / shap_seconds
    print(f"## Image SHAP: 224x224, num_segments {a.num_segments} ({segments_per_image:.1f} segments on average), "
          f"num_samples {a.num_samples}, demo classifier over HTTP (application/x-npy)")
    print("| | images | seconds | images/s |")
    print("|---|---|---|---|")
    print(f"| openclarify (heat maps and out.jsonl written) | {a.images} | {ours_seconds:.2f} | {ours_rate:.2f} |")
    print(f"| shap.KernelExplainer + skimage slic | {shap_images} | {shap_seconds:.2f} | {shap_rate:.2f} |")
    print(f"speed ratio: {ours_rate / shap_rate:.1f}x")


if __name__ == "__main__":
    main()
