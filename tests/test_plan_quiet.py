"""notifier.plan.quiet: which instants are quiet and when a held notification may go, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_plan_recurrence import ZONES, props, transitions

from notifier.plan import quiet
from notifier.plan.quiet import QuietHours

BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(time(23, 0), time(7, 0))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "release"),
    [
        (utc(2026, 11, 23, 21, 59), None),  # 22:59 Berlin
        (utc(2026, 11, 23, 22, 0), utc(2026, 11, 24, 6, 0)),  # 23:00 → 07:00 next morning
        (utc(2026, 11, 24, 3, 0), utc(2026, 11, 24, 6, 0)),  # after midnight
        (utc(2026, 11, 24, 6, 0), None),  # 07:00 is no longer quiet
        # autumn: the night of 25 Oct 2026 is an hour longer; 07:00 CET is 06:00 UTC
        (utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 6, 0)),
        # spring: the night of 28 Mar 2027 is an hour shorter; 07:00 CEST is 05:00 UTC
        (utc(2027, 3, 28, 0, 30), utc(2027, 3, 28, 5, 0)),
        (utc(2027, 3, 28, 5, 0), None),
    ],
)
def test_release_across_midnight_and_dst(at, release):
    assert quiet.release_time(NIGHT, at, BERLIN) == release


def test_days_pick_the_nights_by_the_weekday_they_start_on():
    school_nights = quiet.parse(
        {"start": "22:00", "end": "06:30", "days": ["SU", "MO", "TU", "WE", "TH"]}
    )
    friday_night = utc(2026, 11, 27, 23, 0)  # Friday 28 Nov 00:00 Berlin
    sunday_night = utc(2026, 11, 29, 23, 0)
    assert quiet.release_time(school_nights, friday_night, BERLIN) is None
    assert quiet.release_time(school_nights, sunday_night, BERLIN) == utc(2026, 11, 30, 5, 30)


def test_a_daytime_period_and_periods_that_meet():
    lunch = quiet.parse({"start": "12:00", "end": "13:00", "mode": "drop"})
    assert quiet.release_time(lunch, utc(2026, 11, 24, 11, 30), BERLIN) == utc(2026, 11, 24, 12, 0)
    assert quiet.release_time(lunch, utc(2026, 11, 24, 12, 0), BERLIN) is None
    evening = QuietHours(time(20, 0), time(8, 0))
    assert quiet.period_end(evening, utc(2026, 11, 24, 20, 0), BERLIN) == utc(2026, 11, 25, 7, 0)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("23-07", "must be null or like"),
        ({"start": "23:00"}, "end must be a time of day"),
        ({"start": "24:00", "end": "07:00"}, "start must be a time of day"),
        ({"start": "07:00", "end": "07:00"}, "must differ"),
        ({"start": "23:00", "end": "07:00", "mode": "mute"}, "mode must be hold"),
        ({"start": "23:00", "end": "07:00", "days": []}, "days must be a list"),
        ({"start": "23:00", "end": "07:00", "loud": True}, "loud is not part"),
    ],
)
def test_bad_settings_say_what_to_fix(value, message):
    with pytest.raises(ValueError, match=message):
        quiet.parse(value)


hhmm = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: time(*t))


@props
@given(data=st.data(), tz=st.sampled_from(ZONES), start=hhmm, end=hhmm)
def test_a_held_notification_leaves_at_the_first_moment_that_is_not_quiet(data, tz, start, end):
    if start == end:
        return
    days = data.draw(st.none() | st.frozensets(st.integers(0, 6), min_size=1))
    hours = QuietHours(start, end, "hold", days)
    marks = transitions(tz) or [utc(2026, 3, 29)]
    at = data.draw(st.sampled_from(marks)) + timedelta(
        minutes=data.draw(st.integers(-36 * 60, 36 * 60))
    )
    release = quiet.release_time(hours, at, tz)
    if release is None:
        assert quiet.period_end(hours, at, tz) is None
        return
    assert release > at
    assert quiet.period_end(hours, release, tz) is None  # not quiet when it leaves
    # and quiet all the way until then (minute steps)
    step = timedelta(minutes=data.draw(st.integers(1, 90)))
    t = at
    while t < release:
        assert quiet.period_end(hours, t, tz) is not None, (t, release)
        t += step
