"""``serve-bench``: concurrency levels against one endpoint, metered as one wattwise run with a phase per level.

The meter reads this machine's sensors (counters where present, modelled otherwise), so the energy is the
server's when the server runs here. Per level: J per request and per output token, output tokens/s, TTFT and
inter-token latency p50/p95, the load generator's own CPU use (share of one core), and the failures.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from wattwise.errors import WattwiseError
from wattwise.serve.loadgen import RequestResult, endpoint, load_prompts, payload, run_level


def _q(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


@dataclass
class Level:
    """Results of one concurrency level."""

    concurrency: int
    results: list[RequestResult]
    seconds: float
    energy_j: float
    energy_method: str
    client_cpu_s: float
    planned: int

    @property
    def ok(self) -> list[RequestResult]:
        return [r for r in self.results if r.ok]

    def to_dict(self) -> dict:
        ok = self.ok
        toks = sum(r.output_tokens for r in ok)
        ttft = [r.ttft_s for r in ok if r.ttft_s is not None]
        itl = [x for r in ok for x in r.itl_s]
        errors = Counter(r.error for r in self.results if not r.ok)
        return {
            "concurrency": self.concurrency,
            "requests_planned": self.planned,
            "requests_sent": len(self.results),
            "requests_ok": len(ok),
            "requests_failed": len(self.results) - len(ok),
            "errors": dict(errors),
            "seconds": self.seconds,
            "output_tokens": toks,
            "tokens_per_s": toks / self.seconds if self.seconds > 0 else None,
            "energy_j": self.energy_j,
            "energy_method": self.energy_method,
            "j_per_request": self.energy_j / len(ok) if ok else None,
            "j_per_output_token": self.energy_j / toks if toks else None,
            "ttft_p50_s": _q(ttft, 0.50),
            "ttft_p95_s": _q(ttft, 0.95),
            "itl_p50_s": _q(itl, 0.50),
            "itl_p95_s": _q(itl, 0.95),
            "latency_p50_s": _q([r.latency_s for r in ok], 0.50),
            "client_cpu_share_of_one_core": self.client_cpu_s / self.seconds if self.seconds > 0 else None,
        }


@dataclass
class BenchResult:
    url: str
    model: str
    api: str
    run_id: str | None
    levels: list[Level] = field(default_factory=list)
    footprint: dict | None = None

    def to_dict(self) -> dict:
        return {
            "url": self.url,
            "model": self.model,
            "api": self.api,
            "run_id": self.run_id,
            "levels": [lv.to_dict() for lv in self.levels],
            "footprint": self.footprint,
        }


def parse_levels(text: str) -> list[int]:
    try:
        vals = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise WattwiseError(f"--concurrency must be whole numbers, got {text!r}", "e.g. --concurrency 1,4,16") from None
    if not vals or any(v < 1 or v > 1024 for v in vals):
        raise WattwiseError(f"concurrency levels must be 1..1024, got {text!r}", "e.g. --concurrency 1,4,16")
    return vals


def _method(run: object) -> str:
    """"measured" when every joule so far is counter-backed, "modelled" when none is, else "mixed"."""
    share = run.footprint().measured_share  # type: ignore[attr-defined]
    return "measured" if share >= 1.0 else ("modelled" if share <= 0.0 else "mixed")


def run_bench(
    url: str,
    model: str,
    *,
    concurrency: list[int],
    requests: int | None = None,
    prompts: str | Path | None = None,
    api: str = "chat",
    max_tokens: int = 64,
    timeout_s: float = 60.0,
    max_seconds: float = 300.0,
    store: str | None = None,
    location: str | None = None,
    interval: float = 0.5,
    on_level: object = None,
) -> BenchResult:
    """Run every level (``requests`` per level; default 4 x concurrency, at least 8) inside one metered run."""
    import wattwise

    target = endpoint(url, api)
    texts = load_prompts(prompts)
    if not model.strip():
        raise WattwiseError("no model name given", "pass --model NAME as the server knows it")
    if requests is not None and not 1 <= requests <= 100_000:
        raise WattwiseError(f"--requests must be 1..100000, got {requests}")
    if max_tokens < 1 or timeout_s <= 0 or max_seconds <= 0:
        raise WattwiseError("--max-tokens, --timeout and --max-seconds must be > 0")
    res = BenchResult(target, model, api, None)
    cfg = {"url": target, "model": model, "api": api, "concurrency": concurrency, "max_tokens": max_tokens}
    with wattwise.track(f"serve-bench {model}", store=store, location=location, interval=interval,
                        config=cfg, command="serve-bench") as run:  # fmt: skip
        res.run_id = run.id
        for c in concurrency:
            n = requests or max(8, 4 * c)
            bodies = [payload(model, texts[i % len(texts)], api, max_tokens) for i in range(n)]
            with run.phase(f"concurrency-{c}"):
                e0, cpu0 = run.energy_j(max_age=0), time.process_time()
                results, secs = asyncio.run(
                    run_level(target, bodies, c, timeout_s=timeout_s, max_seconds=max_seconds)
                )
                cpu = time.process_time() - cpu0
                ok = [r for r in results if r.ok]
                run.add(tokens=sum(r.output_tokens for r in ok), requests=len(ok))
                e1 = run.energy_j(max_age=0)
            level = Level(c, results, secs, e1 - e0, _method(run), cpu, n)
            res.levels.append(level)
            if callable(on_level):
                on_level(level)
        fp = run.footprint()
        res.footprint = fp.to_dict()
    return res


def plot(result: BenchResult, path: Path) -> Path | None:
    """Energy per output token against median inter-token latency, one point per level (plotly HTML)."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        return None
    rows = [lv.to_dict() for lv in result.levels]
    pts = [r for r in rows if r["j_per_output_token"] and r["itl_p50_s"]]
    fig = go.Figure(
        go.Scatter(
            x=[r["itl_p50_s"] * 1000 for r in pts],
            y=[r["j_per_output_token"] for r in pts],
            mode="lines+markers+text",
            text=[f"c={r['concurrency']}" for r in pts],
            textposition="top center",
        )
    )
    fig.update_layout(
        title=f"serve-bench {result.model}: energy per output token vs latency ({result.url})",
        xaxis_title="inter-token latency p50 (ms)",
        yaxis_title="J per output token (this machine)",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_html(path, include_plotlyjs=True)
    return path
