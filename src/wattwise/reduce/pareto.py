"""Pareto plot of a lab run: quality against energy per 1,000 inputs (PNG: matplotlib, HTML: plotly, offline).

Both plots show the baseline (fp32), the tolerance line (baseline minus the allowed quality drop; for perplexity
baseline x (1 + drop %)), the band between them shaded (differences inside it are within the tolerance the user
accepts, so not a trade-off), the Pareto front and the recommended variant, with a legend. The quality axis spans
at least four tolerances, so noise between variants does not look like a trade-off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The quality axis spans at least this many tolerances.
MIN_SPAN_TOLERANCES = 4.0


@dataclass(frozen=True)
class Point:
    name: str
    energy: float
    quality: float
    pareto: bool
    recommended: bool


def _points(lab: Any) -> list[Point]:
    return [
        Point(v.name, v.energy_j_per_1k, v.quality, v.pareto, v.name == lab.recommended)
        for v in lab.variants
        if v.ok and v.energy_j_per_1k is not None and v.quality is not None
    ]


def _labels(lab: Any) -> tuple[str, str]:
    method = next((v.energy_method for v in lab.variants if v.ok), "modelled")
    y = "Spearman x 100 (STS-B dev; higher is better)" if lab.metric == "spearman_x100" else \
        "perplexity (held-out; lower is better)"
    return f"energy per 1,000 {lab.unit} (J, {method}; log scale)", y


def tolerance(lab: Any, baseline: float) -> float:
    """The quality at the edge of the tolerance: baseline - drop (Spearman) or baseline x (1 + drop %)."""
    drop = float(lab.max_quality_drop)
    return baseline - drop if lab.metric == "spearman_x100" else baseline * (1 + drop / 100.0)


def y_range(lab: Any, pts: list[Point], baseline: float | None) -> tuple[float, float]:
    """Quality axis: every point and the tolerance line, spanning at least MIN_SPAN_TOLERANCES tolerances."""
    ys = [p.quality for p in pts]
    if baseline is not None:
        ys += [baseline, tolerance(lab, baseline)]
    lo, hi = min(ys), max(ys)
    band = abs(baseline - tolerance(lab, baseline)) if baseline is not None else 0.0
    span = max(hi - lo, MIN_SPAN_TOLERANCES * band, 1e-9)
    mid = (lo + hi) / 2
    pad = 0.08 * span
    return mid - span / 2 - pad, mid + span / 2 + pad


def _baseline(lab: Any) -> float | None:
    first = lab.variants[0] if lab.variants else None
    return first.quality if first is not None and first.ok and first.quality is not None else None


def plot(lab: Any, png: Path | None = None, html: Path | None = None) -> list[Path]:
    """Write the plot(s); returns the paths written. The HTML inlines plotly.js (works offline)."""
    pts = _points(lab)
    written: list[Path] = []
    if not pts:
        return written
    xl, yl = _labels(lab)
    title = f"wattwise reduce: {lab.model}"
    front = sorted((p for p in pts if p.pareto), key=lambda p: p.energy)
    base = _baseline(lab)
    tol = tolerance(lab, base) if base is not None else None
    y0, y1 = y_range(lab, pts, base)
    tol_label = (f"tolerance: {'-' if lab.metric == 'spearman_x100' else '+'}{lab.max_quality_drop:g}"
                 f"{'' if lab.metric == 'spearman_x100' else ' %'} vs fp32")
    if png is not None:
        _png(png, pts, front, base, tol, (y0, y1), xl, yl, title, tol_label)
        written.append(png)
    if html is not None:
        _html(html, pts, front, base, tol, (y0, y1), xl, yl, title, tol_label)
        written.append(html)
    return written


def _png(path: Path, pts: list[Point], front: list[Point], base: float | None, tol: float | None,
         yr: tuple[float, float], xl: str, yl: str, title: str, tol_label: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    groups = [("recommended", "*", "tab:green", 160, [p for p in pts if p.recommended]),
              ("on the Pareto front", "o", "tab:blue", 40, [p for p in pts if p.pareto and not p.recommended]),
              ("dominated", "o", "tab:gray", 35, [p for p in pts if not p.pareto and not p.recommended])]
    for label, marker, color, size, group in groups:
        if group:
            ax.scatter([p.energy for p in group], [p.quality for p in group], s=size, marker=marker, color=color,
                       zorder=3, label=label)
    for p in pts:
        ax.annotate(p.name, (p.energy, p.quality), textcoords="offset points", xytext=(4, 4), fontsize=7)
    if len(front) > 1:
        ax.plot([p.energy for p in front], [p.quality for p in front], "--", color="tab:blue", lw=1, zorder=2,
                label="Pareto front")
    if base is not None and tol is not None:
        ax.axhline(base, color="black", lw=0.8, label="fp32 baseline")
        ax.axhline(tol, color="tab:red", lw=1.2, ls=":", label=tol_label)
        ax.axhspan(min(base, tol), max(base, tol), color="tab:green", alpha=0.08, label="within tolerance")
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    plain = FuncFormatter(lambda v, _pos: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_ylim(*yr)
    ax.set_xlabel(xl)
    ax.set_ylabel(yl)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _html(path: Path, pts: list[Point], front: list[Point], base: float | None, tol: float | None,
          yr: tuple[float, float], xl: str, yl: str, title: str, tol_label: str) -> None:
    import plotly.graph_objects as go

    fig = go.Figure()
    groups = [("recommended", "star", "green", 16, [p for p in pts if p.recommended]),
              ("on the Pareto front", "circle", "royalblue", 9, [p for p in pts if p.pareto and not p.recommended]),
              ("dominated", "circle", "gray", 9, [p for p in pts if not p.pareto and not p.recommended])]
    for label, symbol, color, size, group in groups:
        if group:
            fig.add_trace(go.Scatter(x=[p.energy for p in group], y=[p.quality for p in group], mode="markers+text",
                                     text=[p.name for p in group], textposition="top center", name=label,
                                     marker={"size": size, "color": color, "symbol": symbol}))
    if len(front) > 1:
        fig.add_trace(go.Scatter(x=[p.energy for p in front], y=[p.quality for p in front], mode="lines",
                                 name="Pareto front", line={"dash": "dash", "color": "royalblue"}))
    if base is not None and tol is not None:
        fig.add_hrect(y0=min(base, tol), y1=max(base, tol), fillcolor="green", opacity=0.08, line_width=0)
        fig.add_hline(y=base, line={"color": "black", "width": 1}, annotation_text="fp32 baseline")
        fig.add_hline(y=tol, line={"color": "red", "dash": "dot"}, annotation_text=tol_label)
    fig.update_layout(title=title, xaxis_title=xl, yaxis_title=yl, xaxis_type="log", yaxis_range=list(yr),
                      legend={"orientation": "h"})
    fig.write_html(str(path), include_plotlyjs=True, full_html=True)
