"""Tests for notifier.plan.recurrence: DST rules, RRULE expansion and reminder due times."""

from __future__ import annotations

import functools
import os
import time as wallclock
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from notifier.clock import iso, local_text, occurrence_key, parse_occurrence_key
from notifier.plan.recurrence import (
    Occurrence,
    daily_summary_due,
    first_occurrence_within,
    localize,
    occurrences,
    parse_rrule,
    system_timezone_name,
    tz_from_name,
)
from notifier.plan.sessions import Due, Reminded, Series, due_reminders


class BlockSpec(Reminded):
    """A block without one-session changes, as the scheduler sees it."""

    def __init__(self, block_id, start, tz, rrule, offsets, reminders=True):
        super().__init__(block_id, Series(start, tz, rrule, 60), offsets, reminders)

    start_local = property(lambda self: self.series.start_local)
    tz = property(lambda self: self.series.tz)
    rrule = property(lambda self: self.series.rrule)


ZONES = [
    ZoneInfo(name)
    for name in (
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",  # 30-minute DST
        "America/Sao_Paulo",  # DST at midnight until 2019, none since
        "Pacific/Chatham",  # +12:45/+13:45, switches at 02:45
        "Asia/Kolkata",
        "UTC",
    )
]
BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
H = timedelta(hours=1)

props = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def wall(u: datetime, tz: ZoneInfo) -> datetime:
    return u.astimezone(tz).replace(tzinfo=None)


def expected_utc(local: datetime, tz: ZoneInfo) -> datetime:
    """Independent oracle: earliest instant showing `local`, else read with the pre-gap offset."""
    offsets = {(local + timedelta(hours=h)).replace(tzinfo=tz).utcoffset() for h in (-30, 0, 30)}
    hits = [u for off in offsets if wall(u := (local - off).replace(tzinfo=UTC), tz) == local]
    if hits:
        return min(hits)
    before = (local - timedelta(hours=30)).replace(tzinfo=tz).utcoffset()
    return (local - before).replace(tzinfo=UTC)


def exists(local: datetime, tz: ZoneInfo) -> bool:
    return wall(expected_utc(local, tz), tz) == local


@functools.cache
def transitions(tz: ZoneInfo) -> list[datetime]:
    """UTC instants (to the minute) where the zone's offset changes, 2015-2035."""
    found, t, step = [], utc(2015, 1, 1), timedelta(days=1)
    prev = t.astimezone(tz).utcoffset()
    while t < utc(2036, 1, 1):
        nxt = t + step
        if (off := nxt.astimezone(tz).utcoffset()) != prev:
            lo, hi = t, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if mid.astimezone(tz).utcoffset() == prev else (lo, mid)
            found.append(hi.replace(second=0, microsecond=0))
            prev = off
        t = nxt
    return found


def before(mark: datetime, tz: ZoneInfo) -> datetime:
    """The wall clock reading as the change happens, e.g. 02:00 on a spring day, 03:00 in autumn (Berlin)."""
    return wall(mark - timedelta(seconds=1), tz) + timedelta(seconds=1)


zones = st.sampled_from(ZONES)
minutes = st.integers(-90, 90).map(lambda m: timedelta(minutes=m))


@st.composite
def near_transition(draw, tz: ZoneInfo) -> datetime:
    """A naive local time close to a DST change of tz (or anywhere, for zones without one)."""
    marks = transitions(tz)
    if not marks or draw(st.integers(0, 3)) == 0:
        return draw(st.datetimes(datetime(2015, 1, 1), datetime(2035, 12, 31))).replace(
            microsecond=0
        )
    return before(draw(st.sampled_from(marks)), tz) + draw(minutes)


start_times = st.one_of(
    st.sampled_from(
        [
            time(0, 0),
            time(0, 30),
            time(1, 30),
            time(2, 0),
            time(2, 15),
            time(2, 30),
            time(2, 45),
            time(3, 0),
            time(9, 0),
            time(23, 30),
        ]
    ),
    st.times().map(lambda t: t.replace(microsecond=0)),
)


@st.composite
def rrules(draw, start: datetime) -> str | None:
    """Valid RRULE text assembled from parts, or None for a one-off block."""
    if draw(st.integers(0, 7)) == 0:
        return None
    freq = draw(st.sampled_from(["DAILY", "DAILY", "WEEKLY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 4))}")
    # Often no BY part at all, so the defaults taken from the start get exercised too.
    days = draw(st.lists(st.sampled_from(WEEKDAYS), unique=True, max_size=7) | st.just([]))
    if days and freq != "YEARLY":
        if freq == "MONTHLY" and draw(st.booleans()):
            days = [f"{draw(st.sampled_from([1, 2, -1]))}{d}" for d in days]
        parts.append("BYDAY=" + ",".join(days))
    elif freq in ("MONTHLY", "DAILY") and draw(st.booleans()):
        mdays = draw(
            st.lists(st.sampled_from([1, 13, 15, 28, 29, 31, -1]), min_size=1, unique=True)
        )
        parts.append("BYMONTHDAY=" + ",".join(map(str, mdays)))
    if freq == "YEARLY" and draw(st.booleans()):
        parts.append(
            "BYMONTH="
            + ",".join(map(str, draw(st.lists(st.integers(1, 12), min_size=1, unique=True))))
        )
    if freq == "MONTHLY" and len(parts) > 1 and "BY" in parts[-1] and draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, 2, -1]))}")
    if draw(st.integers(0, 4)) == 0:
        parts.append(f"WKST={draw(st.sampled_from(WEEKDAYS))}")
    end = draw(st.sampled_from([None, None, "COUNT", "UNTIL"]))
    if end == "COUNT":
        parts.append(f"COUNT={draw(st.integers(1, 120))}")
    elif end == "UNTIL":
        until = start + draw(st.integers(-24, 800 * 24)) * H + draw(minutes)
        parts.append(
            "UNTIL="
            + until.strftime(draw(st.sampled_from(["%Y%m%d", "%Y%m%dT%H%M%S", "%Y%m%dT%H%M%SZ"])))
        )
    return ";".join(parts)


