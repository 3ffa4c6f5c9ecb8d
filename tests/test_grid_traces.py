from datetime import datetime, timezone

import pytest

from wattwise.errors import NotFoundError
from wattwise.grid import traces


def test_available_zones_and_load():
    zones = traces.available_zones()
    assert {"FR", "DE", "GB", "NO", "US-CAL-CISO", "US-TEX-ERCO", "AU-NSW", "ZA", "CL-SEN"} <= set(zones)
    tr = traces.load_trace("fr")
    assert tr.zone == "FR" and tr.year == 2023 and len(tr.timestamps) == 8760
    assert tr.timestamps[0] == int(datetime(2023, 1, 1, tzinfo=timezone.utc).timestamp())
    # first row of the upstream file: 35.34 direct, 56.64 LCA
    assert tr.direct[0] == 35.34 and tr.lca[0] == 56.64
    assert "Electricity Maps" in tr.source and "ODbL" in tr.license
    assert 40 < tr.mean() < 60


def test_value_at_exact_and_typical():
    tr = traces.load_trace("FR")
    v = tr.value_at(datetime(2023, 1, 1, 1, 30))
    assert v.g_per_kwh == 58.17 and not v.typical
    t = tr.value_at(datetime(2026, 1, 1, 1, 0, tzinfo=timezone.utc))
    assert t.typical and t.g_per_kwh == 58.17 and "typical profile" in t.label
    leap = tr.value_at("2024-02-29T05:00Z")
    assert leap.typical and leap.hour_start == int(datetime(2023, 2, 28, 5, tzinfo=timezone.utc).timestamp())
    assert tr.value_at(datetime(2023, 1, 1, 1), kind="direct").g_per_kwh == 36.53


def test_integrate_splits_hours():
    tr = traces.load_trace("FR")
    t0 = datetime(2023, 1, 1, 0, 30, tzinfo=timezone.utc).timestamp()
    grams, typical = tr.integrate(t0, t0 + 3600, 2.0)
    assert not typical
    assert grams == pytest.approx(1.0 * 56.64 + 1.0 * 58.17)


def test_unknown_zone_lists_close_names():
    with pytest.raises(NotFoundError) as exc:
        traces.load_trace("US-CAL-CIS")
    assert "US-CAL-CISO" in str(exc.value)
