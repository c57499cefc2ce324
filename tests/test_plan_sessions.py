"""Tests for notifier.plan.sessions: one-session changes on top of a block's rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.clock import occurrence_key
from notifier.plan.recurrence import localize, occurrences
from notifier.plan.sessions import Change, Reminded, Series, due_reminders, find, keyed, sessions

BERLIN = ZoneInfo("Europe/Berlin")
H = timedelta(hours=1)
RULES = ["FREQ=DAILY", "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=DAILY;INTERVAL=3;COUNT=20", None]


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


@st.composite
def changed_series(draw):
    """A series around the 2026 DST changes with some sessions cancelled, moved or resized."""
    start = datetime(2026, 3, 20, draw(st.integers(0, 23)), draw(st.sampled_from([0, 30])))
    rule = draw(st.sampled_from(RULES))
    base = Series(start, BERLIN, rule, 60)
    originals = occurrences(start, BERLIN, rule, utc(2026, 3, 1), utc(2026, 5, 1), limit=None)
    changes = []
    for occ in draw(st.lists(st.sampled_from(originals), unique=True, max_size=6)):
        kind = draw(st.sampled_from(["cancel", "move", "resize", "move+resize"]))
        moved = occ.local + draw(st.integers(-20 * 24 * 4, 20 * 24 * 4)) * timedelta(minutes=15)
        changes.append(
            Change(
                occ.local,
                cancelled=kind == "cancel",
                start_local=moved if "move" in kind else None,
                duration_minutes=draw(st.integers(1, 1440)) if "resize" in kind else None,
            )
        )
    if draw(st.booleans()):  # an extra date (RDATE), maybe moved too
        extra = datetime(2026, 4, draw(st.integers(1, 30)), 7, 45)
        changes.append(Change(extra, added=True))
    return Series(start, BERLIN, rule, 60, keyed(changes, BERLIN)), base


windows = st.tuples(
    st.datetimes(datetime(2026, 2, 20), datetime(2026, 5, 10)),
    st.integers(1, 40 * 24),
).map(lambda t: (t[0].replace(tzinfo=UTC), t[0].replace(tzinfo=UTC) + t[1] * H))


@settings(max_examples=150, deadline=None)
@given(changed_series(), windows)
def test_sessions_are_the_rule_with_each_change_applied_once(pair, window):
    series, base = pair
    lo, hi = window
    got = sessions(series, lo, hi)
    assert [s.start_utc for s in got] == sorted(s.start_utc for s in got)
    assert len({s.key for s in got}) == len(got)
    # What the file means, computed plainly: every original start over a wide range,
    # less the cancelled, each placed where its change puts it.
    wide = occurrences(
        base.start_local, BERLIN, base.rrule, utc(2025, 1, 1), utc(2027, 1, 1), limit=None
    )
    expected = {}
    for occ in wide:
        c = series.changes.get(occurrence_key(occ.start_utc))
        if c is not None and c.cancelled:
            continue
        start = localize(c.start_local, BERLIN) if c and c.start_local else occ.start_utc
        expected[occurrence_key(occ.start_utc)] = (start, (c and c.duration_minutes) or 60)
    for key, c in series.changes.items():
        if c.added and not c.cancelled and key not in expected:
            expected[key] = (localize(c.start_local or c.original_local, BERLIN), 60)
    want = {k: v for k, v in expected.items() if lo <= v[0] < hi}
    assert {s.key: (s.start_utc, s.duration_minutes) for s in got} == want
    for s in got:
        assert s.moved == (s.start_utc != s.original.start_utc)
        assert find(series, s.key) == s


@settings(max_examples=100, deadline=None)
@given(changed_series(), windows, st.floats(0, 1))
def test_splitting_the_window_changes_nothing(pair, window, at):
    series, _ = pair
    lo, hi = window
    cut = lo + (hi - lo) * at
    assert sessions(series, lo, cut) + sessions(series, cut, hi) == sessions(series, lo, hi)


@settings(max_examples=100, deadline=None)
@given(changed_series(), windows, st.lists(st.sampled_from([0, 15, 30, 600]), min_size=1))
def test_each_session_and_offset_yields_one_reminder_at_its_real_start(pair, window, offsets):
    series, _ = pair
    lo, hi = window
    dues = due_reminders([Reminded(1, series, tuple(offsets))], lo, hi)
    around = sessions(series, lo - 30 * 24 * H, hi + 30 * 24 * H)
    want = {
        (s.key, off)
        for s in around
        for off in offsets
        if lo <= s.start_utc - timedelta(minutes=off) < hi
    }
    assert {(occurrence_key(d.occurrence_utc), d.offset_minutes) for d in dues} == want
    assert len(dues) == len(want)
    for d in dues:
        assert d.key == f"b1:{occurrence_key(d.start_utc)}:{d.offset_minutes}"
        assert d.due_utc == d.start_utc - timedelta(minutes=d.offset_minutes)


def test_a_moved_session_keeps_its_wall_time_across_dst_and_its_identity():
    # Daily 09:00 in Berlin; the Friday before the spring change moves to Sunday 29 March 10:00.
    series = Series(datetime(2026, 3, 23, 9), BERLIN, "FREQ=DAILY", 60)
    friday = utc(2026, 3, 27, 8)  # 09:00 CET
    moved = Change(datetime(2026, 3, 27, 9), start_local=datetime(2026, 3, 29, 10))
    series = Series(series.start_local, BERLIN, series.rrule, 60, keyed([moved], BERLIN))
    got = sessions(series, utc(2026, 3, 27), utc(2026, 3, 30))
    assert [(s.key, s.start_utc) for s in got] == [
        ("20260328T080000Z", utc(2026, 3, 28, 8)),
        ("20260329T070000Z", utc(2026, 3, 29, 7)),  # 09:00 CEST
        ("20260327T080000Z", utc(2026, 3, 29, 8)),  # the moved one: 10:00 CEST, keyed by Friday
    ]
    assert find(series, occurrence_key(friday)).moved
    # A change whose original start the rule no longer makes is ignored, not shown.
    stale = Series(datetime(2026, 3, 23, 10), BERLIN, "FREQ=DAILY", 60, series.changes)
    assert all(not s.moved for s in sessions(stale, utc(2026, 3, 20), utc(2026, 4, 5)))
    assert find(stale, "20260327T080000Z") is None