@st.composite
def blocks(draw, block_id: int = 1) -> BlockSpec:
    tz = draw(zones)
    if transitions(tz) and draw(st.booleans()):
        # Aim at a DST change: a time of day in or near its gap or overlap, starting shortly before.
        near = before(draw(st.sampled_from(transitions(tz))), tz) + draw(minutes)
        start = near.replace(second=0) - draw(st.integers(0, 60)) * timedelta(days=1)
    else:
        start = datetime.combine(
            draw(st.dates(date(2015, 1, 1), date(2034, 12, 31))), draw(start_times)
        )
    offsets = draw(
        st.lists(
            st.sampled_from([0, 0, 5, 15, 30, 60, 120, 1440]) | st.integers(0, 1440),
            min_size=1,
            max_size=4,
        )
    )
    return BlockSpec(block_id, start, tz, draw(rrules(start)), tuple(offsets), True)


@st.composite
def windows(draw, block: BlockSpec) -> tuple[datetime, datetime]:
    """A UTC window around the block's start or one of its zone's DST changes soon after."""
    first = localize(block.start_local, block.tz)
    anchors = [first, first] + [
        t for t in transitions(block.tz) if first - 7 * 24 * H < t < first + 120 * 24 * H
    ]
    start = draw(st.sampled_from(anchors)) + draw(st.integers(-7 * 24, 3 * 24)) * H + draw(minutes)
    return start, start + draw(st.integers(0, 20 * 24)) * H + abs(draw(minutes))


def all_dues(block: BlockSpec, start: datetime, end: datetime) -> list[Due]:
    return due_reminders([block], start, end)


# --- localize ----------------------------------------------------------------


@props
@given(data=st.data(), tz=zones)
def test_localize_matches_oracle_round_trips_and_moves_gaps_forward(data, tz):
    local = data.draw(near_transition(tz))
    got = localize(local, tz)
    assert got.tzinfo is UTC and got == expected_utc(local, tz)
    if exists(local, tz):
        assert wall(got, tz) == local
        # Ambiguous times take the first of their two instants.
        assert got <= local.replace(tzinfo=tz, fold=1).astimezone(UTC)
    else:
        gap = (
            local.replace(tzinfo=tz, fold=1).utcoffset()
            - local.replace(tzinfo=tz, fold=0).utcoffset()
        )
        assert gap > timedelta(0) and wall(got, tz) == local + gap


@props
@given(data=st.data(), tz=zones)
def test_localize_is_monotonic_over_existing_times(data, tz):
    # Not over gap times: RFC 5545 moves 02:30 to 03:30, which is later than a real 03:10.
    a = data.draw(near_transition(tz))
    b = a + data.draw(st.integers(0, 6 * 60)) * timedelta(minutes=1)
    assume(exists(a, tz) and exists(b, tz))
    assert localize(a, tz) <= localize(b, tz)


def test_localize_rejects_aware_input():
    with pytest.raises(ValueError):
        localize(utc(2026, 1, 1), BERLIN)


# --- occurrences and due reminders: properties --------------------------------


@props
@given(data=st.data())
def test_every_occurrence_offset_pair_in_the_window_yields_exactly_one_due(data):
    block = data.draw(blocks())
    start, end = data.draw(windows(block))
    dues = all_dues(block, start, end)
    # Search occurrences over a much wider window: the set must not depend on the window.
    wide = occurrences(
        block.start_local, block.tz, block.rrule, start - 3 * 24 * H, end + 3 * 24 * H, limit=None
    )
    expected = {
        (o.start_utc, off)
        for o in wide
        for off in block.offsets
        if start <= o.start_utc - timedelta(minutes=off) < end
    }
    got = [(d.occurrence_utc, d.offset_minutes) for d in dues]
    assert len(got) == len(set(got)) and set(got) == expected
    assert len({d.key for d in dues}) == len(dues)
    for d in dues:
        assert d.block_id == block.id and d.due_utc == d.occurrence_utc - timedelta(
            minutes=d.offset_minutes
        )
        assert parse_occurrence_key(d.key.split(":")[1]) == d.occurrence_utc


@props
@given(data=st.data())
def test_dues_are_sorted_by_due_time_then_key(data):
    blocks_ = [data.draw(blocks(block_id=i)) for i in range(1, 4)]
    start, end = data.draw(windows(blocks_[0]))
    dues = due_reminders(blocks_, start, end)
    assert dues == sorted(dues, key=lambda d: (d.due_utc, d.key))
    assert len({d.key for d in dues}) == len(dues)


@props
@given(data=st.data())
def test_closed_occurrences_get_no_reminders(data):
    block = data.draw(blocks())
    start, end = data.draw(windows(block))
    dues = all_dues(block, start, end)
    picks = data.draw(st.lists(st.sampled_from([d.occurrence_utc for d in dues]))) if dues else []
    closed = {(block.id, u) for u in picks}
    left = due_reminders([block], start, end, closed=closed)
    assert left == [d for d in dues if (d.block_id, d.occurrence_utc) not in closed]
    assert (
        due_reminders(
            [BlockSpec(block.id, block.start_local, block.tz, block.rrule, block.offsets, False)],
            start,
            end,
        )
        == []
    )


