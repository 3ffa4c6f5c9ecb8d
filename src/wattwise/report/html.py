"""The self-contained HTML report of one run, or of several runs side by side.

One file, no network: styles and plotly.js are inline. Every figure says whether it was measured or
modelled and where its constants come from.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from wattwise import __version__
from wattwise import equivalents as everyday
from wattwise.errors import WattwiseError
from wattwise.fmt import fmt_duration, fmt_energy, fmt_mass, fmt_small_energy
from wattwise.footprint import J_PER_KWH, WORLD_AVERAGE
from wattwise.report import plots
from wattwise.report.data import RunView, load_run
from wattwise.report.sci import FunctionalUnit, SciScore, parse_unit, run_embodied, sci
from wattwise.report.whatif import WhatIf, whatif_rows
from wattwise.store.connect import open_store
from wattwise.store.sql import SqlStore

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2521;background:#f6f8f7}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #cfd8d3}
table{border-collapse:collapse;margin:.5em 0;background:#fff;font-size:.93em}
td,th{border:1px solid #dde5e0;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#eef3f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.kpis{display:flex;flex-wrap:wrap;gap:12px}.kpi{background:#fff;border:1px solid #dde5e0;border-radius:8px;
padding:10px 16px;min-width:150px}.kpi b{display:block;font-size:1.35em}.kpi span{color:#5b6b62;font-size:.85em}
.banner{background:#fff4d6;border:1px solid #e0b84c;padding:8px 12px;border-radius:6px}
.muted{color:#5b6b62;font-size:.88em}.tag{display:inline-block;padding:0 6px;border-radius:4px;font-size:.85em}
.measured{background:#d7f0df}.modelled{background:#f3e3c8}section.run{margin-bottom:2.5em}
"""


@dataclass
class ReportOptions:
    """What the report shows besides the run itself."""

    per: list[str] = field(default_factory=list)  # SCI functional units; default: each counter + run
    compare_regions: list[str] = field(default_factory=list)
    compressed_run: str | None = None
    window_hours: float = 24.0  # what-if: best start within this many hours of the run's start
    location: str | None = None
    intensity: float | None = None


def _e(x: object) -> str:
    return html.escape(str(x))


def _when(t: float | None) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    h = "".join(f"<th>{_e(c)}</th>" for c in head)
    body = "".join(
        "<tr>" + "".join(f"<td class='n'>{c}</td>" if i in numeric else f"<td>{c}</td>" for i, c in enumerate(r))
        + "</tr>" for r in rows)
    return f"<table><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>"


def sci_scores(view: RunView, per: list[str]) -> list[SciScore]:
    """SCI for each requested functional unit (default: each counter, and the whole run)."""
    m = run_embodied(view.rec, view.fp)
    if per:
        return [sci(view.fp, parse_unit(u, view.fp.counters), m) for u in per]
    # each counter as recorded (names stored before they were validated need not parse as a unit)
    units = [FunctionalUnit(1.0, k[:-1] if k.endswith("s") and len(k) > 1 else k, k)
             for k, v in sorted(view.fp.counters.items()) if v]
    return [sci(view.fp, u, m) for u in [*units, parse_unit("run", view.fp.counters)]]


def _summary(view: RunView) -> str:
    fp, rec, i = view.fp, view.rec, view.fp.intensity
    lo, hi = fp.range_kg
    kpis = [
        (fmt_energy(fp.facility_kwh * J_PER_KWH), f"energy (IT x PUE {fp.pue:g}), ±{fp.uncertainty:.0%}"),
        (fmt_mass(fp.total_kg), f"CO2e, range {fmt_mass(lo)} – {fmt_mass(hi)}"),
        (fmt_duration(fp.duration_s or rec.duration_s), "duration"),
        (f"{fp.measured_share:.0%}", f"measured ({1 - fp.measured_share:.0%} modelled)"),
    ]
    k = "".join(f"<div class='kpi'><b>{_e(a)}</b><span>{_e(b)}</span></div>" for a, b in kpis)
    rows = [
        ("status", _e(rec.status + ("" if rec.exit_code is None else f" (exit {rec.exit_code})"))),
        ("started / ended", f"{_when(rec.started_at)} / {_when(rec.ended_at)}"),
        ("host", _e(rec.host)),
        ("location", _e(rec.location or ("not given (world-average intensity used)" if i == WORLD_AVERAGE
                                         else "not given"))),
        ("hardware", _e(view.hardware)),
        ("carbon intensity", _e(f"{i.g_per_kwh:.0f} gCO2e/kWh — {i.source} ({i.resolution}, {i.kind}, "
                                f"{i.signal} signal)")),
        ("PUE", _e(f"{fp.pue:g} ({fp.pue_source})")),
        ("embodied", _e(f"{fmt_mass(fp.embodied_kg)}" + (f" ({fp.embodied_source})" if fp.embodied_source
                                                          else " (not included)"))),
        ("CO2e uncertainty", _e(f"±{fp.uncertainty:.0%} of operational CO2e, from the stated uncertainty of each "
                                "energy source (added in quadrature); intensity uncertainty not included")),
        ("sensors", _e(", ".join(rec.config.get("sensors", [])) or "-")),
    ]
    if rec.command:
        rows.append(("command", f"<code>{_e(rec.command)}</code>"))
    return f"<div class='kpis'>{k}</div>" + _table(["", ""], [(f"<b>{a}</b>", b) for a, b in rows])


