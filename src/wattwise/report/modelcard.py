"""Hugging Face model-card carbon metadata (``co2_eq_emissions``) and a short markdown section.

Metadata structure per https://huggingface.co/docs/hub/model-cards-co2: ``emissions`` (grams of CO2e),
``source``, ``training_type`` (pre-training or fine-tuning), ``geographical_location``, ``hardware_used``.
:func:`update_card` rewrites only that key of an existing README's YAML front matter and one marked section.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from wattwise import __version__
from wattwise.errors import WattwiseError
from wattwise.export import check_training_type
from wattwise.fmt import fmt_energy, fmt_mass
from wattwise.footprint import J_PER_KWH
from wattwise.report.data import RunView

START = "<!-- wattwise:co2:start -->"
END = "<!-- wattwise:co2:end -->"
HEADING = "## Environmental impact"


#: Run states whose figures cover only part of a training: refused unless the card says so.
INCOMPLETE = ("interrupted", "failed")


def plain_grams(grams: float) -> float | str:
    """``emissions`` as the Hub's filter reads it: it takes the first ``\\d+.\\d+`` of ``str(value)``, so
    ``3.7e-05`` would read as 3.7. A float whose text has no exponent stays a float; a smaller value becomes a
    plain decimal string with 3 significant digits (``"0.000037"``); nothing rounds to 0 unless it is 0."""
    g = float(grams)
    if g == 0 or "e" not in repr(g):
        return g if g == 0 or abs(g) >= 1e-3 else float(f"{g:.3g}")
    digits = max(-math.floor(math.log10(abs(g))) + 2, 0)
    return f"{g:.{digits}f}"


def co2_metadata(view: RunView, training_type: str | None = None, hardware: str | None = None,
                 location: str | None = None, allow_incomplete: bool = False) -> dict[str, Any]:
    """The ``co2_eq_emissions`` mapping of a run (an interrupted or failed run only with ``allow_incomplete``,
    and then labelled so in ``source``)."""
    tt = check_training_type(training_type or view.rec.config.get("training_type") or "fine-tuning")
    status = view.rec.status
    if status in INCOMPLETE and not allow_incomplete:
        raise WattwiseError(f"run {view.rec.id} is {status}: its figures cover only part of the training",
                            "use the run of the complete training, or --allow-incomplete to label the card so")
    fp = view.fp
    i = fp.intensity
    partial = f" ({status} run: partial figures)" if status in INCOMPLETE else ""
    return {
        "emissions": plain_grams(fp.total_kg * 1000.0),
        "source": (f"wattwise {__version__} run {view.rec.id}{partial}: energy {fp.measured_share:.0%} measured, "
                   f"{1 - fp.measured_share:.0%} modelled; intensity {i.g_per_kwh:.4g} gCO2e/kWh ({i.source})"),
        "training_type": tt,
        "geographical_location": location or view.rec.location or "unknown (world-average intensity used)",
        "hardware_used": hardware or hardware_used(view),
    }


def hardware_used(view: RunView) -> str:
    """"8 x NVIDIA H100 80GB HBM3, 2 x AMD EPYC 9654 (CPU)" from the host the run recorded; else the run's
    ``hardware`` setting; else the domains metered."""
    from wattwise.export import run_host
    from wattwise.hostinfo import hardware_text

    given = view.rec.config.get("hardware")
    if given:
        return str(given)
    text = hardware_text(run_host(view.rec))
    if text:
        return text
    domains = sorted({d.domain for d in view.fp.energy})
    return f"unknown (metered: {', '.join(domains)})" if domains else "unknown"


def markdown_section(view: RunView, meta: dict[str, Any]) -> str:
    fp = view.fp
    lo, hi = fp.range_kg
    dur = fp.duration_s or view.rec.duration_s
    return "\n".join([
        START,
        f"{meta['training_type'].capitalize()} emitted about **{fmt_mass(fp.total_kg)} CO2e** "
        f"(range {fmt_mass(lo)} – {fmt_mass(hi)}) using **{fmt_energy(fp.facility_kwh * J_PER_KWH)}** of electricity "
        f"over {dur:,.0f} s.",
        "",
        f"- Hardware: {meta['hardware_used']}",
        f"- Location: {meta['geographical_location']}; grid intensity {fp.intensity.g_per_kwh:.0f} gCO2e/kWh "
        f"({fp.intensity.source})",
        f"- Energy: {fp.measured_share:.0%} measured by hardware counters, {1 - fp.measured_share:.0%} modelled "
        f"(±{fp.uncertainty:.0%})",
        f"- {'Measured' if fp.measured_share >= 1 else 'Estimated'} with [wattwise](https://pypi.org/project/wattwise/)"
        f" {__version__} (energy {fp.methods}; scope: {fp.scope or 'not stated'}), run `{view.rec.id}`",
        END,
    ])


def _yaml() -> Any:
    try:
        import yaml
    except ImportError as exc:
        raise WattwiseError("model cards need PyYAML, which is not installed",
                            "pip install 'wattwise[report]'") from exc
    return yaml


def metadata_yaml(meta: dict[str, Any]) -> str:
    return _yaml().safe_dump({"co2_eq_emissions": meta}, sort_keys=False, allow_unicode=True, width=1000)


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(front-matter mapping, body) of a model card; no front matter gives ({}, text)."""
    if not text.startswith("---"):
        return {}, text
    lines = text.splitlines(keepends=True)
    for n, line in enumerate(lines[1:], start=1):
        if line.rstrip() == "---":
            head = "".join(lines[1:n])
            body = "".join(lines[n + 1:])
            try:
                data = _yaml().safe_load(head) or {}
            except Exception as exc:
                raise WattwiseError(f"the model card's YAML front matter is not valid: {exc}",
                                    "fix the block between the first two '---' lines") from exc
            if not isinstance(data, dict):
                raise WattwiseError("the model card's front matter is not a mapping of keys",
                                    "fix the block between the first two '---' lines")
            return data, body
    raise WattwiseError("the model card opens a front matter block with '---' but never closes it",
                        "add a closing '---' line")


def update_card(path: str | Path, meta: dict[str, Any], section: str) -> Path:
    """Set ``co2_eq_emissions`` in the card's front matter (other keys kept) and its marked section."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8") if p.exists() else ""
    except OSError as exc:
        raise WattwiseError(f"cannot read {p}: {exc.strerror or exc}") from exc
    data, body = split_front_matter(text)
    data["co2_eq_emissions"] = meta
    if START in body and END in body:
        before, _, rest = body.partition(START)
        _, _, after = rest.partition(END)
        body = before + section + after
    else:
        body = body.rstrip("\n") + ("\n\n" if body.strip() else "") + f"{HEADING}\n\n{section}\n"
    head = _yaml().safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
    try:
        p.write_text(f"---\n{head}---\n{body}", encoding="utf-8")
    except OSError as exc:
        raise WattwiseError(f"cannot write {p}: {exc.strerror or exc}") from exc
    return p