@props
@given(data=st.data())
def test_splitting_the_window_changes_nothing(data):
    # What a restart does: the scheduler resumes from where it stopped.
    block = data.draw(blocks())
    start, end = data.draw(windows(block))
    cut = start + (end - start) * data.draw(st.floats(0, 1))
    assert all_dues(block, start, cut) + all_dues(block, cut, end) == all_dues(block, start, end)


@props
@given(data=st.data())
def test_occurrences_keep_their_wall_clock_time_or_move_forward_by_the_gap(data):
    block = data.draw(blocks())
    start, end = data.draw(windows(block))
    occs = occurrences(block.start_local, block.tz, block.rrule, start, end, limit=None)
    assert [o.start_utc for o in occs] == sorted({o.start_utc for o in occs})
    for o in occs:
        assert start <= o.start_utc < end and o.local == wall(o.start_utc, block.tz)
        if o.local.time() != block.start_local.time():
            # Only a nonexistent wall time may move, and only forward by its gap.
            nominal = datetime.combine(o.local.date(), block.start_local.time())
            nominal -= timedelta(days=1) if nominal > o.local else timedelta(0)
            assert not exists(nominal, block.tz)
            assert o.start_utc == expected_utc(nominal, block.tz)


@props
@given(data=st.data(), tz=st.sampled_from([z for z in ZONES if transitions(z)]))
def test_daily_blocks_around_dst_changes(data, tz):
    # Every zone's changes, at times of day inside, before and after each gap or overlap.
    mark = data.draw(st.sampled_from(transitions(tz)))
    at = before(mark, tz) + data.draw(minutes)
    offsets = tuple(data.draw(st.lists(st.integers(0, 180), min_size=1, max_size=3)))
    block = BlockSpec(1, at - timedelta(days=3), tz, "FREQ=DAILY", offsets, True)
    start, end = mark - 2 * 24 * H, mark + 2 * 24 * H
    nominal = [datetime.combine(at.date() + timedelta(days=n), at.time()) for n in range(-3, 4)]
    want = sorted({u for u in map(lambda t: expected_utc(t, tz), nominal) if start <= u < end})
    occs = occurrences(block.start_local, tz, block.rrule, start, end)
    assert [o.start_utc for o in occs] == want
    for o in occs:
        assert o.local.time() == at.time() or not exists(
            datetime.combine(o.local.date(), at.time()), tz
        )
    cut = start + (end - start) * data.draw(st.floats(0, 1))
    assert all_dues(block, start, cut) + all_dues(block, cut, end) == all_dues(block, start, end)


@settings(props, max_examples=200)
@given(data=st.data())
def test_occurrences_match_plain_dateutil_expansion(data):
    block = data.draw(blocks())
    assume(block.rrule is not None and "UNTIL" not in block.rrule)
    start, end = data.draw(windows(block))
    lo, hi = wall(start, UTC) - timedelta(days=3), wall(end, UTC) + timedelta(days=3)
    endless = ";".join(p for p in block.rrule.split(";") if not p.startswith("COUNT"))
    # occurrences() runs the rule moved by whole 400-year cycles; plain rrule.between() only
    # returns once it sees a start past the window, so skip rules that never match again.
    assume(
        occurrences(
            block.start_local, block.tz, endless, end + 5 * 24 * H, end + 400 * 24 * H, limit=1
        )
    )
    expected: dict[datetime, datetime] = {}
    for local in rrulestr(block.rrule, dtstart=block.start_local).between(lo, hi, inc=True):
        expected.setdefault(expected_utc(local, block.tz), local)
    want = sorted(u for u in expected if start <= u < end)
    assert [
        o.start_utc for o in occurrences(block.start_local, block.tz, block.rrule, start, end)
    ] == want


@props
@given(data=st.data(), tz=zones, at=start_times)
def test_daily_summaries_are_one_per_local_day_at_the_local_time(data, tz, at):
    anchor = data.draw(st.sampled_from(transitions(tz) or [utc(2026, 3, 29)]))
    start = anchor + data.draw(st.integers(-72, 72)) * H
    end = start + data.draw(st.integers(0, 24 * 10)) * H
    got = daily_summary_due(at, tz, start, end)
    assert [u for _, u in got] == sorted({u for _, u in got})
    for day, due in got:
        assert start <= due < end and due == expected_utc(datetime.combine(day, at), tz)
    cut = start + (end - start) / 2
    assert daily_summary_due(at, tz, start, cut) + daily_summary_due(at, tz, cut, end) == got


# --- examples ----------------------------------------------------------------


def local_times(
    start: datetime, tz: ZoneInfo, rule: str | None, a: datetime, b: datetime
) -> list[str]:
    return [
        f"{o.local:%m-%d %H:%M}={o.start_utc:%H:%M}Z" for o in occurrences(start, tz, rule, a, b)
    ]


