import pytest

from tests import grid_fakes
from wattwise import grid
from wattwise.errors import NotFoundError, WattwiseError
from wattwise.grid import tables


@pytest.fixture
def home(tmp_path, monkeypatch):
    return grid_fakes.isolate(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("text", "code", "kind", "zone"),
    [
        ("FR", "FR", "country", "FR"),
        ("fra", "FR", "country", "FR"),
        ("France", "FR", "country", "FR"),
        ("US", "US", "country", None),
        ("US-CAL-CISO", "US-CAL-CISO", "zone", "US-CAL-CISO"),
        ("ciso", "US-CAL-CISO", "zone", "US-CAL-CISO"),
        ("DE-LU", "DE", "country", "DE"),
        ("AU-NSW", "AU-NSW", "zone", "AU-NSW"),
        ("IN-WE", "IN-WE", "zone", "IN-WE"),
        ("JP-TK", "JP-TK", "zone", "JP-TK"),
        ("gcp:europe-west1", "gcp:europe-west1", "cloud", "BE"),
        ("google:europe-west1", "gcp:europe-west1", "cloud", "BE"),
        ("cloud:gcp:europe-west1", "gcp:europe-west1", "cloud", "BE"),
        ("aws:eu-west-3", "aws:eu-west-3", "cloud", "FR"),
        ("azure:francecentral", "azure:francecentral", "cloud", "FR"),
        ("eu-west-3", "aws:eu-west-3", "cloud", "FR"),
    ],
)
def test_resolve(home, text, code, kind, zone):
    loc = grid.resolve_location(text)
    assert (loc.code, loc.kind, loc.zone) == (code, kind, zone)
    assert loc.label


def test_unknown_lists_close_names(home):
    with pytest.raises(NotFoundError) as e:
        grid.resolve_location("US-CAL-CISX")
    assert "US-CAL-CISO" in e.value.hint
    with pytest.raises(NotFoundError) as e:
        grid.resolve_location("gcp:europe-west99")
    assert "gcp:europe-west9" in e.value.hint
    with pytest.raises(WattwiseError):
        grid.resolve_location("  ")


def test_coverage_counts(home):
    countries = tables.countries()
    assert len(countries) == 249 and sum(c.lca is not None for c in countries.values()) >= 200
    mc = grid.intensity("MCO")
    assert "no figure for MC" in mc.source
    assert len(tables.zones()) >= 120
    regions = tables.cloud_regions()
    by = {p: sum(1 for r in regions.values() if r.provider == p) for p in ("aws", "gcp", "azure")}
    assert by["gcp"] == 44 and by["aws"] >= 30 and by["azure"] >= 40
    for key in regions:  # every region resolves and gets an intensity
        i = grid.intensity(key)
        assert i.g_per_kwh > 0 and i.resolution == "annual"


def test_default_location_env_and_config(home, monkeypatch):
    assert grid.default_location() is None
    monkeypatch.setenv("WATTWISE_LOCATION", "aws:eu-west-3")
    assert grid.default_location().code == "aws:eu-west-3"
    monkeypatch.delenv("WATTWISE_LOCATION")
    from wattwise.config import save_config

    save_config({"location": "DE"})
    assert grid.default_location().code == "DE"


def test_cloud_detection_off_by_default(home, monkeypatch):
    from wattwise.grid import cloud_detect, http

    def boom(req, timeout):
        raise AssertionError("metadata service must not be called unless enabled")

    monkeypatch.setattr(http, "OPENER", boom)
    assert grid.default_location() is None
    with pytest.raises(WattwiseError):
        grid.resolve_location("auto")
    assert not cloud_detect.detect_enabled()


def test_cloud_detection_when_enabled(home, monkeypatch):
    from tests.grid_fakes import FakeNet
    from wattwise.grid import http

    fake = FakeNet()
    fake.add("169.254.169.254/latest", OSError("no route"))
    fake.add("metadata.google.internal", b"projects/123/zones/europe-west1-b")
    monkeypatch.setattr(http, "OPENER", fake)
    monkeypatch.setenv("WATTWISE_CLOUD_DETECT", "1")
    assert grid.default_location().code == "gcp:europe-west1"
    assert all("169.254" in r.full_url or "metadata.google" in r.full_url for r in fake.requests)
