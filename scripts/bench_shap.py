#!/usr/bin/env python3
"""The German-credit part of scripts/bench-shap.sh: openclarify's Kernel SHAP
and shap.KernelExplainer against the same xgboost model over HTTP, the same
rows and the same baseline, both against exact Shapley values.

The case is the one issue 19 sets: German credit (9 features; categories
coded as integers, in sorted order), the first --rows rows, a baseline of 10
k-means centres (shap.kmeans, whose centres take values that occur in the
data), and an xgboost classifier (100 trees of depth 4, seed 0) trained on
all 1,000 rows, explaining the probability of the positive class (identity
link). The exact values enumerate all 2^9 coalitions of every row against
every baseline row, calling the same model in-process.

The model is served by a child process (Python's threaded HTTP server,
text/csv in and out) that counts the rows it scores, so "model rows" is what
each side sent. KernelExplainer runs as shap's documentation shows, with its
default l1_reg ("num_features(10)", which selects nothing with 9 features)
and numpy's seed 0; openclarify runs `openclarify run` with seed 0.
"""
import argparse
import csv
import json
import multiprocessing
import subprocess
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd

from shapley_exact import coalition_masks, shapley_values


def german(path):
    frame = pd.read_csv(path)
    label = frame.pop("risk").to_numpy()
    for column in frame.columns:
        if frame[column].dtype == object:
            frame[column] = pd.Categorical(frame[column]).codes
    return frame.columns.tolist(), frame.to_numpy(float), label


def train(X, y):
    import xgboost
    model = xgboost.XGBClassifier(n_estimators=100, max_depth=4, learning_rate=0.1, random_state=0,
                                  n_jobs=1)
    model.fit(X, y)
    return model


def serve(model_path, port, ready):
    """The model over HTTP: POST /invocations (text/csv rows) -> one probability per line."""
    import xgboost
    model = xgboost.XGBClassifier()
    model.load_model(model_path)
    served = multiprocessing.Value("q", 0)  # rows scored, read at GET /rows

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            body = str(served.value).encode() if self.path == "/rows" else b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers["Content-Length"])
            text = self.rfile.read(length).decode()
            X = np.loadtxt(text.splitlines(), delimiter=",", ndmin=2)
            p = model.predict_proba(X)[:, 1]
            with served.get_lock():
                served.value += len(X)
            body = "\n".join(repr(float(v)) for v in p).encode() + b"\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    ready.set()
    server.serve_forever()


def rows_served(endpoint):
    with urllib.request.urlopen(endpoint + "/rows") as answer:
        return int(answer.read())


def exact_values(predict, X, B):
    """Shapley values from the definition, v(S) = mean over baseline rows."""
    m = X.shape[1]
    masks = coalition_masks(m)
    out = np.zeros_like(X)
    for r, x in enumerate(X):
        Z = np.where(masks[:, None, :], x[None, None, :], B[None, :, :]).reshape(-1, m)
        out[r] = shapley_values(predict(Z).reshape(len(masks), len(B)).mean(1), m)
    return out


def run_openclarify(a, work, names, X, y, B, num_samples, endpoint):
    work.mkdir(parents=True, exist_ok=True)
    (work / "data").mkdir(exist_ok=True)
    with open(work / "data/german.csv", "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["risk"] + names)
        for label, x in zip(y, X):
            writer.writerow([int(label)] + [repr(float(v)) for v in x])
    config = {
        "dataset_type": "text/csv", "headers": ["risk"] + names, "label": "risk",
        "methods": {"shap": {"baseline": B.tolist(), "num_samples": num_samples, "seed": 0,
                             "save_local_shap_values": True}},
        "predictor": {"endpoint_name": "xgboost", "content_type": "text/csv", "accept_type": "text/csv"},
    }
    (work / "config.json").write_text(json.dumps(config))
    before = rows_served(endpoint)
    start = time.perf_counter()
    subprocess.run([a.openclarify, "run", "--config", str(work / "config.json"), "--data", str(work / "data"),
                    "--output", str(work / "out"), "--endpoint-url", endpoint],
                   check=True, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    values = pd.read_csv(work / "out/explanations_shap/out.csv")
    values = values[[f"{n}_label0" for n in names]].to_numpy(float)
    return seconds, rows_served(endpoint) - before, values


def run_kernel_explainer(shap, endpoint, X, B, num_samples):
    def f(Z):
        body = "\n".join(",".join(repr(float(v)) for v in z) for z in Z).encode()
        request = urllib.request.Request(endpoint + "/invocations", data=body,
                                         headers={"Content-Type": "text/csv", "Accept": "text/csv"})
        with urllib.request.urlopen(request) as answer:
            return np.array([float(line) for line in answer.read().decode().split()])

    np.random.seed(0)
    before = rows_served(endpoint)
    start = time.perf_counter()
    explainer = shap.KernelExplainer(f, B)
    values = np.asarray(explainer.shap_values(X, nsamples=num_samples, silent=True))
    return time.perf_counter() - start, rows_served(endpoint) - before, values


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--openclarify", required=True)
    ap.add_argument("--german", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--port", type=int, default=18201)
    ap.add_argument("--rows", type=int, default=200)
    ap.add_argument("--nsamples", default="64,256,510")
    a = ap.parse_args()
    import shap

    work = Path(a.work)
    names, X_all, y_all = german(a.german)
    model = train(X_all, y_all)
    model.save_model(str(work / "xgboost.json"))
    X, y = X_all[:a.rows], y_all[:a.rows]
    B = shap.kmeans(X_all, 10).data
    # A fresh interpreter: a forked child inherits xgboost's OpenMP state and can hang.
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    server = spawn.Process(target=serve, args=(str(work / "xgboost.json"), a.port, ready), daemon=True)
    server.start()
    if not ready.wait(60):
        raise SystemExit("the model server did not start")
    endpoint = f"http://127.0.0.1:{a.port}"
    try:
        exact = exact_values(lambda Z: model.predict_proba(Z)[:, 1], X, B)
        print(f"German credit: {len(X)} rows x {X.shape[1]} features, baseline of {len(B)} k-means centres, "
              f"xgboost over HTTP; errors against exact Shapley values (mean |phi| {np.abs(exact).mean():.4f})")
        print("| num_samples | side | seconds | model rows | mean abs error | max abs error |")
        print("|---|---|---|---|---|---|")
        summary = []
        for ns in [int(s) for s in a.nsamples.split(",") if s]:
            ours = run_openclarify(a, work / f"ours-{ns}", names, X, y, B, ns, endpoint)
            theirs = run_kernel_explainer(shap, endpoint, X, B, ns)
            errors = []
            for side, (seconds, rows, values) in (("openclarify", ours), ("KernelExplainer", theirs)):
                error = np.abs(values - exact)
                errors.append(error.mean())
                print(f"| {ns} | {side} | {seconds:.2f} | {rows} | {error.mean():.3e} | {error.max():.3e} |")
            summary.append((ns, errors[0], errors[1], theirs[0] / ours[0], ours[1], theirs[1]))
        for ns, our_error, their_error, speed, our_rows, their_rows in summary:
            ratio = our_error / their_error if their_error > 0 else float("nan")
            print(f"num_samples {ns}: error ratio openclarify/KernelExplainer {ratio:.2f} "
                  f"(target <= 0.5 below the cap); model rows {our_rows} vs {their_rows}; "
                  f"speed ratio {speed:.1f}x")
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
