# Redraws this report's charts and tables from analysis.json (and the local
# SHAP values in explanations_shap/out.csv), with pandas and matplotlib.
# Each cell below calls one of these functions; change them to restyle every
# chart at once. Run this cell first.
import json
import math
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap
from IPython.display import HTML, display

with open("analysis.json") as f:
    analysis = json.load(f)

ALERT, CALM, NO_BAND, BAND = "#D55E00", "#0072B2", "#999999", "#d9f0d3"
# The rule-of-thumb bands the report uses: +-0.1 for differences of
# proportions, the four-fifths rule for DI; other metrics have none.
DIFFERENCES = {"CI", "DPL", "CDDL", "DPPL", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "FT"}


def number(v):
    """Four significant digits, never scientific notation, as the report
    writes numbers."""
    if v is None or pd.isna(v):
        return "n/a"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if v == 0:
        return "0"
    if abs(v) < 1e-4:
        return "< 0.0001" if v > 0 else "> -0.0001"
    if abs(v) >= 1e6:
        return f"{v:.0f}"
    text = f"{v:.{max(0, 3 - math.floor(math.log10(abs(v))))}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def band(name):
    if name == "DI":
        return (0.8, 1.25)
    return (-0.1, 0.1) if name in DIFFERENCES else None


def value(metric):
    """A metric's value as a float, or None when it was not computed."""
    if metric.get("error") or metric.get("value") is None:
        return None
    return float(metric["value"])


def outside(name, v):
    b = band(name)
    return b is not None and v is not None and not (b[0] <= v <= b[1])


def show_table(columns, rows, numeric=(), notable=(), muted=()):
    """A table with the report's highlighting, as inline styles."""
    frame = pd.DataFrame(rows, columns=columns)

    def style(row):
        i = row.name
        if notable and notable[i]:
            return ["background-color:#fdece2"] * len(row)
        if muted and muted[i]:
            return ["color:#767676"] * len(row)
        return [""] * len(row)

    styled = frame.style.apply(style, axis=1).hide(axis="index")
    styled = styled.set_properties(**{"text-align": "left"})
    for name, is_number in zip(columns, numeric):
        if is_number:
            styled = styled.set_properties(subset=[name], **{"text-align": "right"})
    display(HTML(styled.to_html()))


# The kinds of metric in the report's order (representation, label rates,
# label distributions, selection rates, error rates, conditional, other).
KINDS = [["CI"], ["DPL", "CDDL"], ["KL", "JS", "LP", "TVD", "KS"], ["DPPL", "DI"],
         ["AD", "RD", "SD", "DAR", "DRR"], ["CDDPL"], ["DCA", "DCR", "TE", "FT"]]


def kind(name):
    return next((i for i, names in enumerate(KINDS) if name in names), len(KINDS))


def metrics(key, facet, index):
    """One comparison's metrics without GE, grouped by kind as the report shows them."""
    group = analysis[key]["facets"][facet][index]
    return sorted((m for m in group["metrics"] if m["name"] != "GE"), key=lambda m: kind(m["name"]))


def bias_table(key, facet, index):
    rows, notable, muted = [], [], []
    for m in metrics(key, facet, index):
        v = value(m)
        if v is None:
            check = "not computed"
        elif outside(m["name"], v):
            check = "⚠ outside band"
        else:
            check = "within band" if band(m["name"]) else "no common band"
        rows.append([m.get("description") or m["name"], "—" if v is None else number(v), check])
        notable.append(check.startswith("⚠"))
        muted.append(v is None)
    show_table(["Metric", "Value", "Check"], rows, [False, True, False], notable, muted)