def _components(view: RunView) -> str:
    fp = view.fp
    total = fp.it_kwh or 1.0
    rows = [(_e(d.domain), fmt_energy(d.joules), f"{d.kwh / total:.0%}",
             f"<span class='tag {d.method.value}'>{d.method.value}</span>", _e(d.source), f"±{d.uncertainty:.0%}")
            for d in fp.energy]
    return _table(["component", "energy", "share", "how", "source", "uncertainty"], rows, numeric=(1, 2, 5))


def _phases(view: RunView) -> str:
    named = {k: v for k, v in view.phase_j.items() if k != "-"}
    if not named:
        return "<p class='muted'>No phases recorded (use <code>run.phase('name')</code>).</p>"
    top = sum(v for k, v in view.phase_j.items() if "/" not in k) or 1.0
    spans = {p.name: p for p in view.phases}
    rows = []
    for k, v in sorted(view.phase_j.items()):
        p = spans.get(k)
        secs = fmt_duration((p.ended_at or view.last_sample_at or p.started_at) - p.started_at) if p else "-"
        rows.append((_e(k), fmt_energy(v), f"{v / top:.0%}", secs))
    return _table(["phase", "energy", "share", "time"], rows, numeric=(1, 2, 3))


def _per_unit(view: RunView) -> str:
    fp = view.fp
    rows = []
    for name, n in sorted(fp.counters.items()):
        if not n:
            continue
        j = fp.facility_kwh * J_PER_KWH / n
        g = fp.total_kg * 1000.0 / n
        rows.append((_e(name), f"{n:,.0f}", fmt_small_energy(j), f"{g:.3g} g", fmt_small_energy(j * 1000),
                     f"{g * 1000:.3g} g"))
    if not rows:
        return ("<p class='muted'>No work counted: use <code>run.add(tokens=n)</code> or <code>run.step()</code> to "
                "get energy per token or sample.</p>")
    return _table(["counter", "count", "energy per unit", "CO2e per unit", "energy per 1,000", "CO2e per 1,000"],
                  rows, numeric=(1, 2, 3, 4, 5))


def _equivalents(view: RunView) -> str:
    fp = view.fp
    eq = everyday.equivalents(fp.total_kg) + everyday.energy_equivalents(fp.facility_kwh * J_PER_KWH)
    # leave out comparisons too large to mean anything here (1e-8 flights), keeping at least the two closest
    readable = [e for e in eq if e["value"] >= 1e-3]
    eq = readable if len(readable) >= 2 else sorted(eq, key=lambda e: -e["value"])[:2]
    rows = [(_e(everyday.text(e)), f"<span class='muted'>{_e(e['source'])}</span>") for e in eq]
    return _table(["about the same as", "source"], rows)


def _whatifs(view: RunView, rows: list[WhatIf]) -> str:
    base = view.fp.total_kg
    out = [(_e(f"this run ({view.fp.methods})"), fmt_mass(base), "",
            _e(f"{view.fp.intensity.g_per_kwh:.0f} gCO2e/kWh"))]
    for w in rows:
        ch = w.change(base)
        out.append((_e(w.label), fmt_mass(w.co2e_kg) if w.co2e_kg is not None else "not available",
                    f"{ch:+.0%}" if ch is not None else "", _e(w.detail)))
    return _table(["the same run…", "CO2e", "change", "basis"], out, numeric=(1, 2))


def _sci(scores: list[SciScore]) -> str:
    rows = [(_e(s.unit.label), _e(s.text()), _e(s.formula())) for s in scores]
    return (_table(["R (functional unit)", "SCI", "(E x I + M) / R"], rows) +
            "<p class='muted'>Software Carbon Intensity of the Green Software Foundation (SCI = (E·I + M) per R; "
            "ISO/IEC 21031:2024). " + _e(scores[0].boundary if scores else "") + "; I: the effective grid intensity; "
            "M: embodied emissions of the hardware share (" + _e(scores[0].m_source if scores else "") + "); "
            "R: the functional unit, always a counter the run recorded.</p>")


