# Redraws this report's charts and tables from analysis.json (and the local
# SHAP values in explanations_shap/out.csv), with pandas and matplotlib.
# Each cell below calls one of these functions; change them to restyle every
# chart at once. Run this cell first.
import json
import os

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import HTML, display

with open("analysis.json") as f:
    analysis = json.load(f)

ALERT, CALM, NO_BAND, BAND = "#D55E00", "#0072B2", "#999999", "#d9f0d3"
# The rule-of-thumb bands the report uses: +-0.1 for differences of
# proportions, the four-fifths rule for DI; other metrics have none.
DIFFERENCES = {"CI", "DPL", "CDDL", "DPPL", "RD", "SD", "DAR", "DRR", "AD", "CDDPL", "FT"}


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


def metrics(key, facet, index):
    group = analysis[key]["facets"][facet][index]
    return [m for m in group["metrics"] if m["name"] != "GE"]


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
        rows.append([m.get("description") or m["name"], "—" if v is None else f"{v:.4g}", check])
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


def shap_frame():
    shap = analysis["explanations"]["kernel_shap"]
    frame = pd.DataFrame({label: r["global_shap_values"] for label, r in shap.items()})
    return frame.reindex(frame.iloc[:, 0].abs().sort_values(ascending=False).index)


def shap_chart():
    frame = shap_frame()
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(frame) * len(frame.columns) + 1))
    frame.iloc[::-1].plot.barh(ax=ax, legend=len(frame.columns) > 1)
    ax.set_xlabel("SHAP value (aggregated over records; change in the model score)")
    fig.tight_layout()
    display(fig)
    plt.close(fig)


def shap_table():
    frame = shap_frame().reset_index().rename(columns={"index": "Feature"})
    rows = [[r[0]] + [f"{v:.4g}" for v in r[1:]] for r in frame.itertuples(index=False)]
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


def pdp_chart(index):
    plot = analysis["explanations"]["pdp"][index]
    predictions = plot["model_predictions"]
    headers = plot.get("label_headers") or [f"label{i}" for i in range(len(predictions))]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    if plot["data_type"] == "numerical":
        for name, ys in zip(headers, predictions):
            ax.plot(plot["feature_values"], ys, marker="o", label=name)
        ax.set_xlabel(plot["feature_name"])
        ax.set_ylabel("average model score")
    else:
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
