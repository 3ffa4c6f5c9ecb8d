"""Compare hardware or regions for one training job, and fine-tuning against training from scratch."""

from __future__ import annotations

from dataclasses import dataclass

from wattwise.errors import WattwiseError
from wattwise.estimate import assumptions
from wattwise.estimate.training import TrainingEstimate, estimate_training
from wattwise.estimate.units import parse_count


@dataclass
class Option:
    """One row of a comparison."""

    label: str
    estimate: TrainingEstimate

    def row(self) -> dict:
        e, fp = self.estimate, self.estimate.footprint
        lo, hi = fp.range_kg
        return {
            "option": self.label,
            "hardware": e.device.name,
            "device_hours": e.device_hours.central,
            "wall_days": e.wall_days,
            "facility_kwh": fp.facility_kwh,
            "intensity_g_per_kwh": fp.intensity.g_per_kwh,
            "pue": fp.pue,
            "operational_kg": fp.operational_kg,
            "embodied_kg": fp.embodied_kg,
            "total_kg": fp.total_kg,
            "total_kg_low": lo,
            "total_kg_high": hi,
        }


def split_list(text: str | list[str]) -> list[str]:
    items = text if isinstance(text, list) else [t.strip() for t in text.split(",")]
    items = [t for t in items if t]
    if not items:
        raise WattwiseError("nothing to compare", "give a comma-separated list, e.g. a100-80gb,h100-sxm")
    return items


def compare_hardware(hardware: str | list[str], **kwargs) -> list[Option]:
    """Estimate the same job on each device; sorted by total CO2 (best first)."""
    opts = [Option(h, estimate_training(hardware=h, **kwargs)) for h in split_list(hardware)]
    return sorted(opts, key=lambda o: o.estimate.footprint.total_kg)


def parse_region(item: str) -> tuple[str, float | None]:
    """``gcp:europe-north1`` or ``gcp:europe-north1=30`` (explicit gCO2e/kWh)."""
    if "=" in item:
        name, value = item.split("=", 1)
        try:
            return name.strip(), float(value)
        except ValueError:
            raise WattwiseError(
                f"cannot read intensity {value!r} for region {name!r}", "e.g. fr=56"
            ) from None
    return item.strip(), None


def compare_regions(regions: str | list[str], **kwargs) -> list[Option]:
    """Estimate the same job in each region; sorted by total CO2 (best first)."""
    kwargs = {k: v for k, v in kwargs.items() if k not in ("location", "intensity")}
    opts = []
    for item in split_list(regions):
        name, value = parse_region(item)
        opts.append(Option(name, estimate_training(location=name, intensity=value, **kwargs)))
    return sorted(opts, key=lambda o: o.estimate.footprint.total_kg)


def best(options: list[Option]) -> str:
    """One sentence naming the best option and how much it saves over the worst."""
    if not options:
        return ""
    b, w = options[0], options[-1]
    bt, wt = b.estimate.footprint.total_kg, w.estimate.footprint.total_kg
    if len(options) == 1 or wt <= 0:
        return f"only option: {b.label}"
    saving = 1 - bt / wt
    text = (
        f"best: {b.label} ({bt / 1000:.3g} tCO2e central), {saving:.0%} less than {w.label} "
        f"({wt / 1000:.3g} tCO2e)"
    )
    return text + "".join(f"; caveat: {c}" for c in caveats(options))


def caveats(options: list[Option]) -> list[str]:
    """Why a comparison may be unfair: missing host share, MFU defaults that are assumptions."""
    out = []
    no_host = sorted(
        {
            o.estimate.device.name
            for o in options
            if o.estimate.power.basis == "system" and not o.estimate.device.host_w
        }
    )
    if no_host and len(no_host) < len({o.estimate.device.name for o in options}):
        out.append(f"host power share unknown for {', '.join(no_host)} (not counted, favours them)")
    guessed = sorted(
        {
            o.estimate.device.name
            for o in options
            if o.estimate.mfu and o.estimate.mfu.source.startswith("assumption")
        }
    )
    if guessed:
        out.append(f"no published MFU for {', '.join(guessed)} (assumed)")
    return out


def finetune_vs_scratch(
    *,
    params: float | str,
    pretrain_tokens: float | str,
    finetune_tokens: float | str,
    method: str = "full",
    **kwargs,
) -> dict[str, TrainingEstimate]:
    """Fine-tuning an existing model versus pre-training it from scratch (same hardware and place)."""
    if method not in ("full", "lora"):
        raise WattwiseError(f"unknown fine-tuning method {method!r}", "choose full or lora")
    ft = assumptions.finetune()
    fpt = float(ft["lora_flops_per_param_token" if method == "lora" else "full_flops_per_param_token"])
    parse_count(finetune_tokens, "fine-tuning tokens")
    scratch = estimate_training(params=params, tokens=pretrain_tokens, **kwargs)
    tune = estimate_training(params=params, tokens=finetune_tokens, flops_per_param_token=fpt, **kwargs)
    tune.assumptions.append(f"{method} fine-tuning at {fpt:g} FLOPs per parameter and token: {ft['source']}")
    return {"scratch": scratch, "finetune": tune}