@pytest.mark.parametrize(
    ("tz", "first", "expected"),
    [
        # Berlin jumps 02:00 -> 03:00 on 2026-03-29: 02:30 does not exist and becomes 03:30.
        (
            BERLIN,
            datetime(2026, 3, 28, 2, 30),
            ["03-28 02:30=01:30Z", "03-29 03:30=01:30Z", "03-30 02:30=00:30Z"],
        ),
        # Berlin falls back 03:00 -> 02:00 on 2026-10-25: 02:30 happens twice, the first counts.
        (
            BERLIN,
            datetime(2026, 10, 24, 2, 30),
            ["10-24 02:30=00:30Z", "10-25 02:30=00:30Z", "10-26 02:30=01:30Z"],
        ),
        (
            BERLIN,
            datetime(2026, 3, 28, 9, 0),
            ["03-28 09:00=08:00Z", "03-29 09:00=07:00Z", "03-30 09:00=07:00Z"],
        ),
        (
            BERLIN,
            datetime(2026, 10, 24, 9, 0),
            ["10-24 09:00=07:00Z", "10-25 09:00=08:00Z", "10-26 09:00=08:00Z"],
        ),
        # New York jumps 02:00 -> 03:00 on 2026-03-08 and falls back 02:00 -> 01:00 on 2026-11-01.
        (
            NEW_YORK,
            datetime(2026, 3, 7, 2, 30),
            ["03-07 02:30=07:30Z", "03-08 03:30=07:30Z", "03-09 02:30=06:30Z"],
        ),
        (
            NEW_YORK,
            datetime(2026, 10, 31, 1, 30),
            ["10-31 01:30=05:30Z", "11-01 01:30=05:30Z", "11-02 01:30=06:30Z"],
        ),
        (
            NEW_YORK,
            datetime(2026, 10, 31, 2, 30),
            ["10-31 02:30=06:30Z", "11-01 02:30=07:30Z", "11-02 02:30=07:30Z"],
        ),
        (
            NEW_YORK,
            datetime(2026, 3, 7, 9, 0),
            ["03-07 09:00=14:00Z", "03-08 09:00=13:00Z", "03-09 09:00=13:00Z"],
        ),
    ],
)
def test_daily_blocks_across_dst_changes(tz, first, expected):
    window_start = localize(first, tz) - H
    assert (
        local_times(first, tz, "FREQ=DAILY", window_start, window_start + timedelta(days=3))
        == expected
    )


def test_weekly_monday_wednesday_rule():
    got = local_times(
        datetime(2026, 3, 2, 18, 0),
        BERLIN,
        "RRULE:FREQ=WEEKLY;BYDAY=MO,WE",
        utc(2026, 3, 1),
        utc(2026, 4, 2),
    )
    assert got == [
        "03-02 18:00=17:00Z", "03-04 18:00=17:00Z", "03-09 18:00=17:00Z", "03-11 18:00=17:00Z",
        "03-16 18:00=17:00Z", "03-18 18:00=17:00Z", "03-23 18:00=17:00Z", "03-25 18:00=17:00Z",
        "03-30 18:00=16:00Z", "04-01 18:00=16:00Z",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # With no BY part, the weekday, day of month and month come from the start (a Thursday).
        ("FREQ=WEEKLY;INTERVAL=2", ["01-15", "01-29", "02-12", "02-26"]),
        ("FREQ=WEEKLY;INTERVAL=2;WKST=SU", ["01-15", "01-29", "02-12", "02-26"]),
        # WKST decides which days share the start's week (RFC 5545 §3.3.10's own example).
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU",
            ["01-18", "01-26", "02-01", "02-09", "02-15", "02-23"],
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=SU",
            ["01-25", "01-26", "02-08", "02-09", "02-22", "02-23"],
        ),
        ("FREQ=MONTHLY", ["01-15", "02-15"]),
        ("FREQ=MONTHLY;BYDAY=-1FR", ["01-30", "02-27"]),
        ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", ["01-30", "02-27"]),
        ("FREQ=MONTHLY;BYMONTHDAY=1,-1", ["01-31", "02-01", "02-28"]),
        ("FREQ=YEARLY;BYMONTH=2", ["02-15"]),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=1,29", ["02-01"]),
        ("FREQ=DAILY;INTERVAL=10", ["01-15", "01-25", "02-04", "02-14", "02-24"]),
    ],
)
def test_defaults_come_from_the_start(rule, expected):
    got = occurrences(datetime(2026, 1, 15, 18, 0), BERLIN, rule, utc(2026, 1, 1), utc(2026, 3, 1))
    assert [f"{o.local:%m-%d}" for o in got] == expected
    assert all(o.local.time() == time(18, 0) for o in got)


def test_a_skipped_day_gives_one_occurrence_not_two():
    # Samoa skipped 2011-12-30 entirely; its 09:00 moves a day forward onto 12-31's 09:00.
    got = local_times(
        datetime(2011, 12, 29, 9),
        ZoneInfo("Pacific/Apia"),
        "FREQ=DAILY",
        utc(2011, 12, 29),
        utc(2011, 12, 31),
    )
    assert got == ["12-29 09:00=19:00Z", "12-31 09:00=19:00Z"]