def run_section(view: RunView, opts: ReportOptions, compressed: RunView | None, idx: int) -> str:
    rec = view.rec
    parts = [f"<section class='run' id='run-{_e(rec.id)}'>",
             f"<h1>{_e(rec.name)}</h1><p class='muted'>run <code>{_e(rec.id)}</code></p>"]
    if view.live:
        parts.append(f"<p class='banner'>This run is still in progress: figures up to the last sample "
                     f"({_when(view.last_sample_at)}).</p>")
    elif rec.status != "finished":
        parts.append(f"<p class='banner'>This run ended as <b>{_e(rec.status)}</b>: figures cover what was "
                     "recorded.</p>")
    parts += ["<h2>Summary</h2>", _summary(view)]
    parts += ["<h2>Power over time</h2>", plots.fig_div(plots.power_figure(view), f"power-{idx}")]
    parts += ["<h2>Energy by component</h2>", _components(view)]
    parts += ["<h2>Energy by phase</h2>", _phases(view)]
    pf = plots.phase_figure(view)
    if pf is not None:
        parts.append(plots.fig_div(pf, f"phases-{idx}"))
    parts += ["<h2>Energy per unit of work</h2>", _per_unit(view)]
    parts += ["<h2>In everyday terms</h2>", _equivalents(view)]
    rows = whatif_rows(view, opts.compare_regions, compressed, opts.window_hours)
    parts += ["<h2>What if</h2>", _whatifs(view, rows)]
    parts += ["<h2>SCI score</h2>", _sci(sci_scores(view, opts.per))]
    if view.fp.notes:
        parts.append("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in view.fp.notes) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _comparison(views: list[RunView], opts: ReportOptions) -> str:
    head = ["", *[f"{v.rec.name[:30]} ({v.rec.id[-8:]})" for v in views]]

    def row(label: str, f: object) -> list[str]:
        return [f"<b>{_e(label)}</b>", *[_e(f(v)) for v in views]]  # type: ignore[operator]

    rows = [
        row("run id", lambda v: v.rec.id),
        row("status", lambda v: v.rec.status),
        row("duration", lambda v: fmt_duration(v.fp.duration_s or v.rec.duration_s)),
        row("energy (facility)", lambda v: fmt_energy(v.fp.facility_kwh * J_PER_KWH)),
        row("CO2e", lambda v: fmt_mass(v.fp.total_kg)),
        row("measured share", lambda v: f"{v.fp.measured_share:.0%}"),
        row("intensity", lambda v: f"{v.fp.intensity.g_per_kwh:.0f} g/kWh"),
        row("location", lambda v: v.rec.location or "-"),
    ]
    counters = sorted({k for v in views for k, n in v.fp.counters.items() if n})
    for c in counters:
        rows.append(row(f"energy per {c[:-1] if c.endswith('s') else c}",
                        lambda v, c=c: fmt_small_energy(v.fp.per(c) or 0.0) if v.fp.per(c) else "-"))
    for unit in opts.per or ["run"]:
        def score(v: RunView, unit: str = unit) -> str:
            try:
                return sci(v.fp, parse_unit(unit, v.fp.counters), run_embodied(v.rec, v.fp)).text()
            except WattwiseError:
                return "-"
        rows.append(row(f"SCI per {unit}", score))
    fig = plots.fig_div(plots.compare_figure(views), "compare")
    return "<section><h1>Runs compared</h1>" + _table(head, rows) + fig + "</section>"


def render(views: list[RunView], opts: ReportOptions | None = None, compressed: RunView | None = None) -> str:
    """The HTML page for one run, or a comparison of several followed by each run's details."""
    opts = opts or ReportOptions()
    title = views[0].rec.name if len(views) == 1 else f"{len(views)} runs compared"
    body = [_comparison(views, opts)] if len(views) > 1 else []
    body += [run_section(v, opts, compressed, i) for i, v in enumerate(views)]
    made = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>wattwise: {_e(title)}</title>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{CSS}</style>"
            f"<script>{plots.plotlyjs_inline()}</script></head><body><main>"
            + "\n".join(body) +
            f"<p class='muted'>Made by wattwise {__version__} on {made}. Modelled figures are labelled as such and "
            "are estimates, not measurements.</p></main></body></html>")


def write_report(store: SqlStore | str | Path | None, run_id: str | Sequence[str], path: str | Path,
                 opts: ReportOptions | None = None) -> Path:
    """Write the HTML report of one run (or several, compared) to ``path``; returns the path.

    ``store`` is an open store, or a path/URL to open (None: the default store).
    """
    opts = opts or ReportOptions()
    if not isinstance(store, SqlStore):
        store = open_store(store)
    ids = [run_id] if isinstance(run_id, str) else list(run_id)
    if not ids:
        raise WattwiseError("no run given", "name one or more run ids, or 'last'")
    views = [load_run(store, r, opts.location, opts.intensity) for r in ids]
    compressed = load_run(store, opts.compressed_run) if opts.compressed_run else None
    page = render(views, opts, compressed)
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise WattwiseError(f"cannot write {out}: {exc.strerror or exc}") from exc
    return out