def bias_chart(key, facet, index):
    ms = metrics(key, facet, index)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(ms) + 1))
    for i, m in enumerate(ms):
        v = value(m)
        if v is None:
            ax.text(0, i, " not computed", va="center", color=NO_BAND)
            continue
        b = band(m["name"])
        if b:
            ax.barh(i, b[1] - b[0], left=b[0], color=BAND, height=0.8)
        colour = ALERT if outside(m["name"], v) else (CALM if b else NO_BAND)
        parity = 1.0 if m["name"] == "DI" else 0.0
        ax.barh(i, v - parity, left=parity, color=colour, height=0.5)
    ax.set_yticks(range(len(ms)), [m["name"] for m in ms])
    ax.invert_yaxis()
    ax.axvline(0, color="#222222", linestyle="--", linewidth=1)
    ax.set_xlabel("metric value (DI drawn from its parity at 1)")
    ax.set_title(f"{facet} = {analysis[key]['facets'][facet][index]['value_or_threshold']}")
    fig.tight_layout()
    display(fig)
    plt.close(fig)


def shap_frame(key="global_shap_values"):
    """One column per output, one row per feature, most important first;
    `key="global_shap_values_stderr"` gives the standard errors (None when
    the job did not compute them)."""
    shap = analysis["explanations"]["kernel_shap"]
    frame = pd.DataFrame({label: r["global_shap_values"] for label, r in shap.items()})
    order = frame.iloc[:, 0].abs().sort_values(ascending=False).index
    if key != "global_shap_values":
        if not any(key in r for r in shap.values()):
            return None
        frame = pd.DataFrame({label: r.get(key, {}) for label, r in shap.items()}, index=order)
    return frame.reindex(order)


def shap_chart():
    frame = shap_frame()
    errors = shap_frame("global_shap_values_stderr")
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(frame) * len(frame.columns) + 1))
    xerr = None if errors is None else errors.iloc[::-1].T.to_numpy()
    frame.iloc[::-1].plot.barh(ax=ax, legend=len(frame.columns) > 1, xerr=xerr, capsize=3)
    ax.set_xlabel("SHAP value (aggregated over records; change in the model score)")
    fig.tight_layout()
    display(fig)
    plt.close(fig)


def shap_table():
    frame = shap_frame()
    errors = shap_frame("global_shap_values_stderr")
    text = frame.map(number)
    if errors is not None:
        text = text + errors.map(lambda e: "" if pd.isna(e) else f" ± {number(e)}")
    frame = text.reset_index().rename(columns={"index": "Feature"})
    rows = [list(r) for r in frame.itertuples(index=False)]
    show_table(list(frame.columns), rows, [False] + [True] * (len(frame.columns) - 1))


def local_shap_chart(label):
    local = pd.read_csv(os.path.join("explanations_shap", "out.csv"))
    features = list(shap_frame().index)
    columns = [f"{f}_{label}" for f in features if f"{f}_{label}" in local.columns]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(columns) + 1))
    ax.boxplot([local[c].dropna() for c in columns], vert=False, whis=(5, 95), showfliers=False)
    ax.set_yticks(range(1, len(columns) + 1), [c[: -len(label) - 1] for c in columns])
    ax.invert_yaxis()
    ax.axvline(0, color="#222222", linewidth=1)
    ax.set_xlabel("SHAP value per record (change in the model score)")
    fig.tight_layout()
    display(fig)
    plt.close(fig)


# Feature values from low to high, as in shap's plots (blue to red).
LOW_HIGH = LinearSegmentedColormap.from_list("low_high", ["#008bfb", "#ff0051"])
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9"]
WATERFALL_FEATURES = 8


def local_values():
    return pd.read_csv(os.path.join("explanations_shap", "out.csv"))


def value_colours(raw):
    """Colours for one feature's values: rank on the blue-red scale for
    numbers, one colour per frequent category (grey for the rest)."""
    series = pd.Series(raw, dtype=object)
    numbers = pd.to_numeric(series, errors="coerce")
    if series.notna().any() and numbers.notna().sum() == series.notna().sum():
        ranks = numbers.rank(pct=True).fillna(0.5)
        return [LOW_HIGH(r) for r in ranks]
    frequent = list(series.dropna().value_counts().index[: len(PALETTE)])
    return [PALETTE[frequent.index(v)] if v in frequent else "#bbbbbb" for v in series]