def test_one_off_block_and_until_and_count():
    start = datetime(2026, 5, 4, 9)
    assert local_times(start, BERLIN, None, utc(2026, 1, 1), utc(2027, 1, 1)) == [
        "05-04 09:00=07:00Z"
    ]
    assert local_times(start, BERLIN, None, utc(2026, 5, 4, 7, 0, 1), utc(2027, 1, 1)) == []
    a, b = utc(2026, 1, 1), utc(2027, 1, 1)
    assert len(occurrences(start, BERLIN, "FREQ=DAILY;COUNT=3", a, b)) == 3
    assert (
        len(occurrences(start, BERLIN, "FREQ=DAILY;UNTIL=20260506", a, b)) == 3
    )  # a date includes its day
    assert (
        len(occurrences(start, BERLIN, "FREQ=DAILY;UNTIL=20260506T090000", a, b)) == 3
    )  # local time, inclusive
    assert len(occurrences(start, BERLIN, "FREQ=DAILY;UNTIL=20260506T065959Z", a, b)) == 2  # UTC
    assert len(occurrences(start, BERLIN, "FREQ=DAILY;UNTIL=20260506T070000Z", a, b)) == 3
    # COUNT is counted from the block's start, not from the window.
    assert local_times(start, BERLIN, "FREQ=DAILY;COUNT=3", utc(2026, 5, 5), b) == [
        "05-05 09:00=07:00Z",
        "05-06 09:00=07:00Z",
    ]


def test_limit_keeps_the_earliest():
    occs = occurrences(
        datetime(2026, 1, 1, 9), BERLIN, "FREQ=DAILY", utc(2026, 1, 1), utc(2030, 1, 1), limit=10
    )
    assert [o.local.day for o in occs] == list(range(1, 11))


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=DAILY;INTERVAL=7;BYDAY=TU",
        "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=6",
    ],
)
def test_rules_that_never_match_return_quickly(rule):
    # From a Monday. Plain dateutil walks such a rule to year 9999 (seconds for a daily one).
    for expand in (
        lambda: occurrences(
            datetime(2026, 3, 2, 9), BERLIN, rule, utc(2026, 1, 1), utc(2027, 1, 1)
        ),
        lambda: first_occurrence_within(datetime(2026, 3, 2, 9), BERLIN, rule),
    ):
        began = wallclock.perf_counter()
        assert not expand()
        assert wallclock.perf_counter() - began < 1.0


def test_first_occurrence_within():
    monday = datetime(2026, 3, 2, 9)
    assert first_occurrence_within(monday, BERLIN, None) == Occurrence(monday, utc(2026, 3, 2, 8))
    assert first_occurrence_within(monday, BERLIN, "FREQ=WEEKLY;BYDAY=TU").local == datetime(
        2026, 3, 3, 9
    )
    assert first_occurrence_within(monday, BERLIN, "FREQ=DAILY;UNTIL=20260301") is None
    # February 29th on a Monday: next in 2044.
    leap_monday = "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"
    assert first_occurrence_within(monday, BERLIN, leap_monday) is None
    assert first_occurrence_within(monday, BERLIN, leap_monday, years=20).local == datetime(
        2044, 2, 29, 9
    )


def test_far_future_windows_are_cheap_and_right():
    # The walk runs from the block's start to the window's end: a few thousand weeks here.
    began = wallclock.perf_counter()
    occs = occurrences(
        datetime(2026, 1, 5, 9),
        BERLIN,
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        utc(2400, 7, 1),
        utc(2400, 8, 1),
    )
    assert wallclock.perf_counter() - began < 0.5
    assert [o.local for o in occs] == [
        datetime(2400, 7, 3, 9),
        datetime(2400, 7, 17, 9),
        datetime(2400, 7, 31, 9),
    ]
    assert occs == [
        o
        for o in occurrences(
            datetime(2026, 1, 5, 9),
            BERLIN,
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
            utc(2400, 1, 1),
            utc(2401, 1, 1),
        )
        if o.start_utc < utc(2400, 8, 1) and o.start_utc >= utc(2400, 7, 1)
    ]


def test_the_end_of_the_calendar():
    # The last week of 9999 runs into year 10000, which datetime cannot hold.
    end = datetime.max.replace(tzinfo=UTC)
    got = occurrences(
        datetime(9999, 12, 20, 9),
        UTC,
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU",
        utc(9999, 12, 1),
        end,
    )
    assert [o.local.day for o in got] == list(range(20, 32))
    assert daily_summary_due(time(9), UTC, utc(9999, 12, 30), end) == [
        (date(9999, 12, 30), utc(9999, 12, 30, 9)),
        (date(9999, 12, 31), utc(9999, 12, 31, 9)),
    ]


