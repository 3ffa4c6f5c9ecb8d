"""Hardware and region comparisons, fine-tuning vs scratch, equivalents and offsets."""

from __future__ import annotations

import pytest

from wattwise import equivalents
from wattwise.errors import WattwiseError
from wattwise.estimate import compare
from wattwise.estimate import location as where
from wattwise.footprint import Intensity

JOB = {"params": "7B", "tokens": "2T", "devices": 256, "pue": 1.1}


def test_compare_hardware_sorted_and_best_named():
    opts = compare.compare_hardware("a100-80gb,h100-sxm,tpu-v4", intensity=400, **JOB)
    totals = [o.estimate.footprint.total_kg for o in opts]
    assert totals == sorted(totals)
    assert {o.label for o in opts} == {"a100-80gb", "h100-sxm", "tpu-v4"}
    assert compare.best(opts).startswith(f"best: {opts[0].label}")


def test_compare_regions_explicit_intensities():
    opts = compare.compare_regions("dirty=700,clean=30", hardware="a100-80gb", **JOB)
    assert [o.label for o in opts] == ["clean", "dirty"]
    assert opts[0].estimate.footprint.intensity.g_per_kwh == 30


def test_compare_regions_through_grid_lookup(monkeypatch):
    table = {"gcp:us-central1": 413.0, "gcp:europe-north1": 39.0}
    monkeypatch.setattr(where, "grid_lookup", lambda loc: (Intensity(table[loc], "fake", location=loc), None))
    opts = compare.compare_regions("gcp:us-central1,gcp:europe-north1", hardware="h100-sxm", **JOB)
    assert opts[0].label == "gcp:europe-north1"
    assert opts[0].row()["total_kg"] < opts[1].row()["total_kg"]


def test_empty_or_bad_lists():
    with pytest.raises(WattwiseError):
        compare.compare_hardware(" , ", intensity=1, **JOB)
    with pytest.raises(WattwiseError):
        compare.compare_regions("x=abc", hardware="l4", **JOB)
    with pytest.raises(WattwiseError):
        compare.compare_hardware("a100-80gb,h1000", intensity=1, **JOB)


def test_finetune_vs_scratch():
    res = compare.finetune_vs_scratch(
        params="7B",
        pretrain_tokens="2T",
        finetune_tokens="2B",
        method="lora",
        hardware="a100-80gb",
        intensity=100,
        pue=1.1,
    )
    ratio = res["finetune"].footprint.facility_kwh / res["scratch"].footprint.facility_kwh
    assert ratio == pytest.approx(4 * 2e9 / (6 * 2e12))
    with pytest.raises(WattwiseError):
        compare.finetune_vs_scratch(
            params="7B",
            pretrain_tokens="2T",
            finetune_tokens="2B",
            method="qlora2",
            hardware="a100-80gb",
            intensity=100,
        )


def test_equivalents_and_offsets_have_sources():
    eq = equivalents.equivalents(1000.0)
    assert {e["name"] for e in eq} >= {"car_km", "home_year"}
    assert all(e["source"] and e["value"] > 0 for e in eq)
    offs = equivalents.offset_costs(2000.0)
    assert len(offs) >= 3 and all(o["source"] for o in offs)
    assert offs[0]["usd"] == pytest.approx(2 * offs[0]["usd_per_t"])


def test_best_names_caveats_for_unfair_comparisons():
    opts = compare.compare_hardware("a100-80gb,mi300x", intensity=400, **JOB)
    text = compare.best(opts)
    assert "host power share unknown for mi300x" in text and "no published MFU for mi300x" in text
