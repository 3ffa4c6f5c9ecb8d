"""Everything a report needs about one stored run, loaded once (with clear errors for bad input)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from wattwise.accounting import phase_energy_j, run_footprint
from wattwise.errors import WattwiseError
from wattwise.footprint import Footprint
from wattwise.sensors.base import is_shadow
from wattwise.store.records import CounterRow, PhaseRow, RunRecord, SampleRow
from wattwise.store.sql import SqlStore


@dataclass
class RunView:
    """A stored run with its samples, phases, counters and footprint."""

    rec: RunRecord
    samples: list[SampleRow]
    phases: list[PhaseRow]
    counters: list[CounterRow]
    fp: Footprint
    phase_j: dict[str, float] = field(default_factory=dict)

    @property
    def live(self) -> bool:
        return self.rec.status == "running"

    @property
    def hardware(self) -> str:
        """What the energy was drawn by: the run's ``hardware`` setting, else each domain's sensor source."""
        given = self.rec.config.get("hardware")
        if given:
            return str(given)
        parts = [f"{d.domain}: {d.source}" for d in self.fp.energy]
        return "; ".join(parts) or "unknown"

    @property
    def last_sample_at(self) -> float | None:
        return self.samples[-1].t_end if self.samples else None


def load_run(store: SqlStore, run_id: str, location: str | None = None, intensity: float | None = None,
             allow_empty: bool = False) -> RunView:
    """Load a run by id (or prefix, or ``last``); a run without samples is an error unless ``allow_empty``."""
    rec = store.get_run(run_id)
    samples = store.samples(rec.id)
    if not samples and not allow_empty:
        raise empty_run_error(rec)
    counters = store.counters(rec.id)
    fp = run_footprint(store, rec, location=location, intensity=intensity, samples=samples, counters=counters)
    if rec.status == "running":
        fp.duration_s = max(time.time() - rec.started_at, 0.0)
    shown = [s for s in samples if not is_shadow(s.domain)]  # the model:cpu shadow is in fp.notes, not plotted
    return RunView(rec, shown, store.phases(rec.id), counters, fp, phase_energy_j(samples))


def empty_run_error(rec: RunRecord) -> WattwiseError:
    if rec.status == "running":
        return WattwiseError(f"run {rec.id} is still running and has no samples yet",
                             f"the first sample comes after {rec.interval:g} s; try again shortly")
    return WattwiseError(f"run {rec.id} ({rec.status}) recorded no energy samples",
                         "it probably ended before its first sampling interval; use a shorter --interval")


def require_finished(view: RunView, what: str) -> None:
    """Refuse a run that is still in progress for outputs that must be final (model cards, MLflow)."""
    if view.live:
        raise WattwiseError(f"run {view.rec.id} is still running: a {what} needs its final figures",
                            "wait until it ends (or use `wattwise report`, which shows figures so far)")
