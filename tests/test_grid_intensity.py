from datetime import datetime, timezone

import pytest

from tests import grid_fakes
from wattwise import grid
from wattwise.errors import WattwiseError
from wattwise.footprint import WORLD_AVERAGE, DomainEnergy, Method
from wattwise.grid import traces


@pytest.fixture
def home(tmp_path, monkeypatch):
    return grid_fakes.isolate(tmp_path, monkeypatch)


def ts(*a):
    return datetime(*a, tzinfo=timezone.utc).timestamp()


def test_annual_sources_and_kinds(home):
    fr = grid.intensity("FR")
    assert fr.resolution == "annual" and fr.kind == "lifecycle" and fr.signal == "average"
    assert "Ember" in fr.source and fr.location == "FR"
    z = grid.intensity("US-MIDA-PJM")
    assert "Electricity Maps" in z.source and "2022" in z.source
    cloud = grid.intensity("aws:ap-south-2")  # zone IN-SO has no figure -> India's country figure
    assert "country IN" in cloud.source
    assert grid.intensity(None) == WORLD_AVERAGE


def test_hourly_exact_and_typical(home):
    h = grid.intensity("US-CAL-CISO", "2023-07-01T20:00Z")
    tr = traces.load_trace("US-CAL-CISO")
    assert h.resolution == "hourly" and h.g_per_kwh == tr.value_at(ts(2023, 7, 1, 20)).g_per_kwh
    t = grid.intensity("US-CAL-CISO", datetime(2026, 7, 1, 20, tzinfo=timezone.utc))
    assert t.resolution == "typical-hourly" and "typical profile" in t.source
    assert t.g_per_kwh == h.g_per_kwh
    # a zone without a trace falls back to its annual figure
    assert grid.intensity("US-MIDA-PJM", "2023-07-01T20:00Z").resolution == "annual"


def test_emissions_hour_by_hour(home):
    tr = traces.load_trace("DE")
    t0 = ts(2023, 3, 1, 0)
    kg, i = grid.emissions_kg([(t0, t0 + 2 * 3600, 2.0)], "DE")
    expected = (tr.lca[1416] + tr.lca[1417]) / 1000.0  # 1 kWh in each of the two hours (day 59 * 24)
    assert kg == pytest.approx(expected)
    assert i.resolution == "hourly" and i.g_per_kwh == pytest.approx(expected * 1000 / 2)
    kg2, i2 = grid.emissions_kg([(ts(2025, 3, 1, 0), ts(2025, 3, 1, 2), 2.0)], "DE")
    assert i2.resolution == "typical-hourly" and kg2 == pytest.approx(kg)
    kg3, i3 = grid.emissions_kg([(t0, t0 + 3600, 1.0)], "US-MIDA-PJM")
    assert i3.resolution == "annual" and kg3 == pytest.approx(i3.g_per_kwh / 1000)


def test_emissions_rejects_bad_intervals(home):
    with pytest.raises(WattwiseError):
        grid.emissions_kg([(0, 10, float("nan"))], "FR")


def test_pue_defaults_and_override(home, monkeypatch):
    assert grid.pue.default_pue("aws:us-east-1")[0] == 1.15
    v, src = grid.pue.default_pue("aws:eu-west-3")  # no per-region figure -> fleet
    assert v == 1.15 and "global" in src
    assert grid.pue.default_pue("gcp:europe-west4")[0] == 1.07
    assert grid.pue.default_pue("azure:uksouth")[0] == 1.18
    assert grid.pue.default_pue("FR")[0] == 1.0
    monkeypatch.setenv("WATTWISE_PUE", "1.4")
    assert grid.pue.default_pue("aws:us-east-1") == (1.4, "user setting (WATTWISE_PUE or config pue)")


def test_footprint_for(home):
    energy = [DomainEnergy("cpu", 2.0, Method.MODELLED, "cpu-tdp-model", 0.2)]
    t0 = ts(2023, 3, 1, 0)
    fp = grid.footprint_for(energy, "gcp:europe-west4", samples=None)
    assert fp.pue == 1.07 and fp.intensity.resolution == "annual"
    assert fp.operational_kg == pytest.approx(2.0 * 1.07 * fp.intensity.g_per_kwh / 1000)
    assert any("PUE 1.07" in n for n in fp.notes)
    fp2 = grid.footprint_for(energy, "DE", samples=[(t0, t0 + 7200, 2.0)], pue=1.2)
    kg, _ = grid.emissions_kg([(t0, t0 + 7200, 2.0)], "DE")
    assert fp2.operational_kg == pytest.approx(kg * 1.2)
    assert fp2.pue_source == "user override"
    assert fp2.to_dict()["intensity"]["resolution"] == "hourly"


def test_footprint_for_never_loses_a_run(home, monkeypatch):
    energy = [DomainEnergy("cpu", 1.0, Method.MODELLED, "cpu-tdp-model", 0.2)]
    fp = grid.footprint_for(energy, "Atlantis")
    assert fp.intensity.g_per_kwh == WORLD_AVERAGE.g_per_kwh and "not usable" in fp.notes[0]
    monkeypatch.setenv("WATTWISE_PUE", "banana")
    fp = grid.footprint_for(energy, "FR")
    assert fp.pue == 1.0 and "none applied" in fp.pue_source
    with pytest.raises(WattwiseError):
        grid.footprint_for(energy, "Atlantis", strict=True)
