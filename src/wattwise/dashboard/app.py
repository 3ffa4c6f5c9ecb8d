"""The dashboard: run list with filters, run detail with plots, runs compared; live runs refresh themselves.

Server-rendered pages that reuse the HTML report's pieces; plotly.js is served from the installed plotly
package (no CDN). The store is opened read-only. Bind to 127.0.0.1 unless you mean to share it.
"""

from __future__ import annotations

import datetime as dt
import html
import urllib.parse
from pathlib import Path
from typing import Any

from wattwise.errors import NotFoundError, WattwiseError
from wattwise.fmt import fmt_duration, fmt_small_energy
from wattwise.report import html as rh
from wattwise.report import plots
from wattwise.report.data import RunView, load_run
from wattwise.store.sql import MAX_ID_LEN, SqlStore

REFRESH_S = 5
STATUSES = ("running", "finished", "failed", "interrupted")
#: Host headers answered by default (a DNS-rebinding page reaches us under its own name and is refused).
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
#: At most this many runs compared on one page, and run ids at most this long (a clear 4xx beyond).
MAX_COMPARE = 8


def _host_name(header: str) -> str:
    """The host part of a Host header, lower-case, without the port (``[::1]:8765`` -> ``::1``)."""
    h = header.strip().lower()
    if h.startswith("["):
        return h[1:h.find("]")] if "]" in h else h
    return h.rsplit(":", 1)[0] if h.count(":") == 1 else h


def allowed_hosts(extra: list[str] | None = None, bind: str | None = None) -> set[str]:
    """The Host names served: localhost names, the bound address when it is a specific one, and ``extra``."""
    names = {*LOCAL_HOSTS, *(_host_name(h) for h in (extra or []))}
    if bind and bind not in ("0.0.0.0", "::", ""):
        names.add(_host_name(bind if ":" not in bind else f"[{bind}]"))
    return names