def beeswarm_chart(label, rows, values):
    """One dot per record (the dataset rows `rows` of out.csv) and feature
    at its SHAP value, coloured by the record's value of the feature."""
    local = local_values().iloc[rows]
    features = [f for f in shap_frame().index if f"{f}_{label}" in local.columns]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(features) + 1.2))
    jitter = np.random.default_rng(0)
    for i, f in enumerate(features):
        x = local[f"{f}_{label}"].to_numpy()
        colours = value_colours(values[f]) if f in values else "#bbbbbb"
        ax.scatter(x, i + jitter.uniform(-0.3, 0.3, len(x)), s=8, c=colours)
    ax.set_yticks(range(len(features)), features)
    ax.invert_yaxis()
    ax.axvline(0, color="#222222", linewidth=1)
    ax.set_xlabel("SHAP value per record (change in the model score)")
    ax.set_title("numeric features: blue low, red high; categories: a colour each")
    fig.tight_layout()
    display(fig)
    plt.close(fig)


def record_chart(label, row, values):
    """A waterfall of one record (dataset row `row`) from the expected value
    to its score: the largest SHAP values one by one, the rest summed."""
    local = local_values().iloc[row]
    steps = {f: local[f"{f}_{label}"] for f in shap_frame().index if f"{f}_{label}" in local.index}
    steps = sorted(steps.items(), key=lambda s: -abs(s[1]))
    shown = [(f"{f} = {values[f]}" if f in values else f, v) for f, v in steps[:WATERFALL_FEATURES]]
    rest = steps[WATERFALL_FEATURES:]
    if rest:
        shown.append((f"{len(rest)} other features", sum(v for _, v in rest)))
    total = analysis["explanations"]["kernel_shap"][label]["expected_value"]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(shown) + 1.2))
    ax.axvline(total, color="#666666", linestyle="--", linewidth=1, label=f"expected value {number(total)}")
    for i, (_, v) in enumerate(shown):
        ax.barh(i, v, left=total, color="#ff0051" if v >= 0 else "#008bfb", height=0.6)
        total += v
    ax.axvline(total, color="#222222", linestyle="--", linewidth=1, label=f"score {number(total)}")
    ax.set_yticks(range(len(shown)), [name for name, _ in shown])
    ax.invert_yaxis()
    ax.set_xlabel("model score")
    ax.set_title(f"Record {row}")
    ax.legend()
    fig.tight_layout()
    display(fig)
    plt.close(fig)


def pdp_span():
    """The lowest and highest prediction of every PDP: one y range for all."""
    values = [v for plot in analysis["explanations"]["pdp"] for ys in plot.get("model_predictions", []) for v in ys]
    return min(values), max(values)


def pdp_chart(index):
    plot = analysis["explanations"]["pdp"][index]
    predictions = plot["model_predictions"]
    headers = plot.get("label_headers") or [f"label{i}" for i in range(len(predictions))]
    if plot["data_type"] == "numerical":
        fig, (ax, strip) = plt.subplots(2, 1, figsize=(7, 4.2), sharex=True, gridspec_kw={"height_ratios": [4, 1]})
        for name, ys in zip(headers, predictions):
            ax.plot(plot["feature_values"], ys, marker="o", label=name)
        low, high = pdp_span()
        pad = (high - low) * 0.05 or 0.05
        ax.set_ylim(low - pad, high + pad)
        ax.set_ylabel("average model score")
        share = plot.get("data_distribution") or []
        xs = plot["feature_values"]
        width = 0.8 * (max(xs) - min(xs)) / max(len(xs), 1) if len(xs) > 1 else 0.8
        strip.bar(xs[: len(share)], [100 * s for s in share], width=width, color="#bdbdbd")
        strip.set_ylabel("% of records")
        strip.set_xlabel(plot["feature_name"])
    else:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        frame = pd.DataFrame(dict(zip(headers, predictions)), index=[str(v) for v in plot["feature_values"]])
        frame = frame.sort_values(frame.columns[0])
        frame.plot.barh(ax=ax, legend=len(headers) > 1)
        ax.set_xlabel("average model score")
    if len(headers) > 1:
        ax.legend()
    ax.set_title(f"Partial dependence on {plot['feature_name']}")
    fig.tight_layout()
    display(fig)
    plt.close(fig)
