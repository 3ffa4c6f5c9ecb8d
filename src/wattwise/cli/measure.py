"""Measuring commands: ``run``, ``runs``, ``show``, ``sensors``, ``export``."""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import typer
from rich.table import Table

from wattwise.accounting import phase_energy_j, run_footprint
from wattwise.cli.common import StoreOpt, console, err, fmt_energy, fmt_mass, positive, store_from
from wattwise.context import check_intensity, check_pue, resolve_context
from wattwise.errors import WattwiseError
from wattwise.export import codecarbon_rows, write_codecarbon_csv
from wattwise.footprint import Footprint
from wattwise.meter import Run
from wattwise.store.records import MemberRow, RunRecord


def _when(t: float | None) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _dur(s: float) -> str:
    s = round(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def footprint_table(fp: Footprint, title: str = "Energy by component") -> Table:
    t = Table(title=title)
    for col in ("component", "energy", "share", "how", "source", "±"):
        t.add_column(col, justify="right" if col in ("energy", "share", "±") else "left")
    total = fp.it_kwh or 1.0
    for d in fp.energy:
        t.add_row(d.domain, fmt_energy(d.joules), f"{d.kwh / total:.0%}", d.method.value, d.source,
                  f"{d.uncertainty:.0%}")
    t.add_row("[bold]total (IT)[/]", f"[bold]{fmt_energy(fp.it_kwh * 3.6e6)}[/]", "100%",
              fp.methods, f"scope: {fp.scope or 'not stated'}", f"{fp.uncertainty:.0%}")
    return t


def _checked(intensity: float | None) -> float | None:
    return None if intensity is None else check_intensity(intensity)


def _checked_pue(pue: float | None) -> float | None:
    return None if pue is None else check_pue(pue)


def _unit(name: str) -> str:
    return name[:-1] if name.endswith("s") else name


def print_footprint(fp: Footprint) -> None:
    console.print(footprint_table(fp))
    lo, hi = fp.range_kg
    i = fp.intensity
    console.print(f"CO2e: [bold]{fmt_mass(fp.total_kg)}[/] (range {fmt_mass(lo)} – {fmt_mass(hi)}) at "
                  f"{i.g_per_kwh:.1f} gCO2e/kWh ({i.resolution}, {i.kind}, {i.source}); PUE {fp.pue:g} "
                  f"({fp.pue_source}); scope: {fp.scope or 'not stated'}", highlight=False)
    for group, units in fp.per_unit().items():
        sub = fp if group == "run" else fp.phases[group]
        where = "" if group == "run" else f"{group}: "
        for name, per in sorted(units.items()):
            n = sub.counters[name]
            console.print(f"{where}per {_unit(name)}: {fmt_energy(per)}  ({n:,.0f} {name}; "
                          f"{fmt_energy(per * 1000)} per 1,000)", highlight=False)


def phase_table(fp: Footprint) -> Table | None:
    """Energy, CO2e and counted units per phase (each phase's own energy and units, never mixed)."""
    if not fp.phases:
        return None
    pt = Table(title="Energy by phase")
    for col in ("phase", "energy", "share", "CO2e", "units"):
        pt.add_column(col, justify="left" if col in ("phase", "units") else "right")
    total = sum(p.it_kwh for k, p in fp.phases.items() if "/" not in k) or fp.it_kwh or 1.0
    for k, p in sorted(fp.phases.items()):
        units = ", ".join(f"{v:,.0f} {c}" for c, v in sorted(p.counters.items()))
        pt.add_row(k, fmt_energy(p.it_kwh * 3.6e6), f"{p.it_kwh / total:.0%}", fmt_mass(p.total_kg), units)
    return pt


def node_table(members: list[MemberRow], nodes: dict[str | None, float]) -> Table:
    """A distributed run's energy per node, with its ranks (the owner read the node-level sensors)."""
    t = Table(title=f"Energy by node ({len(members)} ranks)")
    for col in ("node", "ranks", "energy", "status"):
        t.add_column(col, justify="right" if col == "energy" else "left")
    for node in sorted({m.node or "-" for m in members}):
        mine = [m for m in members if (m.node or "-") == node]
        ranks = ", ".join(f"{m.rank}{'*' if m.owner else ''}" for m in mine)
        t.add_row(node, ranks, fmt_energy(nodes.get(node, 0.0)), ", ".join(sorted({m.status for m in mine})))
    t.caption = "* read the node-level sensors (RAPL, CPU/RAM models)"
    return t


def register(app: typer.Typer) -> None:
    """Add the measuring commands to ``app``."""

    @app.command("run", context_settings={"allow_interspersed_args": False})
    def run_cmd(
        command: list[str] = typer.Argument(None, metavar="-- CMD [ARGS]...", help="The command to track."),
        name: str | None = typer.Option(None, "--name", "-n", help="Run name (default: the command)."),
        interval: float = typer.Option(1.0, "--interval", "-i", help="Sampling interval in seconds."),
        store: str | None = StoreOpt,
        location: str | None = typer.Option(None, "--location", "-l", help="Where it runs (country, zone, "
                                            "cloud region); default WATTWISE_LOCATION or config."),
        intensity: float | None = typer.Option(None, "--intensity", help="Grid intensity in gCO2e/kWh "
                                               "(overrides the location's)."),
        pue: float | None = typer.Option(None, "--pue", help="Data-centre PUE (overrides the location's)."),
        whole_machine: bool = typer.Option(False, "--whole-machine", help="Attribute all modelled CPU/RAM "
                                           "energy of the machine, not only the command's process tree."),
        within: str | None = typer.Option(None, "--within", help="Carbon-aware start: may start up to this much "
                                          "later (8h, 90m) at the cleanest time. See docs/scheduling.md."),
        deadline: str | None = typer.Option(None, "--deadline", help="Carbon-aware: must finish by this UTC time "
                                            "(2026-11-24T06:00Z)."),
        duration: str | None = typer.Option(None, "--duration", help="Expected run time for scheduling (6h)."),
        pause_above: float | None = typer.Option(None, "--pause-above", help="Pause while the grid is above G "
                                                 "gCO2e/kWh (still finishing by the deadline)."),
        pause_dirtiest: str | None = typer.Option(None, "--pause-dirtiest", help="Pause in the dirtiest share of "
                                                  "hours (25%)."),
        pause_mode: str = typer.Option("signal", "--pause-mode", help="signal (SIGSTOP/SIGCONT) or hook "
                                       "(the job calls wattwise.schedule.pause.pause_point)."),
    ) -> None:
        """Run CMD, measure its energy, stream its output and return its exit code."""
        if not command:
            raise WattwiseError("no command to run", "put it after `--`, e.g. wattwise run -- python train.py")
        positive(interval, "--interval")
        if shutil.which(command[0]) is None:  # checked before anything is recorded: no run for a typo
            raise WattwiseError(f"cannot start {command[0]!r}: command not found", "check the command name and PATH")
        ctx = resolve_context(location, intensity, pue, whole_machine or None)
        loc = ctx.location
        from wattwise.schedule.runner import wait_then_start

        sched = wait_then_start(loc, within=within, deadline=deadline, duration=duration, pause_above=pause_above,
                                pause_dirtiest=pause_dirtiest, pause_mode=pause_mode)
        cmdline = shlex.join(command)
        run = Run(name or cmdline[:80], interval=interval, store=store, location=loc, intensity=ctx.intensity,
                  pue=ctx.pue, whole_machine=ctx.whole_machine, command=cmdline)
        run.start()
        env = {**os.environ, "WATTWISE_RUN_ID": run.id or "", "WATTWISE_PARENT_RUN": "1"}
        try:
            child = subprocess.Popen(command, env=env)
        except OSError as exc:
            run.stop("failed", 127)
            raise WattwiseError(f"cannot start {command[0]!r}: {exc.strerror or exc}",
                                "check the command name and PATH") from exc
        previous = {s: signal.signal(s, lambda signum, _f: child.send_signal(signum))
                    for s in (signal.SIGTERM, signal.SIGHUP)}
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child gets Ctrl-C itself
        try:
            if sched:
                sched.attach(child)
            code = child.wait()
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
        exit_code = code if code >= 0 else 128 - code
        status = "finished" if code == 0 else "failed"
        fp = sched.finish(run, status, exit_code) if sched else run.stop(status, exit_code)
        err.print(f"\nwattwise: run [bold]{run.id}[/] ({'ok' if code == 0 else f'exit {exit_code}'}) "
                  f"{_dur(run.elapsed_s)}, {fmt_energy(fp.it_kwh * 3.6e6)} IT energy "
                  f"({fp.scope}; {fp.methods}), {fmt_mass(fp.total_kg)} CO2e; "
                  f"details: wattwise show {run.id}", highlight=False)
        raise typer.Exit(exit_code)

    @app.command("runs")
    def runs_cmd(
        limit: int = typer.Option(20, "--limit", help="How many runs to list (newest first)."),
        name: str | None = typer.Option(None, "--name", help="Only runs whose name contains this."),
        store: str | None = StoreOpt,
        show_all: bool = typer.Option(False, "--all", help="Also the internal runs of reduce/compare-training."),
    ) -> None:
        """List recorded runs."""
        s = store_from(store)
        recs = s.list_runs(limit=limit, name=name, internal=show_all)
        if not recs:
            console.print(f"no runs in {s.location}")
            return
        totals = s.energy_totals([r.id for r in recs])
        t = Table(title=f"Runs in {s.location}")
        t.add_column("id", no_wrap=True)
        t.add_column("name", max_width=32, no_wrap=True, overflow="ellipsis")
        for col in ("status", "started", "duration", "energy"):
            t.add_column(col, justify="right" if col in ("duration", "energy") else "left", no_wrap=True)
        for r in recs:
            t.add_row(r.id, r.name, r.status, _when(r.started_at), _dur(r.duration_s),
                      fmt_energy(totals.get(r.id, 0.0)))
        console.print(t)

    @app.command("show")
    def show_cmd(
        run_id: str = typer.Argument(..., help="Run id (or a unique prefix, or 'last')."),
        store: str | None = StoreOpt,
        location: str | None = typer.Option(None, "--location", "-l", help="Compute CO2 for this location."),
        intensity: float | None = typer.Option(None, "--intensity", help="Grid intensity in gCO2e/kWh."),
        pue: float | None = typer.Option(None, "--pue", help="Data-centre PUE (overrides the run's)."),
        as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    ) -> None:
        """Energy of a run by component (measured/modelled), per phase and per counted unit."""
        s = store_from(store)
        rec = s.get_run(run_id)
        fp = run_footprint(s, rec, location=location, intensity=_checked(intensity), pue=_checked_pue(pue))
        phases = phase_energy_j(s.samples(rec.id))
        members = s.members(rec.id)
        nodes = s.energy_by_node(rec.id) if members else {}
        if as_json:
            extra = {"nodes_j": nodes, "members": [m.__dict__ for m in members]} if members else {}
            print(json.dumps({"run": _run_dict(rec), "footprint": fp.to_dict(), "phases_j": phases, **extra},
                             indent=2))
            return
        console.print(f"[bold]{rec.name}[/]  id {rec.id}  [bold]{rec.status}[/]"
                      f"{'' if rec.exit_code is None else f' (exit {rec.exit_code})'}", highlight=False)
        console.print(f"host {rec.host}, started {_when(rec.started_at)}, {_dur(rec.duration_s)}, "
                      f"location {rec.location or 'not given'}, sensors {', '.join(rec.config.get('sensors', []))}",
                      highlight=False)
        if rec.command:
            console.print(f"command: {rec.command}", highlight=False)
        if not fp.energy:
            console.print("no samples recorded yet")
            return
        print_footprint(fp)
        if members:
            console.print(node_table(members, nodes))
        pt = phase_table(fp)
        if pt is not None:
            console.print(pt)

    @app.command("sensors")
    def sensors_cmd() -> None:
        """What this machine offers for measuring energy, and why the rest is not there."""
        from wattwise.sensors.discover import choose_sensors

        sel = choose_sensors()
        t = Table(title="Energy sensors on this machine")
        for col in ("sensor", "available", "used", "details"):
            t.add_column(col)
        for name, avail, used in sel.status:
            t.add_row(name, "yes" if avail.ok else "no", "yes" if used else "-", avail.reason)
        console.print(t)
        if not any(used and n in ("rapl", "nvml", "amdgpu") for n, _, used in sel.status):
            console.print("No hardware energy counter is usable here: CPU and RAM energy will be [bold]modelled"
                          "[/] (labelled so, with their uncertainty).")

    @app.command("export")
    def export_cmd(
        run_id: str = typer.Argument(..., help="Run id (or a unique prefix, or 'last')."),
        fmt: str = typer.Option("json", "--format", "-f", help="codecarbon-csv or json."),
        output: Path | None = typer.Option(None, "--output", "-o", help="File to write (default stdout)."),
        store: str | None = StoreOpt,
        location: str | None = typer.Option(None, "--location", "-l"),
        intensity: float | None = typer.Option(None, "--intensity"),
        pue: float | None = typer.Option(None, "--pue"),
    ) -> None:
        """Export a run as CodeCarbon-compatible emissions.csv rows or JSON."""
        if fmt not in ("codecarbon-csv", "json"):
            raise WattwiseError(f"unknown export format {fmt!r}", "use codecarbon-csv or json")
        s = store_from(store)
        rec = s.get_run(run_id)
        fp = run_footprint(s, rec, location=location, intensity=_checked(intensity), pue=_checked_pue(pue))
        if fmt == "json":
            text = json.dumps({"run": _run_dict(rec), "footprint": fp.to_dict(),
                               "phases_j": phase_energy_j(s.samples(rec.id))}, indent=2)
            _write(text + "\n", output)
        else:
            rows = codecarbon_rows(rec, fp)
            if output:
                write_codecarbon_csv(rows, output)
            else:
                write_codecarbon_csv(rows, sys.stdout)
        if output:
            err.print(f"wrote {output}")


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise WattwiseError(f"cannot write {output}: {exc.strerror or exc}") from exc


def _run_dict(rec: RunRecord) -> dict:
    return {"id": rec.id, "name": rec.name, "status": rec.status, "started_at": rec.started_at,
            "ended_at": rec.ended_at, "duration_s": rec.duration_s, "host": rec.host, "location": rec.location,
            "command": rec.command, "exit_code": rec.exit_code, "config": rec.config}