class HostCheck:
    """ASGI middleware: refuse (421) requests whose Host header is not in the allow-list."""

    def __init__(self, app: Any, hosts: set[str]) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), "")
            if _host_name(host) not in self.hosts:
                body = (b"misdirected request: this dashboard answers only to " +
                        ", ".join(sorted(self.hosts)).encode() + b" (add names with --allow-host)")
                await send({"type": "http.response.start", "status": 421,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _check_id(run_id: str) -> None:
    if len(run_id) > MAX_ID_LEN:
        raise WattwiseError(f"run id of {len(run_id)} characters is too long (at most {MAX_ID_LEN})",
                            "use the id shown in the run list")


def _plotly_js_path() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _page(title: str, body: str, refresh: bool = False, plotly_js: bool = False) -> str:
    meta = f"<meta http-equiv='refresh' content='{REFRESH_S}'>" if refresh else ""
    js = "<script src='/static/plotly.min.js'></script>" if plotly_js else ""
    nav = "<p><a href='/'>all runs</a></p>"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>wattwise: {html.escape(title)}"
            f"</title>{meta}<style>{rh.CSS}</style>{js}</head><body><main>{nav}{body}</main></body></html>")


def _when(t: float | None) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def run_list_html(store: SqlStore, name: str | None, status: str | None, limit: int) -> tuple[str, bool]:
    recs = store.list_runs(limit=None if status else limit, name=name or None)
    if status:
        recs = [r for r in recs if r.status == status][:limit]
    totals = store.energy_totals([r.id for r in recs])
    live = any(r.status == "running" for r in recs)
    opts = "".join(f"<option value='{s}'{' selected' if s == status else ''}>{s}</option>" for s in STATUSES)
    form = (f"<form method='get' action='/' id='filters'>name contains <input name='name' value='"
            f"{html.escape(name or '')}'> status <select name='status'><option value=''>any</option>{opts}</select>"
            f" limit <input name='limit' type='number' min='1' value='{limit}' style='width:5em'> "
            "<button type='submit'>filter</button></form>")
    rows = []
    for r in recs:
        rid = html.escape(r.id)
        rows.append((f"<input type='checkbox' name='ids' value='{rid}' form='compare'>",
                     f"<a class='run-link' href='/runs/{urllib.parse.quote(r.id)}'>{html.escape(r.name)}</a>",
                     f"<code>{rid}</code>", html.escape(r.status), _when(r.started_at), fmt_duration(r.duration_s),
                     fmt_small_energy(totals.get(r.id, 0.0)), html.escape(r.location or "-")))
    table = (rh._table(["", "name", "id", "status", "started", "duration", "energy (IT)", "location"], rows,
                       numeric=(5, 6)) if rows else "<p id='no-runs'>No runs match.</p>")
    compare = ("<form method='get' action='/compare' id='compare'><button type='submit'>compare selected"
               "</button></form>")
    note = f"<p class='muted'>store: {html.escape(store.location)} (read-only)" + (
        f"; refreshing every {REFRESH_S} s while runs are live" if live else "") + "</p>"
    return f"<h1>Runs</h1>{form}{note}<div id='runs'>{table}</div>{compare}", live


def run_detail_html(view: RunView) -> str:
    rec = view.rec
    parts = [f"<h1>{html.escape(rec.name)}</h1><p class='muted'>run <code>{html.escape(rec.id)}</code> — "
             f"<a href='/api/runs/{urllib.parse.quote(rec.id)}'>JSON</a></p>"]
    if view.live:
        parts.append(f"<p class='banner' id='live'>Live: this page refreshes every {REFRESH_S} s.</p>")
    parts += ["<h2>Summary</h2>", rh._summary(view)]
    if view.samples:
        parts += ["<h2>Power over time</h2>", plots.fig_div(plots.power_figure(view), "power-plot")]
        parts += ["<h2>Energy by component</h2>", rh._components(view)]
        parts += ["<h2>Energy by phase</h2>", rh._phases(view)]
        parts += ["<h2>Energy per unit of work</h2>", rh._per_unit(view)]
        parts += ["<h2>SCI score</h2>", rh._sci(rh.sci_scores(view, []))]
    else:
        parts.append("<p id='no-samples'>No samples recorded yet.</p>")
    return "\n".join(parts)


def create_app(store: SqlStore, hosts: set[str] | None = None) -> Any:
    """The FastAPI app over ``store`` (only GET routes; nothing is written), answering only to ``hosts``
    (default: the localhost names)."""
    try:
        from fastapi import FastAPI
        from fastapi.responses import FileResponse
    except ImportError as exc:
        raise WattwiseError("the dashboard needs FastAPI and uvicorn, which are not installed",
                            "pip install 'wattwise[dashboard]'") from exc

    app = FastAPI(title="wattwise dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(HostCheck, hosts=hosts or allowed_hosts())
    _add_pages(app, store)
    _add_api(app, store)

    @app.get("/static/plotly.min.js")
    def plotly_js() -> FileResponse:
        return FileResponse(_plotly_js_path(), media_type="application/javascript")

    @app.get("/healthz")
    def healthz() -> dict:
        return {"ok": True}

    return app


def _add_pages(app: Any, store: SqlStore) -> None:
    """The HTML pages: run list, run detail, comparison."""
    from fastapi import Query
    from fastapi.responses import HTMLResponse

    def error_page(exc: WattwiseError) -> HTMLResponse:
        code = 404 if isinstance(exc, NotFoundError) else 400
        body = "<h1>Not found</h1>" if code == 404 else "<h1>Bad request</h1>"
        body += f"<p id='error'>{html.escape(exc.message)}</p>"
        if exc.hint:
            body += f"<p class='muted'>{html.escape(exc.hint)}</p>"
        return HTMLResponse(_page("error", body), status_code=code)

    @app.get("/", response_class=HTMLResponse)
    def index(name: str | None = None, status: str | None = None, limit: int = Query(50, ge=1, le=1000)
              ) -> HTMLResponse:
        body, live = run_list_html(store, name, status or None, limit)
        return HTMLResponse(_page("runs", body, refresh=live))

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def detail(run_id: str) -> HTMLResponse:
        try:
            _check_id(run_id)
            view = load_run(store, run_id, allow_empty=True)
        except WattwiseError as exc:
            return error_page(exc)
        return HTMLResponse(_page(view.rec.name, run_detail_html(view), refresh=view.live, plotly_js=True))

    @app.get("/compare", response_class=HTMLResponse)
    def compare(ids: list[str] = Query(default=[])) -> HTMLResponse:
        ids = list(dict.fromkeys(ids))  # the same run twice is one run
        if len(ids) < 2:
            return error_page(WattwiseError("pick at least two runs to compare", "tick them in the run list"))
        if len(ids) > MAX_COMPARE:
            return error_page(WattwiseError(f"{len(ids)} runs picked; at most {MAX_COMPARE} are compared at once",
                                            "untick some runs"))
        try:
            for r in ids:
                _check_id(r)
            views = [load_run(store, r) for r in ids]
        except WattwiseError as exc:
            return error_page(exc)
        body = rh._comparison(views, rh.ReportOptions())
        return HTMLResponse(_page("compare", body, refresh=any(v.live for v in views), plotly_js=True))


def _add_api(app: Any, store: SqlStore) -> None:
    """The JSON API: runs and one run's footprint."""
    from fastapi import Query
    from fastapi.responses import JSONResponse

    @app.get("/api/runs")
    def api_runs(limit: int = Query(50, ge=1, le=1000)) -> JSONResponse:
        recs = store.list_runs(limit=limit)
        totals = store.energy_totals([r.id for r in recs])
        return JSONResponse([{"id": r.id, "name": r.name, "status": r.status, "started_at": r.started_at,
                              "duration_s": r.duration_s, "energy_j": totals.get(r.id, 0.0)} for r in recs])

    @app.get("/api/runs/{run_id}")
    def api_run(run_id: str) -> JSONResponse:
        from wattwise.export import run_document  # the same document as `wattwise export --format json`

        try:
            _check_id(run_id)
            doc = run_document(store, store.get_run(run_id))
        except WattwiseError as exc:
            return JSONResponse({"error": exc.message, "hint": exc.hint},
                                status_code=404 if isinstance(exc, NotFoundError) else 400)
        return JSONResponse(doc)


def serve(store: SqlStore, host: str = "127.0.0.1", port: int = 8765, allow_hosts: list[str] | None = None) -> None:
    """Run the dashboard until interrupted, answering to the localhost names, ``host`` and ``allow_hosts``."""
    try:
        import uvicorn
    except ImportError as exc:
        raise WattwiseError("the dashboard needs uvicorn, which is not installed",
                            "pip install 'wattwise[dashboard]'") from exc
    uvicorn.run(create_app(store, allowed_hosts(allow_hosts, host)), host=host, port=port, log_level="warning")
