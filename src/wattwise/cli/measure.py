"""Measuring commands: ``run``, ``runs``, ``show``, ``sensors``, ``export``."""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from wattwise.accounting import phase_energy_j, run_footprint
from wattwise.cli import common as checks
from wattwise.cli.child import SignalGate, exit_status, spawn, supervise
from wattwise.cli.common import StoreOpt, console, err, store_from
from wattwise.cli.watchdog import Watchdog
from wattwise.context import resolve_context
from wattwise.errors import WattwiseError
from wattwise.export import codecarbon_rows, write_codecarbon_csv
from wattwise.fmt import fmt_duration, fmt_energy, fmt_mass
from wattwise.footprint import Footprint
from wattwise.meter import Run, check_interval
from wattwise.store.journal import is_transient
from wattwise.store.records import MemberRow, RunRecord
from wattwise.store.replayer import replay_later


def _when(t: float | None) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


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


def run_cmd(
    command: list[str] = typer.Argument(None, metavar="-- CMD [ARGS]...", help="The command to track."),
    name: str | None = typer.Option(None, "--name", "-n", help="Run name (default: the command)."),
    interval: float = typer.Option(1.0, "--interval", "-i", help="Sampling interval in seconds."),
    store: str | None = StoreOpt,
    location: str | None = typer.Option(None, "--location", "-l", help="Where it runs (country, zone, "
                                        "cloud region); default WATTWISE_LOCATION or config."),
    intensity: float | None = typer.Option(None, "--intensity", help="Grid intensity in gCO2e/kWh "
                                           "(overrides the location's).", callback=checks.check_intensity),
    pue: float | None = typer.Option(None, "--pue", help="Data-centre PUE (overrides the location's).",
                                     callback=checks.check_pue),
    whole_machine: bool = typer.Option(False, "--whole-machine", help="Attribute all modelled CPU/RAM "
                                       "energy of the machine, not only the command's process tree."),
    within: str | None = typer.Option(None, "--within", help="Carbon-aware start: may start up to this much "
                                      "later (8h, 90m) at the cleanest time. See docs/scheduling.md."),
    deadline: str | None = typer.Option(None, "--deadline", help="Carbon-aware: must finish by this UTC time "
                                        "(2026-11-24T06:00Z)."),
    duration: str | None = typer.Option(None, "--duration", help="Expected run time for scheduling (6h)."),
    pause_above: float | None = typer.Option(None, "--pause-above", help="Pause while the grid is above G "
                                             "gCO2e/kWh (still finishing by the deadline).",
                                             callback=checks.check_pause_above),
    pause_dirtiest: str | None = typer.Option(None, "--pause-dirtiest", help="Pause in the dirtiest share of "
                                              "hours (25%)."),
    pause_mode: str = typer.Option("signal", "--pause-mode", help="signal (SIGSTOP/SIGCONT) or hook "
                                   "(the job calls wattwise.schedule.pause.pause_point)."),
) -> None:
    """Run CMD, measure its energy, stream its output and return its exit code."""
    if not command:
        raise WattwiseError("no command to run", "put it after `--`, e.g. wattwise run -- python train.py")
    check_interval(interval, "--interval")
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
    with SignalGate() as gate:  # before run.start(): its threads inherit the blocked signals
        run.start()
        env = {**os.environ, "WATTWISE_RUN_ID": run.id or "", "WATTWISE_PARENT_RUN": "1"}
        early = gate.pending_stop()
        if early is not None:  # stopped before the job started: do not start it
            run.stop("interrupted", 128 + early)
            raise typer.Exit(128 + early)
        try:
            child = spawn(command, env, gate)
        except OSError as exc:
            run.stop("failed", 127)
            raise WattwiseError(f"cannot start {command[0]!r}: {exc.strerror or exc}",
                                "check the command name and PATH") from exc

        def on_signal(_sig: int) -> None:  # a paused job must run to receive it
            if sched is not None and sched.controller is not None:
                sched.controller.release()

        if sched:
            sched.attach(child)
        dog = Watchdog(child.pid)  # kills what the job started if the tracker itself dies first
        code, stops = supervise(child, on_signal, dog.update)
        dog.close()  # the job is over: no kill (if supervise raised, the tracker's exit ends the watch)
        exit_code = exit_status(code)
        status = "finished" if code == 0 else "interrupted" if stops else "failed"
        _finish(run, sched, status, exit_code)
    _replay_when_possible(run)
    raise typer.Exit(exit_code)


