"""Human units and fractions."""

from __future__ import annotations

import pytest

from wattwise.errors import WattwiseError
from wattwise.estimate.units import human, parse_count, parse_fraction


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("7B", 7e9),
        ("2T", 2e12),
        ("300M", 3e8),
        ("70k", 7e4),
        ("1.5e12", 1.5e12),
        ("1,000", 1000.0),
        ("0.5b", 5e8),
        (42, 42.0),
    ],
)
def test_parse_count(text, value):
    assert parse_count(text) == pytest.approx(value)


@pytest.mark.parametrize("bad", ["2X", "abc", "0", "-5B", "", "B", "1e400", "nan"])
def test_parse_count_rejects(bad):
    with pytest.raises(WattwiseError):
        parse_count(bad, "tokens")


def test_unknown_suffix_message_names_the_unit():
    with pytest.raises(WattwiseError) as exc:
        parse_count("2X", "tokens")
    assert "'X'" in exc.value.message and "T (trillion)" in (exc.value.hint or "")


@pytest.mark.parametrize(("text", "value"), [("0.4", 0.4), ("40%", 0.4), ("1", 1.0)])
def test_parse_fraction(text, value):
    assert parse_fraction(text, "MFU") == pytest.approx(value)


@pytest.mark.parametrize("bad", ["0", "1.5", "-0.1", "x", "150%"])
def test_parse_fraction_rejects(bad):
    with pytest.raises(WattwiseError):
        parse_fraction(bad, "MFU")


def test_human():
    assert human(7e9) == "7B" and human(2e12) == "2T"
