"""Pareto plot of a lab run: quality against energy per 1,000 inputs (PNG: matplotlib, HTML: plotly)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _points(lab: Any) -> list[tuple[str, float, float, bool, bool]]:
    return [
        (v.name, v.energy_j_per_1k, v.quality, v.pareto, v.name == lab.recommended)
        for v in lab.variants
        if v.ok and v.energy_j_per_1k is not None and v.quality is not None
    ]


def _labels(lab: Any) -> tuple[str, str]:
    method = next((v.energy_method for v in lab.variants if v.ok), "modelled")
    y = "Spearman x 100 (STS-B dev)" if lab.metric == "spearman_x100" else "perplexity (held-out)"
    return f"energy per 1,000 {lab.unit} (J, {method})", y


def plot(lab: Any, png: Path | None = None, html: Path | None = None) -> list[Path]:
    """Write the plot(s); returns the paths written."""
    pts = _points(lab)
    written: list[Path] = []
    if not pts:
        return written
    xl, yl = _labels(lab)
    title = f"wattwise reduce: {lab.model}"
    front = sorted((p for p in pts if p[3]), key=lambda p: p[1])
    if png is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(8, 5.5))
        for name, x, y, on_front, rec in pts:
            ax.scatter(
                [x],
                [y],
                s=70 if rec else 35,
                marker="*" if rec else "o",
                color="tab:green" if rec else ("tab:blue" if on_front else "tab:gray"),
                zorder=3,
            )
            ax.annotate(name, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=7)
        if len(front) > 1:
            ax.plot([p[1] for p in front], [p[2] for p in front], "--", color="tab:blue", lw=1, zorder=2)
        ax.set_xscale("log")
        ax.set_xlabel(xl)
        ax.set_ylabel(yl)
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(png, dpi=120)
        plt.close(fig)
        written.append(png)
    if html is not None:
        import plotly.graph_objects as go

        fig2 = go.Figure()
        fig2.add_trace(
            go.Scatter(
                x=[p[1] for p in pts],
                y=[p[2] for p in pts],
                mode="markers+text",
                text=[p[0] for p in pts],
                textposition="top center",
                name="variants",
                marker={
                    "size": [16 if p[4] else 9 for p in pts],
                    "color": ["green" if p[4] else ("royalblue" if p[3] else "gray") for p in pts],
                },
            )
        )
        if len(front) > 1:
            fig2.add_trace(
                go.Scatter(
                    x=[p[1] for p in front],
                    y=[p[2] for p in front],
                    mode="lines",
                    name="Pareto front",
                    line={"dash": "dash"},
                )
            )
        fig2.update_layout(title=title, xaxis_title=xl, yaxis_title=yl, xaxis_type="log")
        fig2.write_html(str(html), include_plotlyjs="cdn")
        written.append(html)
    return written
