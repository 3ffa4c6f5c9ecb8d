"""The shared validation layer: finite numbers in range with units, canonical counter names, in the API too."""

from __future__ import annotations

import math
import time

import pytest

from wattwise import validate
from wattwise.errors import WattwiseError
from wattwise.meter import Run


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "nan", "abc", -1, 5001, True, None])
def test_intensity_rejects_non_finite_and_out_of_range(bad):
    if bad is None:
        assert validate.intensity(None) is None
        return
    with pytest.raises(WattwiseError) as ei:
        validate.intensity(bad, "--intensity")
    assert "--intensity" in ei.value.message and ei.value.hint


def test_numbers_and_units_in_messages():
    assert validate.intensity("56") == 56.0 and validate.pue(1.4) == 1.4
    with pytest.raises(WattwiseError, match="gCO2e/kWh"):
        validate.intensity(-2)
    with pytest.raises(WattwiseError, match=r"must be > 0 years"):
        validate.number(0, "--lifetime-years", validate.YEARS)
    with pytest.raises(WattwiseError, match="whole number"):
        validate.number(1.5, "--limit", validate.COUNT)
    assert validate.finite_or_none(math.nan) is None and validate.finite_or_none("3") == 3.0


@pytest.mark.parametrize(("raw", "canon"), [("tokens", "tokens"), ("Tokens", "tokens"),
                                            ("eval.samples", "eval_samples"), ("eval-samples", "eval_samples"),
                                            ("GPU Hours", "gpu_hours")])
def test_counter_names_are_canonical(raw, canon):
    assert validate.counter_name(raw) == canon


@pytest.mark.parametrize("bad", ["", "1x", "a/b", "tök", "x" * 65, "a;drop", None, 3])
def test_bad_counter_names_are_refused(bad):
    with pytest.raises(WattwiseError, match="invalid counter name"):
        validate.counter_name(bad)


def test_run_api_validates_before_anything_is_stored(tmp_path):
    with pytest.raises(WattwiseError, match="finite"):
        Run("x", store=tmp_path / "s.sqlite", intensity=math.nan).start()
    from wattwise.store.connect import open_store

    assert open_store(tmp_path / "s.sqlite").list_runs() == []  # nothing recorded
    run = Run("c", interval=0.05, store=tmp_path / "s.sqlite").start()
    try:
        run.add(Tokens=100)
        run.add(**{"eval.samples": 2})
        with pytest.raises(WattwiseError):
            run.add(good=1, **{"bad/name": 1})  # all or nothing
        with pytest.raises(WattwiseError, match="finite"):
            run.add(tokens=math.inf)
        time.sleep(0.15)
    finally:
        fp = run.stop()
    assert fp.counters == {"tokens": 100.0, "eval_samples": 2.0}
    from wattwise.cli.app import main

    assert main(["report", run.id or "", "--store", str(tmp_path / "s.sqlite"), "-o", str(tmp_path / "r.html")]) == 0
    assert "eval_samples" in (tmp_path / "r.html").read_text()


@pytest.mark.parametrize("years", [0, -1, math.nan, math.inf])
def test_estimate_api_refuses_bad_lifetime(years):
    import wattwise

    with pytest.raises(WattwiseError, match="lifetime_years"):
        wattwise.estimate(params="7B", tokens="1T", hardware="a100-80gb", lifetime_years=years)