def test_due_reminders_example():
    block = BlockSpec(7, datetime(2026, 3, 29, 2, 30), BERLIN, "FREQ=DAILY", (30, 0, 30), True)
    dues = due_reminders([block], utc(2026, 3, 29), utc(2026, 3, 30, 1))
    assert [(d.key, f"{d.due_utc:%d %H:%M}") for d in dues] == [
        ("b7:20260329T013000Z:30", "29 01:00"),
        ("b7:20260329T013000Z:0", "29 01:30"),
        ("b7:20260330T003000Z:30", "30 00:00"),
        ("b7:20260330T003000Z:0", "30 00:30"),
    ]
    # A reminder inside the window for an occurrence after it is still found.
    late = BlockSpec(8, datetime(2026, 3, 31, 0, 30), BERLIN, None, (1440,), True)
    assert [d.key for d in due_reminders([late], utc(2026, 3, 29), utc(2026, 3, 30, 1))] == [
        "b8:20260330T223000Z:1440"
    ]
    assert (
        due_reminders(
            [block], utc(2026, 3, 29), utc(2026, 3, 30, 1), closed={(7, utc(2026, 3, 29, 1, 30))}
        )[0].key
        == "b7:20260330T003000Z:30"
    )


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("rrule:freq=weekly;byday=we,mo", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("FREQ=MONTHLY;BYDAY=-1FR,+1MO;BYSETPOS=1;", "FREQ=MONTHLY;BYDAY=1MO,-1FR;BYSETPOS=1"),
        (
            "FREQ=DAILY;UNTIL=20261231T220000Z;INTERVAL=01;WKST=MO",
            "FREQ=DAILY;UNTIL=20261231T220000Z",
        ),
        (
            "FREQ=YEARLY;BYMONTH=12,3,3;BYMONTHDAY=-1;COUNT=5;WKST=SU",
            "FREQ=YEARLY;COUNT=5;BYMONTH=3,12;BYMONTHDAY=-1;WKST=SU",
        ),
    ],
)
def test_parse_rrule_normalises(text, canonical):
    assert parse_rrule(text) == canonical
    assert parse_rrule(canonical) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "BYDAY=MO",
        "FREQ=HOURLY",
        "FREQ=MINUTELY",
        "FREQ=SECONDLY;COUNT=5",
        "FREQ=FORTNIGHTLY",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=DAILY;COUNT=3;UNTIL=20260101T000000Z",
        "DTSTART:20260101T090000\nRRULE:FREQ=DAILY",
        "FREQ=DAILY;DTSTART=20260101T090000",
        "FREQ=DAILY;BYHOUR=9",
        "FREQ=DAILY;BYMINUTE=0,30",
        "FREQ=YEARLY;BYWEEKNO=20",
        "FREQ=WEEKLY;BYDAY=XX",
        "FREQ=WEEKLY;BYDAY=1MO",
        "FREQ=WEEKLY;BYMONTHDAY=1",
        "FREQ=MONTHLY;BYDAY=0MO",
        "FREQ=MONTHLY;BYDAY=6MO",  # dateutil reads past its month tables (IndexError)
        "FREQ=YEARLY;BYMONTH=10;BYDAY=20MO",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;INTERVAL=abc",
        "FREQ=DAILY;INTERVAL=1,2",
        "FREQ=DAILY;COUNT=0",
        "FREQ=DAILY;COUNT=-3",
        "FREQ=DAILY;COUNT=10001",
        "FREQ=DAILY;INTERVAL=1001",
        "FREQ=YEARLY;BYMONTH=2;BYSETPOS=0",
        "FREQ=MONTHLY;BYMONTHDAY=32",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=YEARLY;BYMONTH=13",
        "FREQ=MONTHLY;BYSETPOS=1",
        "FREQ=DAILY;BYDAY=MO;BYSETPOS=1",
        "FREQ=DAILY;UNTIL=2026-01-01",
        "FREQ=DAILY;UNTIL=20261301",
        "FREQ=DAILY;WKST=XX",
        "FREQ=DAILY;FOO=1",
        "FREQ=DAILY;INTERVAL=",
        "FREQ=DAILY; INTERVAL=2",
        "FREQ=DAILY;INTERVAL=٣",
        "FREQ=DAILY;" + "BYMONTH=1;" * 60,
    ],
)
def test_bad_rrules_are_rejected_with_a_message(text):
    with pytest.raises(ValueError, match=r"\w"):
        parse_rrule(text)


def test_bad_rrule_reaches_occurrences_as_value_error():
    with pytest.raises(ValueError):
        occurrences(datetime(2026, 1, 1), BERLIN, "FREQ=HOURLY", utc(2026, 1, 1), utc(2026, 2, 1))


@props
@given(
    st.datetimes(
        datetime(2, 1, 1), datetime(9998, 12, 31), timezones=st.sampled_from([UTC, *ZONES[:3]])
    )
)
def test_occurrence_key_round_trips(dt):
    dt = dt.replace(microsecond=0)
    key = occurrence_key(dt)
    # Compare in UTC: PEP 495 makes an ambiguous wall time unequal to every other zone's.
    assert len(key) == 16 and parse_occurrence_key(key) == dt.astimezone(UTC)


@pytest.mark.parametrize(
    "key",
    ["", "20260101T000000", "20260101T000000z", "2026-01-01T00:00:00Z", "20261301T000000Z", "20260230T000000Z",
     "20260101T240000Z", " 20260101T000000Z", "20260101T000000Z\n", "٢٠٢٦0101T000000Z", "20260101T0000Z", None],
)  # fmt: skip
def test_parse_occurrence_key_is_strict(key):
    with pytest.raises(ValueError):
        parse_occurrence_key(key)


def test_occurrence_key_needs_an_aware_datetime():
    assert occurrence_key(datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)) == "20260329T013000Z"
    assert (
        occurrence_key(utc(2026, 1, 1, 0, 0, 59, 999_999)) == "20260101T000059Z"
    )  # a clock's `now` works too
    with pytest.raises(ValueError):
        occurrence_key(datetime(2026, 1, 1))


def test_block_spec_validates_offsets_and_start():
    assert BlockSpec(1, datetime(2026, 1, 1), BERLIN, None, [0, 15], True).offsets == (0, 15)
    for bad in ((-1,), (1441,), (1.5,), (True,)):
        with pytest.raises(ValueError):
            BlockSpec(1, datetime(2026, 1, 1), BERLIN, None, bad, True)
    with pytest.raises(ValueError):
        BlockSpec(1, utc(2026, 1, 1), BERLIN, None, (0,), True)


def test_windows_must_be_aware():
    with pytest.raises(ValueError):
        occurrences(datetime(2026, 1, 1), BERLIN, None, datetime(2026, 1, 1), utc(2026, 2, 1))


