"""Observability commands: ``dashboard`` (local web UI) and ``exporter`` (Prometheus metrics)."""

from __future__ import annotations

import time

import typer

from wattwise.cli.common import StoreOpt, err
from wattwise.errors import WattwiseError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """True for localhost names and loopback addresses (127.0.0.0/8, ::1)."""
    import ipaddress

    if host.strip().lower() in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_if_exposed(host: str, what: str) -> None:
    """The warning printed when a server binds beyond this machine (dashboard and exporter alike)."""
    if not is_loopback(host):
        err.print(f"wattwise: warning: serving {what} on {host}: anyone who can reach it sees your runs",
                  highlight=False)


def _check_port(port: int) -> None:
    if not 0 < port < 65536:
        raise WattwiseError(f"--port must be between 1 and 65535, got {port}", "e.g. --port 8765")


def register(app: typer.Typer) -> None:
    """Add the observability commands to ``app``."""

    @app.command("dashboard")
    def dashboard_cmd(
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
        port: int = typer.Option(8765, "--port", "-p", help="Port to listen on."),
        allow_host: list[str] = typer.Option([], "--allow-host", help="Also answer to this Host name (repeatable); "
                                             "by default only localhost names and --host are (DNS rebinding)."),
        store: str | None = StoreOpt,
    ) -> None:
        """Serve the run store read-only as a local web dashboard (runs, plots, comparisons)."""
        _check_port(port)
        from wattwise.dashboard.app import serve
        from wattwise.dashboard.readonly import open_readonly

        s = open_readonly(store)
        warn_if_exposed(host, "the dashboard")
        err.print(f"wattwise dashboard on http://{host}:{port}/ (store {s.location}, read-only); Ctrl-C to stop",
                  highlight=False)
        serve(s, host, port, allow_host)

    @app.command("exporter")
    def exporter_cmd(
        port: int = typer.Option(9464, "--port", "-p", help="Port for /metrics."),
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
        runs: int = typer.Option(20, "--runs", help="Export the most recent N runs."),
        once: bool = typer.Option(False, "--once", help="Print the metrics once to stdout and exit."),
        store: str | None = StoreOpt,
    ) -> None:
        """Prometheus exporter: energy (J) per component, power (W), CO2e (g), labelled by run, host, device."""
        from wattwise.dashboard.readonly import open_readonly
        from wattwise.integrations.prometheus import metrics_text, start_exporter

        if runs < 1:
            raise WattwiseError(f"--runs must be >= 1, got {runs}", "how many recent runs to export, e.g. 20")
        s = open_readonly(store)
        if once:
            print(metrics_text(store=s, max_runs=runs), end="")
            return
        _check_port(port)
        warn_if_exposed(host, "metrics")
        server, bound = start_exporter(port, host, store=s, max_runs=runs)
        err.print(f"wattwise exporter on http://{host}:{bound}/metrics (store {s.location}); Ctrl-C to stop",
                  highlight=False)
        try:
            while True:
                time.sleep(3600)
        finally:
            server.shutdown()