def runs_cmd(
    limit: int = typer.Option(20, "--limit", help="How many runs to list (newest first).",
                              callback=checks.check_limit),
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
        t.add_row(r.id, r.name, r.status, _when(r.started_at), fmt_duration(r.duration_s),
                  fmt_energy(totals.get(r.id, 0.0)))
    console.print(t)


def show_cmd(
    run_id: str = typer.Argument(..., help="Run id (or a unique prefix, or 'last')."),
    store: str | None = StoreOpt,
    location: str | None = typer.Option(None, "--location", "-l", help="Compute CO2 for this location."),
    intensity: float | None = typer.Option(None, "--intensity", help="Grid intensity in gCO2e/kWh.",
                                           callback=checks.check_intensity),
    pue: float | None = typer.Option(None, "--pue", help="Data-centre PUE (overrides the run's).",
                                     callback=checks.check_pue),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Energy of a run by component (measured/modelled), per phase and per counted unit."""
    s = store_from(store)
    rec = s.get_run(run_id)
    fp = run_footprint(s, rec, location=location, intensity=intensity, pue=pue)  # checked by the options
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
    console.print(f"host {rec.host}, started {_when(rec.started_at)}, {fmt_duration(rec.duration_s)}, "
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


def export_cmd(
    run_id: str = typer.Argument(..., help="Run id (or a unique prefix, or 'last')."),
    fmt: str = typer.Option("json", "--format", "-f", help="json (schema: wattwise/data/schema/run.schema."
                            "json), codecarbon-csv, boamps or eu-ai-act."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File to write (default stdout).",
                                       callback=checks.check_output),
    store: str | None = StoreOpt,
    location: str | None = typer.Option(None, "--location", "-l"),
    intensity: float | None = typer.Option(None, "--intensity", callback=checks.check_intensity),
    pue: float | None = typer.Option(None, "--pue", callback=checks.check_pue),
    task_stage: str = typer.Option("training", "--task-stage", help="boamps: training or inference."),
    params: float | None = typer.Option(None, "--params", help="eu-ai-act: parameter count N, for training "
                                        "compute 6·N·D from the run's tokens counter."),
    flops: float | None = typer.Option(None, "--flops", help="eu-ai-act: training compute in FLOPs, if known."),
) -> None:
    """Export a run: wattwise JSON, CodeCarbon emissions.csv rows, a BoAmps report or an EU AI Act block."""
    from wattwise.export import run_document

    formats = ("json", "codecarbon-csv", "boamps", "eu-ai-act")
    if fmt not in formats:
        raise WattwiseError(f"unknown export format {fmt!r}", f"use one of: {', '.join(formats)}")
    s = store_from(store)
    rec = s.get_run(run_id)
    fp = run_footprint(s, rec, location=location, intensity=intensity, pue=pue)
    if fmt == "json":
        doc = run_document(s, rec, location=location, intensity=intensity, pue=pue)
        _write(json.dumps(doc, indent=2) + "\n", output)
    elif fmt == "codecarbon-csv":
        rows = codecarbon_rows(rec, fp, location)
        if output:
            write_codecarbon_csv(rows, output)
        else:
            write_codecarbon_csv(rows, sys.stdout)
    else:
        from wattwise.report.formats import boamps_report, eu_ai_act_from_run

        doc = (boamps_report(rec, fp, task_stage=task_stage, location=location) if fmt == "boamps"
               else eu_ai_act_from_run(rec, fp, params=params, flops=flops))
        _write(json.dumps(doc, indent=2) + "\n", output)
    if output:
        err.print(f"wrote {output}")


def register(app: typer.Typer) -> None:
    """Add the measuring commands to ``app``."""
    app.command("run", context_settings={"allow_interspersed_args": False})(run_cmd)
    app.command("runs")(runs_cmd)
    app.command("show")(show_cmd)
    app.command("sensors")(sensors_cmd)
    app.command("export")(export_cmd)


def _finish(run: Run, sched: Any, status: str, exit_code: int) -> None:
    """Stop the run and print its summary; whatever fails here, the child's exit code stays the command's."""
    try:
        fp = sched.finish(run, status, exit_code) if sched else run.stop(status, exit_code)
        err.print(f"\nwattwise: run [bold]{run.id}[/] ({'ok' if exit_code == 0 else f'exit {exit_code}'}) "
                  f"{fmt_duration(run.elapsed_s)}, {fmt_energy(fp.it_kwh * 3.6e6)} IT energy "
                  f"({fp.scope}; {fp.methods}), {fmt_mass(fp.total_kg)} CO2e; "
                  f"details: wattwise show {run.id}", highlight=False)
    except Exception as exc:  # the job's result wins over the tracker's
        err.print(f"wattwise: the run's summary failed ({exc}); the job's exit code is kept", highlight=False)


def _replay_when_possible(run: Run) -> None:
    """A lock (or a full disk) outlived the run: a detached process puts the journal in once it is gone.
    Called after the signal gate is lifted, so that process does not inherit the blocked signals."""
    writer = run.store
    if writer is not None and writer.pending and writer.failure and is_transient(writer.failure):
        replay_later(writer.location)


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