def test_tz_from_name():
    assert tz_from_name("Europe/Berlin") is BERLIN
    for bad in (
        "",
        "Mars/Olympus_Mons",
        "Europe",
        "/etc/passwd",
        "../etc/x",
        "localtime",
        "europe/berlin",
        None,
    ):
        with pytest.raises(ValueError, match="time zone"):
            tz_from_name(bad)


def test_system_timezone_name(tmp_path):
    assert (
        system_timezone_name(environ={"TZ": ":America/New_York"}, etc=tmp_path)
        == "America/New_York"
    )
    assert system_timezone_name(environ={}, etc=tmp_path) == "UTC"
    (tmp_path / "timezone").write_text("Asia/Kolkata\n")
    assert system_timezone_name(environ={}, etc=tmp_path) == "Asia/Kolkata"
    os.symlink("../usr/share/zoneinfo/posix/Europe/Berlin", tmp_path / "localtime")
    assert system_timezone_name(environ={"TZ": "not a zone"}, etc=tmp_path) == "Europe/Berlin"
    assert isinstance(tz_from_name(system_timezone_name()), ZoneInfo)


def test_occurrence_is_a_frozen_value():
    o = Occurrence(datetime(2026, 1, 1), utc(2026, 1, 1))
    with pytest.raises(AttributeError):
        o.local = datetime(2027, 1, 1)  # type: ignore[misc]


# --- expansion that starts near the window -------------------------------------
# occurrences() moves a rule's start forward to the window instead of walking from the block's
# first start; these compare it with the full walk (_full_local_starts, itself checked against
# plain dateutil above) for every kind of rule the validator accepts, windows years later.

from notifier.plan.agenda import shown  # noqa: E402

LONGEST = timedelta(days=77)  # longer than the agenda's longest window, two months
from notifier.plan.recurrence import (  # noqa: E402
    _full_local_starts,
    _local_starts,
    _parse,
    utc_starts,
)

monthdays = st.sampled_from([1, 2, 13, 15, 28, 29, 30, 31, -1, -2, -29, -31])


@st.composite
def any_rules(draw, start: datetime) -> str:
    """Any rule parse_rrule accepts (all four FREQs with every BY part they may carry)."""
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY"]))
    parts = [f"FREQ={freq}"]
    if draw(st.booleans()):
        parts.append(f"INTERVAL={draw(st.integers(1, 5) | st.sampled_from([7, 12, 13, 100]))}")
    if draw(st.integers(0, 2)) == 0:
        months = draw(st.lists(st.integers(1, 12), min_size=1, max_size=4, unique=True))
        parts.append("BYMONTH=" + ",".join(map(str, months)))
    if freq != "WEEKLY" and draw(st.integers(0, 2)) == 0:
        parts.append(
            "BYMONTHDAY=" + ",".join(map(str, draw(st.lists(monthdays, min_size=1, max_size=3))))
        )
    if draw(st.integers(0, 2)) == 0:
        days = draw(st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=4, unique=True))
        if freq in ("MONTHLY", "YEARLY"):
            nth = st.sampled_from(
                ["", "", "1", "2", "-1", "5"] + (["20", "-53"] if freq == "YEARLY" else [])
            )
            days = [draw(nth) + d for d in days]
        parts.append("BYDAY=" + ",".join(days))
    if freq in ("MONTHLY", "YEARLY") and "BY" in ";".join(parts) and draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, 2, 3, -1, -2, 6]))}")
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"WKST={draw(st.sampled_from(WEEKDAYS))}")
    end = draw(st.sampled_from([None, None, "COUNT", "UNTIL"]))
    if end == "COUNT":
        parts.append(f"COUNT={draw(st.integers(1, 300))}")
    elif end == "UNTIL":
        until = start + timedelta(days=draw(st.integers(-2, 30 * 366))) + draw(minutes)
        parts.append(
            "UNTIL="
            + until.strftime(draw(st.sampled_from(["%Y%m%d", "%Y%m%dT%H%M%S", "%Y%m%dT%H%M%SZ"])))
        )
    text = ";".join(parts)
    try:
        return parse_rrule(text)
    except ValueError:  # e.g. BYSETPOS next to BYMONTH only on a MONTHLY rule: fine, it is refused
        assume(False)
        raise


def full_local_starts(rule: str, start: datetime, lo: datetime, hi: datetime) -> list[datetime]:
    """The full walk from the block's first start (UNTIL as local time applied here)."""
    parsed = _parse(rule)
    if parsed.until is not None and parsed.until.tzinfo is None:  # a UTC one bounds instants
        hi = min(hi, parsed.until)
    return list(_full_local_starts(parsed, start, lo, hi)) if hi >= lo else []


@settings(props, max_examples=250)
@given(data=st.data())
def test_the_expansion_near_the_window_equals_the_full_walk(data):
    start = datetime.combine(
        data.draw(st.dates(date(2000, 1, 1), date(2100, 12, 31))), data.draw(start_times)
    )
    rule = data.draw(any_rules(start))
    lo = start + timedelta(days=data.draw(st.integers(-40, 12 * 366))) + data.draw(minutes)
    hi = lo + timedelta(hours=data.draw(st.integers(0, 24 * 200)))
    assert list(_local_starts(_parse(rule), start, lo, hi)) == full_local_starts(
        rule, start, lo, hi
    )


