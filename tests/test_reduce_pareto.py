"""Pareto plots of a lab result: offline HTML, PNG with legend, tolerance line and a quality axis that shows
the tolerance band (so noise is not drawn as a trade-off)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from wattwise.reduce.pareto import MIN_SPAN_TOLERANCES, plot, tolerance, y_range


def _lab(metric: str = "spearman_x100") -> SimpleNamespace:
    v = [SimpleNamespace(name=n, ok=True, energy_j_per_1k=e, quality=q, pareto=p, energy_method="modelled")
         for n, e, q, p in [("fp32", 100.0, 82.10, False), ("int8", 40.0, 82.05, True),
                            ("pruned", 60.0, 81.97, False), ("distill", 25.0, 81.98, True)]]
    return SimpleNamespace(variants=v, recommended="distill", metric=metric, unit="pairs", model="tiny",
                           max_quality_drop=0.5)


def test_html_is_offline_and_png_is_written(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    pytest.importorskip("matplotlib")
    png, html = tmp_path / "pareto.png", tmp_path / "pareto.html"
    assert plot(_lab(), png, html) == [png, html]
    page = html.read_text()
    assert '<script src="https://cdn.plot.ly' not in page and "<script src=" not in page  # no CDN
    assert len(page) > 1_000_000 and "plotly.js v" in page  # plotly.js inlined
    assert "tolerance: -0.5 vs fp32" in page and "fp32 baseline" in page and "recommended" in page
    assert png.stat().st_size > 10_000


def test_axis_spans_the_tolerance_band() -> None:
    lab = _lab()
    base = 82.10
    assert tolerance(lab, base) == pytest.approx(81.6)
    lo, hi = y_range(lab, [], base)
    assert hi - lo >= MIN_SPAN_TOLERANCES * 0.5  # 0.13 points of noise are drawn inside a >= 2-point axis
    assert lo < 81.6 < 82.1 < hi
    ppl = _lab("perplexity")
    assert tolerance(ppl, 20.0) == pytest.approx(20.1)  # +0.5 % perplexity


def test_png_has_a_legend_and_the_tolerance_line(tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    captured = {}
    real_savefig = plt.Figure.savefig

    def keep(self, *a, **k):  # type: ignore[no-untyped-def]
        captured["fig"] = self
        return real_savefig(self, *a, **k)

    plt.Figure.savefig = keep  # type: ignore[method-assign]
    try:
        plot(_lab(), tmp_path / "p.png")
    finally:
        plt.Figure.savefig = real_savefig  # type: ignore[method-assign]
    ax = captured["fig"].axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "tolerance: -0.5 vs fp32" in labels and "recommended" in labels and "Pareto front" in labels
    lo, hi = ax.get_ylim()
    assert hi - lo >= 2.0
