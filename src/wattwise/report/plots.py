"""Plotly figures of runs: power over time by component, energy by phase, runs compared.

The figures are plain dicts/``go.Figure`` objects; :func:`fig_div` renders one as an HTML ``<div>`` without
plotly.js, which the page embeds once inline (:func:`plotlyjs_inline`) so a report works offline.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from wattwise.errors import WattwiseError
from wattwise.store.records import SampleRow

if TYPE_CHECKING:
    from wattwise.report.data import RunView

MAX_POINTS = 1500


def _go() -> Any:
    try:
        import plotly.graph_objects as go
    except ImportError as exc:
        raise WattwiseError("plots need plotly, which is not installed", "pip install 'wattwise[report]'") from exc
    return go


def power_series(samples: list[SampleRow], t0: float, max_points: int = MAX_POINTS) -> dict[str, tuple[list, list]]:
    """Per domain: (seconds since t0 at each bin's middle, mean watts over the bin).

    Samples are spread over fixed-width bins (at least the median sampling interval, at most ``max_points`` bins)
    in proportion to their overlap, and a bin's power is its energy over the seconds samples covered in it. So
    the area under the curve stays the energy, the short or zero-length samples cut at phase edges make neither
    dips nor spikes, and the curve starts at the first sample's power (no line from 0 W). Bins no sample covers
    are left out (a gap, not a drop to 0 W).
    """
    by_domain: dict[str, list[SampleRow]] = defaultdict(list)
    for s in samples:
        if s.t_end > s.t_start:
            by_domain[s.domain].append(s)
    out = {}
    for domain, rows in sorted(by_domain.items()):
        rows.sort(key=lambda r: r.t_start)
        lo, hi = rows[0].t_start, max(r.t_end for r in rows)
        durations = sorted(r.t_end - r.t_start for r in rows)
        width = max(durations[len(durations) // 2], (hi - lo) / max_points, 1e-6)
        n = max(1, min(int(-(-(hi - lo) // width)), max_points))
        width = (hi - lo) / n
        joules = [0.0] * n
        covered = [0.0] * n
        for r in rows:
            first = min(int((r.t_start - lo) / width), n - 1)
            last = min(int((r.t_end - lo) / width), n - 1)
            w = r.joules / (r.t_end - r.t_start)
            for b in range(first, last + 1):
                a, z = max(r.t_start, lo + b * width), min(r.t_end, lo + (b + 1) * width)
                if z > a:
                    joules[b] += w * (z - a)
                    covered[b] += z - a
        xs, ys = [], []
        for b in range(n):
            if covered[b] > 0.25 * width:
                xs.append(round(lo + (b + 0.5) * width - t0, 3))
                ys.append(joules[b] / covered[b])
        out[domain] = (xs, ys)
    return out


def power_figure(view: RunView) -> Any:
    """Stacked power by component over the run, with phases shaded."""
    go = _go()
    fig = go.Figure()
    t0 = view.rec.started_at
    for domain, (xs, ys) in power_series(view.samples, t0).items():
        fig.add_trace(go.Scatter(x=xs, y=ys, name=domain, mode="lines", stackgroup="power",
                                 hovertemplate="%{y:.2f} W at %{x:.1f} s<extra>" + domain + "</extra>"))
    for i, ph in enumerate(view.phases[:40]):
        end = ph.ended_at or (view.last_sample_at or ph.started_at)
        fig.add_vrect(x0=ph.started_at - t0, x1=end - t0, fillcolor="#888", opacity=0.08 + 0.04 * (i % 2),
                      line_width=0, annotation_text=ph.name, annotation_position="top left")
    fig.update_layout(title="Power by component", xaxis_title="seconds since start", yaxis_title="watts",
                      height=380, margin={"l": 50, "r": 20, "t": 50, "b": 40}, legend={"orientation": "h"})
    return fig


def phase_figure(view: RunView) -> Any | None:
    named = {k: v for k, v in view.phase_j.items() if k != "-"}
    if not named:
        return None
    go = _go()
    names = sorted(view.phase_j)
    fig = go.Figure(go.Bar(x=[view.phase_j[n] for n in names], y=names, orientation="h",
                           hovertemplate="%{x:.1f} J<extra></extra>"))
    fig.update_layout(title="Energy by phase ('-' = outside any phase)", xaxis_title="joules",
                      height=120 + 28 * len(names), margin={"l": 120, "r": 20, "t": 50, "b": 40})
    return fig


def compare_figure(views: list[RunView]) -> Any:
    """Energy of several runs side by side, stacked by component."""
    go = _go()
    labels = [f"{v.rec.name[:24]} ({v.rec.id[-8:]})" for v in views]
    domains = sorted({d.domain for v in views for d in v.fp.energy})
    fig = go.Figure()
    for dom in domains:
        ys = [next((d.joules for d in v.fp.energy if d.domain == dom), 0.0) for v in views]
        fig.add_trace(go.Bar(x=labels, y=ys, name=dom, hovertemplate="%{y:.1f} J<extra>" + dom + "</extra>"))
    fig.update_layout(barmode="stack", title="IT energy by component", yaxis_title="joules", height=380,
                      margin={"l": 50, "r": 20, "t": 50, "b": 80}, legend={"orientation": "h"})
    return fig


def fig_div(fig: Any, div_id: str) -> str:
    """The figure as an HTML div (plotly.js not included)."""
    import plotly.io as pio

    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id,
                       config={"displaylogo": False, "responsive": True})


def plotlyjs_inline() -> str:
    """plotly.js itself, for one inline <script> per page (self-contained, offline)."""
    try:
        from plotly.offline import get_plotlyjs
    except ImportError as exc:
        raise WattwiseError("reports need plotly, which is not installed", "pip install 'wattwise[report]'") from exc
    return get_plotlyjs()
