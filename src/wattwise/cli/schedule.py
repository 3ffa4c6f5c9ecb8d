"""``wattwise schedule``: when and where to run, and hand-off to Slurm / Kubernetes (see docs/scheduling.md)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import typer
from rich.table import Table

from wattwise import validate
from wattwise.cli.common import check_energy, check_pause_above, console, err
from wattwise.errors import WattwiseError
from wattwise.schedule.forecast import DEFAULT_METHOD, METHODS
from wattwise.schedule.timeutil import fmt_hours, fmt_utc, parse_duration, parse_instant, utc

LocationOpt = typer.Option(None, "--location", "-l", help="Country, zone or cloud region (default: "
                                                          "WATTWISE_LOCATION or config).")
DurationOpt = typer.Option("1h", "--duration", "-d", help="How long the job runs (6h, 90m).")
WithinOpt = typer.Option(None, "--within", "-w", help="The start may be delayed by up to this much (8h).")
DeadlineOpt = typer.Option(None, "--deadline", help="The job must finish by this UTC time (2026-11-24T06:00Z).")
EarliestOpt = typer.Option(None, "--earliest", help="Not before this UTC time (default now).")
NowOpt = typer.Option(None, "--now", help="Pretend it is this UTC time (for what-ifs on the 2023 traces).")
ForecastOpt = typer.Option(DEFAULT_METHOD, "--forecast", "-f", help=f"Forecast: {', '.join(METHODS)}.")
JsonOpt = typer.Option(False, "--json", help="Machine-readable output.")


def _times(duration: str, within: str | None, deadline: str | None, earliest: str | None,
           now: str | None) -> tuple[float, float, float, float]:
    """(duration_s, now, earliest, deadline) as epochs; ``--within W`` means deadline = earliest + W + duration."""
    if within and deadline:
        raise WattwiseError("give --within or --deadline, not both")
    d = parse_duration(duration, "--duration").total_seconds()
    t_now = parse_instant(now, "--now").timestamp()
    t0 = max(parse_instant(earliest, "--earliest").timestamp(), t_now) if earliest else t_now
    if deadline:
        t1 = parse_instant(deadline, "--deadline").timestamp()
    else:
        t1 = t0 + d + (parse_duration(within, "--within").total_seconds() if within else 0.0)
    return d, t_now, t0, t1


def _location(location: str | None) -> str:
    """The location by the one context resolution (argument > WATTWISE_LOCATION > config file); required."""
    from wattwise.context import resolve_context

    loc = resolve_context(location).location
    if not loc:
        raise WattwiseError("no location given", "add --location FR (a country, zone or cloud region) or set "
                                                 "WATTWISE_LOCATION")
    return str(loc)


def _pairs(text: str | None, what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, val = part.rpartition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            out[key.strip()] = float(val)
            validate.number(val, f"{what} for {key.strip()}",
                            validate.Quantity("", 0.0, 1e12, hint="finite numbers >= 0, e.g. FR=20,DE=35"))
        except ValueError:
            raise WattwiseError(f"malformed {what} {part.strip()!r}", "use LOCATION=NUMBER pairs, e.g. FR=20,DE=35"
                                ) from None
    return out


def _best(loc: str, d: float, t_now: float, t0: float, t1: float, forecast: str):
    from wattwise.schedule.window import best_window

    return best_window(loc, timedelta(seconds=d), t0, t1, forecast=forecast, now=t_now)


def when_cmd(
    location: str | None = LocationOpt, duration: str = DurationOpt, within: str | None = WithinOpt,
    deadline: str | None = DeadlineOpt, earliest: str | None = EarliestOpt, now: str | None = NowOpt,
    forecast: str = ForecastOpt,
    interruptible: bool = typer.Option(False, "--interruptible", help="The job can pause: plan the cleanest "
                                       "hours instead of one contiguous window."),
    pause_above: float | None = typer.Option(None, "--pause-above", help="Interruptible: pause above G gCO2e/kWh.",
                                             callback=check_pause_above),
    pause_dirtiest: str | None = typer.Option(None, "--pause-dirtiest", help="Interruptible: pause in the "
                                              "dirtiest share of hours (25%)."),
    energy: float | None = typer.Option(None, "--energy", help="Expected energy in kWh (to show grams).",
                                        callback=check_energy),
    as_json: bool = JsonOpt,
) -> None:
    """The best time to run: start, expected mean intensity and saving versus starting now."""
    from wattwise.schedule.runner import parse_share
    from wattwise.schedule.window import plan_interruptible

    loc = _location(location)
    share = parse_share(pause_dirtiest) if pause_dirtiest else None
    if within is None and deadline is None and share is None:
        raise WattwiseError("no flexibility given", "add --within 8h or --deadline 2026-11-24T06:00Z")
    d, t_now, t0, t1 = _times(duration, within, deadline, earliest, now)
    if interruptible or pause_above is not None or share is not None:
        t_end = None if (share and not (within or deadline)) else t1
        plan = plan_interruptible(loc, timedelta(seconds=d), t0, t_end, forecast=forecast, now=t_now,
                                  pause_above=pause_above, pause_dirtiest=share)
        if as_json:
            print(json.dumps({"location": loc, **plan.to_dict()}, indent=2))
            return
        console.print(f"[bold]{loc}[/]: {plan.policy}, finishing by {fmt_utc(plan.deadline)}", highlight=False)
        for a, b in plan.intervals:
            console.print(f"  run {fmt_utc(a)} - {fmt_utc(b)}  ({plan.forecast.mean(a, b):.0f} gCO2e/kWh)",
                          highlight=False)
        console.print(f"expected {plan.mean_g_per_kwh:.0f} gCO2e/kWh vs {plan.now_g_per_kwh:.0f} if run at once:"
                      f" [bold]{plan.saving_pct:.1f} %[/] saving; paused {fmt_hours(plan.paused_s)}",
                      highlight=False)
        console.print(f"forecast: {plan.forecast.label}", highlight=False)
        return
    w = _best(loc, d, t_now, t0, t1, forecast)
    if as_json:
        out = {"location": loc, **w.to_dict()}
        if energy:
            out["saving_g"] = round(w.saving_g_per_kwh * energy, 2)
        print(json.dumps(out, indent=2))
        return
    delay = w.start.timestamp() - t0
    console.print(f"[bold]{loc}[/]: start at [bold]{fmt_utc(w.start)}[/]"
                  f" ({'now' if delay < 60 else 'in ' + fmt_hours(delay)}), end {fmt_utc(w.end)}", highlight=False)
    extra = f", {w.saving_g_per_kwh * energy:,.0f} g for {energy:g} kWh" if energy else ""
    console.print(f"expected {w.mean_g_per_kwh:.0f} gCO2e/kWh vs {w.now_g_per_kwh:.0f} starting now: "
                  f"[bold]{w.saving_pct:.1f} %[/] saving{extra}", highlight=False)
    console.print(f"forecast: {w.label}", highlight=False)


def where_cmd(
    candidates: list[str] = typer.Argument(..., help="Candidate locations (FR DE gcp:europe-west1 ...; commas "
                                           "work too)."),
    duration: str = DurationOpt, within: str | None = WithinOpt, deadline: str | None = DeadlineOpt,
    earliest: str | None = EarliestOpt, now: str | None = NowOpt, forecast: str = ForecastOpt,
    latency: str | None = typer.Option(None, "--latency", help="Latency in ms per candidate: FR=20,DE=35."),
    price: str | None = typer.Option(None, "--price", help="Price per hour per candidate: FR=2.5,DE=2.1."),
    energy: float | None = typer.Option(None, "--energy", help="Expected energy in kWh (to show CO2).",
                                        callback=check_energy),
    as_json: bool = JsonOpt,
) -> None:
    """The lowest-carbon location among candidates, with the trade-offs you give (latency, price)."""
    from wattwise.schedule.where import best_location, pareto_criteria

    names = [c.strip() for arg in candidates for c in arg.split(",") if c.strip()]
    d, t_now, t0, t1 = _times(duration, within, deadline, earliest, now)
    rows = best_location(names, timedelta(seconds=d), t0, t1, forecast=forecast, now=t_now,
                         latency_ms=_pairs(latency, "latency"), price_per_h=_pairs(price, "price"), kwh=energy)
    if as_json:
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    best = rows[0].g_per_kwh
    t = Table(title=f"Candidates for a {fmt_hours(d)} job, {fmt_utc(t0)} to {fmt_utc(t1)} (best first)")
    for col in ("location", "start", "gCO2e/kWh", "vs best", "latency ms", "price/h", "job cost", "CO2",
                "pareto"):
        t.add_column(col, justify="left" if col in ("location", "start") else "right")
    for r in rows:
        t.add_row(r.place.code, fmt_utc(r.window.start) if r.window else "-",
                  f"{r.g_per_kwh:.0f}", f"+{100 * (r.g_per_kwh / best - 1):.0f} %" if best > 0 else "-",
                  "-" if r.latency_ms is None else f"{r.latency_ms:g}",
                  "-" if r.price_per_h is None else f"{r.price_per_h:g}",
                  "-" if r.cost is None else f"{r.cost:.2f}",
                  "-" if r.co2_kg is None else f"{r.co2_kg:.2f} kg", "yes" if r.pareto else "")
    console.print(t)
    names_of = {"g_per_it_kwh": "intensity", "latency_ms": "latency", "price_per_h": "price"}
    crit = pareto_criteria(rows)
    left_out = [names_of[c] for c in ("latency_ms", "price_per_h") if c not in crit
                and any(getattr(r, c) is not None for r in rows)]
    console.print(f"pareto: no other candidate is at least as good on {', '.join(names_of[c] for c in crit)}"
                  + (f" ({', '.join(left_out)} not given for every candidate: not used)" if left_out else "")
                  + ".", highlight=False)
    for r in rows:
        console.print(f"{r.place.code} ({r.place.label}): {r.label}", highlight=False)


def slurm_cmd(
    script: list[str] = typer.Argument(None, metavar="-- SCRIPT [ARGS]...", help="The batch script."),
    location: str | None = LocationOpt, duration: str = DurationOpt, within: str | None = WithinOpt,
    deadline: str | None = DeadlineOpt, earliest: str | None = EarliestOpt, now: str | None = NowOpt,
    forecast: str = ForecastOpt,
    tz: str | None = typer.Option(None, "--tz", help="The cluster's time zone (Slurm reads --begin in local "
                                  "time); default this machine's."),
    time_limit: bool = typer.Option(True, "--time-limit/--no-time-limit", help="Also pass --time=DURATION."),
    submit: bool = typer.Option(False, "--submit", help="Run sbatch now instead of printing the command."),
    slack: str | None = typer.Option(None, "--slack", help="Margin kept between the planned end and "
                                     "--deadline for queue delay (45m; 0 for none); default 10 % of the "
                                     "duration, at least 15m."),
) -> None:
    """Print (or submit) `sbatch --begin=...` for the best start, leaving slack before the deadline."""
    from wattwise.schedule.handoff import default_slack_s, latest_finish, sbatch_command, submit_sbatch

    if not script:
        raise WattwiseError("no batch script given", "put it after `--`, e.g. wattwise schedule slurm -l FR "
                                                     "-d 6h --within 12h -- job.sh")
    loc = _location(location)
    d, t_now, t0, t1 = _times(duration, within, deadline, earliest, now)
    dl = utc(t1) if (within or deadline) else None
    slack_s = 0.0
    if dl is not None:
        slack_s = default_slack_s(d) if slack is None else (
            0.0 if slack.strip() in ("0", "0s", "0m", "0h") else parse_duration(slack, "--slack").total_seconds())
    w = _best(loc, d, t_now, t0, latest_finish(t0, t1, d, slack_s) if dl is not None else t1, forecast)
    if dl is not None:
        err.print(f"planned end {fmt_utc(w.end)}: {fmt_hours(t1 - w.end.timestamp())} before the deadline "
                  f"(slack {fmt_hours(slack_s)})", highlight=False)
    err.print(f"best start {fmt_utc(w.start)}: {w.mean_g_per_kwh:.0f} vs {w.now_g_per_kwh:.0f} gCO2e/kWh now "
              f"({w.saving_pct:.1f} % saving); forecast: {w.label}", highlight=False)
    if submit:
        console.print(submit_sbatch(script, w.start, dl, d if time_limit else None, tz), highlight=False)
    else:
        print(sbatch_command(script, w.start, dl, d if time_limit else None, tz))


def k8s_cmd(
    command: list[str] = typer.Argument(None, metavar="-- CMD [ARGS]...", help="The container command."),
    name: str = typer.Option(..., "--name", help="Job name (lower-case, digits, '-')."),
    image: str = typer.Option(..., "--image", help="Container image."),
    location: str | None = LocationOpt, duration: str = DurationOpt, within: str | None = WithinOpt,
    deadline: str | None = DeadlineOpt, earliest: str | None = EarliestOpt, now: str | None = NowOpt,
    forecast: str = ForecastOpt,
    mode: str = typer.Option("suspend", "--mode", help="suspend (Job created suspended, un-suspend at the start)"
                             " or init-wait (an init container sleeps until the start)."),
    namespace: str | None = typer.Option(None, "--namespace", "-n"),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the manifest here (default stdout)."),
) -> None:
    """A Kubernetes Job manifest that runs at the best start."""
    from wattwise.schedule.handoff import k8s_job

    loc = _location(location)
    d, t_now, t0, t1 = _times(duration, within, deadline, earliest, now)
    w = _best(loc, d, t_now, t0, t1, forecast)
    note = (f"{loc}: {w.mean_g_per_kwh:.0f} vs {w.now_g_per_kwh:.0f} gCO2e/kWh at once "
            f"({w.saving_pct:.1f} % saving); {w.label}")
    text = k8s_job(name, image, list(command or []), w.start, utc(t1) if (within or deadline) else None, mode,
                   namespace, note, now=datetime.fromtimestamp(t_now, tz=timezone.utc))
    if output is None:
        print(text, end="")
        return
    try:
        output.write_text(text)
    except OSError as exc:
        raise WattwiseError(f"cannot write {output}: {exc.strerror or exc}") from exc
    err.print(f"wrote {output} (start {fmt_utc(w.start)})", highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``schedule`` command group to ``app``."""
    sched = typer.Typer(help="Carbon-aware scheduling: when and where to run; hand-off to Slurm and Kubernetes.",
                        no_args_is_help=True)
    app.add_typer(sched, name="schedule")

    sched.command("when")(when_cmd)
    sched.command("where")(where_cmd)
    sched.command("slurm", context_settings={"allow_interspersed_args": False})(slurm_cmd)
    sched.command("k8s", context_settings={"allow_interspersed_args": False})(k8s_cmd)
