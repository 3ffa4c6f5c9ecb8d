"""best_window and interruptible plans on synthetic forecasts: exact answers, deadlines and edge cases."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from wattwise.errors import NotFoundError, WattwiseError
from wattwise.schedule import Forecast, best_window, plan_interruptible
from wattwise.schedule.timeutil import parse_duration, parse_instant

T0 = int(datetime(2023, 3, 26, 0, tzinfo=timezone.utc).timestamp())  # Europe's DST change is at 01:00 UTC
H = 3600


def fc(values: list[float], start: int = T0) -> Forecast:
    return Forecast(start, tuple(float(v) for v in values), "synthetic", "synthetic test series", "TEST")


def at(h: float) -> datetime:
    return datetime.fromtimestamp(T0 + h * H, tz=timezone.utc)


def test_exact_window_contiguous():
    f = fc([100, 90, 80, 20, 10, 30, 200, 200])
    w = best_window(f, "2h", at(0), at(8))
    assert w.start == at(3) and w.end == at(5)
    assert w.mean_g_per_kwh == pytest.approx(15.0)
    assert w.now_g_per_kwh == pytest.approx(95.0)
    assert w.saving_pct == pytest.approx(100 * (95 - 15) / 95)
    assert w.forecast.label == "synthetic test series"


def test_deadline_limits_the_choice_and_ties_go_earliest():
    f = fc([50, 40, 40, 40, 5, 5])
    assert best_window(f, "1h", at(0), at(4)).start == at(1)  # the clean hours at 4-5 end after the deadline
    assert best_window(f, timedelta(hours=1), at(0), at(6)).start == at(4)


def test_window_between_hours_is_exact():
    # a 1.5 h job: the best window covers the whole clean hour plus half of the next-cleanest neighbour
    f = fc([100, 100, 0, 40, 100, 100])
    w = best_window(f, "90m", at(0), at(6))
    assert w.start == at(2) and w.end == at(3.5)
    assert w.mean_g_per_kwh == pytest.approx((0 * 1 + 40 * 0.5) / 1.5)
    # starting mid-hour: earliest 0:30 keeps the same answer; the "now" value is from 0:30
    w2 = best_window(f, "90m", at(0.5), at(6))
    assert w2.start == at(2) and w2.now_g_per_kwh == pytest.approx(100.0)


def test_no_flexibility_runs_now():
    f = fc([10, 20, 30])
    w = best_window(f, "2h", at(0), at(2))
    assert w.start == at(0) and w.saving_pct == 0.0


def test_deadline_shorter_than_the_job():
    with pytest.raises(WattwiseError, match="needs 6h00m"):
        best_window(fc([1] * 10), "6h", at(0), at(4))
    with pytest.raises(WattwiseError, match="deadline"):
        best_window(fc([1] * 10), "1h", at(5), at(2))  # deadline before the earliest start
    with pytest.raises(WattwiseError, match="no deadline"):
        best_window(fc([1] * 10), "1h", at(0), None)


def test_job_longer_than_the_forecast_or_the_trace():
    with pytest.raises(WattwiseError, match="too short"):
        best_window(fc([1] * 24), "30h", at(0), at(40))
    with pytest.raises(WattwiseError, match="longer than the 8760 h trace"):
        best_window("FR", "400d", "2023-01-01T00:00Z", "2024-03-01T00:00Z", forecast="blend")
    # a long window is clipped to the forecast: the job still fits, only the candidates are fewer
    w = best_window(fc([5, 4, 3, 2]), "2h", at(0), at(10))
    assert w.start == at(2)


def test_dst_is_irrelevant_everything_is_utc():
    f = fc([100, 100, 10, 100, 100])  # the clean hour is 02:00 UTC, just after Europe's 01:00 UTC switch
    w = best_window(f, "1h", "2023-03-26T01:00+01:00", "2023-03-26T05:00Z")  # 01:00+01:00 is 00:00 UTC
    assert w.start == datetime(2023, 3, 26, 2, tzinfo=timezone.utc)
    assert w.start.utcoffset() == timedelta(0)
    assert parse_instant("2023-10-29T02:30+02:00") == datetime(2023, 10, 29, 0, 30, tzinfo=timezone.utc)
    assert parse_instant("2023-10-29T02:30+01:00") == datetime(2023, 10, 29, 1, 30, tzinfo=timezone.utc)
    # a real trace across the October switch has 24 distinct hourly values on 29 October (no 23/25 hour day)
    w = best_window("DE", "25h", "2023-10-28T12:00Z", "2023-10-30T13:00Z", forecast="actual")
    assert (w.end - w.start) == timedelta(hours=25)


def test_unknown_location_and_bad_input():
    with pytest.raises(NotFoundError, match="unknown"):
        best_window("Atlantis", "1h", "2023-01-01T00:00Z", "2023-01-02T00:00Z")
    with pytest.raises(WattwiseError, match="malformed duration"):
        parse_duration("6 hours please")
    with pytest.raises(WattwiseError, match="> 0"):
        parse_duration("0h")
    with pytest.raises(WattwiseError, match="malformed"):
        best_window("FR", "1h", "yesterday-ish", "2023-01-02T00:00Z")
    with pytest.raises(WattwiseError, match="forecast method"):
        best_window("FR", "1h", "2023-01-01T00:00Z", "2023-01-02T00:00Z", forecast="crystal-ball")
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("2d") == timedelta(days=2)
    assert parse_duration("1.5") == timedelta(minutes=90)


def test_real_trace_oracle_is_never_worse_than_now():
    w = best_window("US-CAL-CISO", "3h", "2023-07-01T00:00Z", "2023-07-02T03:00Z", forecast="actual")
    assert w.mean_g_per_kwh <= w.now_g_per_kwh
    assert 15 <= w.start.hour <= 22  # midday sun in California is 19-22 UTC
    assert "not a forecast" in w.label


def test_interruptible_takes_the_cleanest_hours():
    f = fc([50, 10, 60, 20, 70, 30])
    p = plan_interruptible(f, "3h", at(0), at(6))
    assert p.intervals == ((at(1).timestamp(), at(2).timestamp()), (at(3).timestamp(), at(4).timestamp()),
                           (at(5).timestamp(), at(6).timestamp()))
    assert p.mean_g_per_kwh == pytest.approx(20.0)
    assert p.paused_s == 2 * H and p.finish <= at(6).timestamp()


def test_pause_above_threshold_and_deadline_guard():
    f = fc([10, 500, 500, 10, 500, 500])
    p = plan_interruptible(f, "2h", at(0), at(6), pause_above=100)
    assert p.intervals == ((at(0).timestamp(), at(1).timestamp()), (at(3).timestamp(), at(4).timestamp()))
    # only one clean hour before the deadline: the least dirty hours are added so the job still finishes
    p = plan_interruptible(f, "3h", at(0), at(4), pause_above=100)
    assert sum(b - a for a, b in p.intervals) == 3 * H and p.finish <= at(4).timestamp()


def test_pause_dirtiest_share():
    f = fc([10, 90, 20, 80, 30, 70, 40, 60])
    p = plan_interruptible(f, "6h", at(0), None, pause_dirtiest=0.25)  # horizon 6 / 0.75 = 8 h
    assert p.deadline == at(8).timestamp()
    ran = {int((a - T0) // H) for a, b in p.intervals for a in range(int(a), int(b), H)}
    assert ran == {0, 2, 4, 5, 6, 7}  # the two dirtiest hours (1 and 3) are paused
    with pytest.raises(WattwiseError, match="between 0 and 100"):
        plan_interruptible(f, "1h", at(0), at(4), pause_dirtiest=1.5)