@settings(props, max_examples=150)
@given(data=st.data(), tz=st.sampled_from([z for z in ZONES if transitions(z)]))
def test_occurrences_years_later_match_the_full_walk_across_dst(data, tz):
    # The window sits on one of the zone's DST changes, years after the first start.
    change = data.draw(st.sampled_from(transitions(tz)))
    start = (
        before(change, tz).replace(second=0)
        + data.draw(minutes)
        - timedelta(days=data.draw(st.integers(0, 10 * 366)))
    )
    rule = data.draw(any_rules(start))
    ws = change - data.draw(st.integers(0, 72)) * H + data.draw(minutes)
    we = ws + data.draw(st.integers(0, 24 * 40)) * H
    lo, hi = wall(ws, UTC) - timedelta(days=2), wall(we, UTC) + timedelta(days=2)
    expected: dict[datetime, datetime] = {}
    for local in full_local_starts(rule, start, lo, hi):
        expected.setdefault(expected_utc(local, tz), local)
    until = _parse(rule).until
    if until is not None and until.tzinfo is not None:  # a UTC UNTIL bounds instants
        expected = {u: local for u, local in expected.items() if u <= until}
    want = sorted(u for u in expected if ws <= u < we)
    assert [o.start_utc for o in occurrences(start, tz, rule, ws, we)] == want


@settings(props, max_examples=150)
@given(data=st.data(), tz=zones)
def test_the_agendas_texts_of_a_window_are_the_walks_starts(data, tz):
    # What the agenda shows of a window (start, end and wall time of each session, as one
    # text) is the walk's answer, in the same order, across DST changes.
    marks = transitions(tz)
    if marks and data.draw(st.booleans()):
        near = before(data.draw(st.sampled_from(marks)), tz)
        start = near.replace(second=0) + data.draw(minutes)
        start -= timedelta(days=data.draw(st.integers(0, 3 * 366)))
    else:
        start = datetime.combine(
            data.draw(st.dates(date(2015, 1, 1), date(2034, 12, 31))), data.draw(start_times)
        )
    rule = data.draw(any_rules(start))
    ws = localize(start, tz) + data.draw(st.integers(-10 * 24, 3 * 366 * 24)) * H
    ws += data.draw(minutes)
    we = ws + data.draw(st.integers(0, LONGEST // H)) * H + abs(data.draw(minutes))
    we = min(we, ws + LONGEST)
    length = data.draw(st.sampled_from([1, 45, 600, 1440]))
    walked = utc_starts(start, tz, rule, ws, we)
    want = [
        iso(utc) + iso(utc + timedelta(minutes=length)) + local_text(local)
        for utc, local in walked.items()
    ]
    assert shown(start, tz, rule, length, ws, we) == want


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY",
        "FREQ=WEEKLY;INTERVAL=3;BYDAY=MO,TH",
        "FREQ=MONTHLY;BYMONTHDAY=31",
        "FREQ=MONTHLY;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=YEARLY;BYDAY=20MO",
        "FREQ=DAILY;COUNT=10000",
    ],
)
def test_a_window_a_century_after_the_start_costs_no_more_than_one_near_it(rule):
    # Issue 13: 40 daily blocks from 2000-01-01 and an agenda week in 2100 took 8 s.
    start = datetime(2000, 1, 1, 9)
    far = occurrences(start, BERLIN, rule, utc(2100, 3, 1), utc(2100, 3, 8))  # warms the caches
    began = wallclock.process_time()
    for _ in range(20):
        assert occurrences(start, BERLIN, rule, utc(2100, 3, 1), utc(2100, 3, 8)) == far
    assert wallclock.process_time() - began < 0.2  # the walk from 2000 took seconds
    lo, hi = datetime(2100, 2, 27), datetime(2100, 3, 10)
    want = [
        local
        for local in full_local_starts(rule, start, lo, hi)
        if utc(2100, 3, 1) <= localize(local, BERLIN) < utc(2100, 3, 8)
    ]
    assert [o.local for o in far] == want


# --- "too many sessions" decided before expanding: a count there surely is --------------

from notifier.plan.recurrence import at_least  # noqa: E402


@settings(props, max_examples=300)
@given(data=st.data(), tz=zones)
def test_at_least_never_promises_more_occurrences_than_there_are(data, tz):
    start = datetime.combine(
        data.draw(st.dates(date(2000, 1, 1), date(2100, 12, 31))), data.draw(start_times)
    )
    rule = data.draw(
        st.none()
        | any_rules(start)
        | st.sampled_from(["FREQ=DAILY", "FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU"])
        | st.builds(
            lambda n, days: f"FREQ=WEEKLY;INTERVAL={n};BYDAY={','.join(days)}",
            st.integers(1, 4),
            st.lists(st.sampled_from(WEEKDAYS), min_size=1, max_size=7, unique=True),
        )
    )
    ws = localize(start, tz) + timedelta(hours=data.draw(st.integers(-24 * 40, 24 * 3 * 366)))
    we = ws + timedelta(hours=data.draw(st.integers(0, 24 * 120)))
    assert at_least(start, rule, ws, we) <= len(occurrences(start, tz, rule, ws, we, limit=None))


@pytest.mark.parametrize(
    ("rule", "sessions"),
    # of 61, 20 and 17: two days are left out at the start, three at the end (any offset)
    [("FREQ=DAILY", 57), ("FREQ=DAILY;INTERVAL=3", 19), ("FREQ=WEEKLY;BYDAY=MO,TH", 16)],
)
def test_at_least_counts_plain_rules_nearly_in_full(rule, sessions):
    ws = utc(2026, 12, 1)  # two months (61 days) of a series begun two years before
    assert at_least(datetime(2024, 12, 1, 9), rule, ws, ws + timedelta(days=61)) == sessions
