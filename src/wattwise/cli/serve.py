"""``wattwise serve-bench``: load-test an OpenAI-compatible endpoint and meter this machine while it runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from wattwise.cli.common import make_console
from wattwise.errors import WattwiseError

Opt = typer.Option


def _f(v: float | None, scale: float = 1.0, digits: int = 3) -> str:
    return "-" if v is None else f"{v * scale:.{digits}g}"


def register(app: typer.Typer) -> None:
    """Add ``serve-bench`` to ``app``."""

    @app.command("serve-bench")
    def serve_bench_cmd(
        url: Annotated[str, typer.Argument(help="server base URL (http://host:port) or a full /completions URL")],
        model: Annotated[str, Opt("--model", help="model name as the server knows it")],
        concurrency: Annotated[str, Opt("--concurrency", help="comma list of concurrent streams")] = "1,4,16",
        requests: Annotated[
            int | None, Opt("--requests", help="requests per level (default 4 x concurrency, at least 8)")
        ] = None,
        prompts: Annotated[
            Path | None, Opt("--prompts", help="text file, one prompt per line (or JSON lines with prompt)")
        ] = None,
        api: Annotated[str, Opt("--api", help="chat (/v1/chat/completions) or completions")] = "chat",
        max_tokens: Annotated[int, Opt("--max-tokens", help="tokens to generate per request")] = 64,
        timeout: Annotated[float, Opt("--timeout", help="seconds per request")] = 60.0,
        max_seconds: Annotated[float, Opt("--max-seconds", help="time limit per level (seconds)")] = 300.0,
        out: Annotated[Path | None, Opt("--out", help="folder for results.json and plot.html")] = None,
        location: Annotated[str | None, Opt("--location", help="where this machine is (CO2)")] = None,
        store: Annotated[str | None, Opt("--store", help="run store (SQLite path or postgresql:// URL)")] = None,
        as_json: Annotated[bool, Opt("--json", help="print the results as JSON")] = False,
    ) -> None:
        """Load-test an OpenAI-compatible endpoint, metered: J/request, J/token, TTFT, ITL per concurrency level."""
        from wattwise.serve import bench

        levels = bench.parse_levels(concurrency)
        console = make_console()

        def progress(level: bench.Level) -> None:
            d = level.to_dict()
            if not as_json:
                console.print(
                    f"concurrency {d['concurrency']}: {d['requests_ok']}/{d['requests_sent']} ok, "
                    f"{_f(d['tokens_per_s'])} tokens/s",
                    highlight=False,
                )

        res = bench.run_bench(
            url,
            model,
            concurrency=levels,
            requests=requests,
            prompts=prompts,
            api=api,
            max_tokens=max_tokens,
            timeout_s=timeout,
            max_seconds=max_seconds,
            store=store,
            location=location,
            on_level=progress,
        )
        data = res.to_dict()
        folder = out or Path(f"serve-bench-{res.run_id}")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "results.json").write_text(json.dumps(data, indent=2, default=str))
        plot = bench.plot(res, folder / "plot.html")
        if as_json:
            typer.echo(json.dumps(data, indent=2, default=str))
        else:
            t = Table(title=f"serve-bench {model} at {res.url} (run {res.run_id}; energy of this machine)")
            for c in ("streams", "ok/sent", "J/request", "J/output token", "method", "tokens/s", "TTFT p50/p95 ms",
                      "ITL p50/p95 ms", "client CPU"):  # fmt: skip
                t.add_column(c, justify="right")
            for d in data["levels"]:
                t.add_row(
                    str(d["concurrency"]),
                    f"{d['requests_ok']}/{d['requests_sent']}",
                    _f(d["j_per_request"]),
                    _f(d["j_per_output_token"]),
                    d["energy_method"],
                    _f(d["tokens_per_s"]),
                    f"{_f(d['ttft_p50_s'], 1000)}/{_f(d['ttft_p95_s'], 1000)}",
                    f"{_f(d['itl_p50_s'], 1000)}/{_f(d['itl_p95_s'], 1000)}",
                    "-" if d["client_cpu_share_of_one_core"] is None else f"{d['client_cpu_share_of_one_core']:.1%}",
                )
            console.print(t)
            for d in data["levels"]:
                for msg, n in d["errors"].items():
                    console.print(f"concurrency {d['concurrency']}: {n} x {msg}", highlight=False)
            console.print(
                f"results: {folder / 'results.json'}" + (f"; plot: {plot}" if plot else "")
                + f"; `wattwise show {res.run_id}` for the run",
                highlight=False,
            )
        if not any(lv.ok for lv in res.levels):
            first = next((r.error for lv in res.levels for r in lv.results if r.error), "no request was sent")
            raise WattwiseError(f"no request succeeded: {first}", f"partial results kept in {folder / 'results.json'}")
