"""notifier.plan.repeats: the picker's shapes, their RRULE both ways, and the rule in words."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_plan_recurrence import WEEKDAYS, ZONES, props, rrules, start_times

from notifier.plan import repeats
from notifier.plan.recurrence import localize, occurrences, parse_rrule
from notifier.plan.repeats import Repeat, RepeatError

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY = datetime(2026, 11, 24, 18, 0)


@st.composite
def starts(draw) -> datetime:
    return datetime.combine(draw(st.dates(date(2015, 1, 1), date(2034, 12, 31))), draw(start_times))


@st.composite
def shapes(draw) -> Repeat:
    """Any shape the picker can make."""
    every = draw(st.sampled_from(["day", "week", "month", "year"]))
    interval = draw(st.sampled_from([1, 1, 2, 3]) | st.integers(1, repeats.MAX_INTERVAL))
    days: tuple[str, ...] = ()
    month_day = nth = weekday = None
    if every == "week":
        chosen = draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1))
        days = tuple(d for d in WEEKDAYS if d in chosen)
    elif every == "month" and draw(st.booleans()):
        month_day = draw(st.sampled_from([*range(1, 32), -1]))
    elif every == "month":
        nth, weekday = draw(st.sampled_from(repeats.NTHS)), draw(st.sampled_from(WEEKDAYS))
    end = draw(st.sampled_from(["never", "count", "until"]))
    count = draw(st.integers(1, repeats.MAX_COUNT)) if end == "count" else None
    until = draw(st.dates(date(2000, 1, 1), date(2100, 12, 31))) if end == "until" else None
    return Repeat(every, interval, days, month_day, nth, weekday, count, until)


@st.composite
def shape_spellings(draw, start: datetime) -> str:
    """Rules that mean one of the shapes, spelt the many ways RRULE allows."""
    weekday = WEEKDAYS[start.weekday()]
    form = draw(st.sampled_from(["daily", "weekly", "weekly-bare", "daily-byday", "monthly",
                                 "monthly-bare", "monthly-nth", "monthly-setpos", "yearly",
                                 "yearly-spelt"]))  # fmt: skip
    interval = draw(st.sampled_from([1, 1, 2, 3]))
    parts = ["FREQ=" + form.split("-")[0].upper()]
    if form != "daily-byday" and interval > 1:
        parts.append(f"INTERVAL={interval}")
    if form in ("weekly", "daily-byday"):
        chosen = draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1))
        parts.append("BYDAY=" + ",".join(chosen))
    elif form == "monthly":
        parts.append(f"BYMONTHDAY={draw(st.sampled_from([1, 15, 29, 30, 31, -1, start.day]))}")
    elif form == "monthly-nth":
        parts.append(
            f"BYDAY={draw(st.sampled_from(repeats.NTHS))}{draw(st.sampled_from(WEEKDAYS))}"
        )
    elif form == "monthly-setpos":
        parts.append(
            f"BYDAY={draw(st.sampled_from(WEEKDAYS))};BYSETPOS={draw(st.sampled_from(repeats.NTHS))}"
        )
    elif form == "yearly-spelt":
        parts.append(f"BYMONTH={start.month}")
        if draw(st.booleans()):
            parts.append(f"BYMONTHDAY={start.day}")
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"WKST={draw(st.sampled_from(WEEKDAYS))}")
    end = draw(st.sampled_from([None, "COUNT", "UNTIL"]))
    if end == "COUNT":
        parts.append(f"COUNT={draw(st.integers(1, 60))}")
    elif end == "UNTIL":
        until = start + timedelta(
            hours=draw(st.integers(-24, 200 * 24)), minutes=draw(st.integers(0, 59))
        )
        parts.append(
            "UNTIL="
            + until.strftime(draw(st.sampled_from(["%Y%m%d", "%Y%m%dT%H%M%S", "%Y%m%dT%H%M%SZ"])))
        )
    del weekday
    return ";".join(parts)


def same_occurrences(start: datetime, tz: ZoneInfo, a: str, b: str) -> None:
    lo = localize(start, tz) - timedelta(days=2)
    hi = lo + timedelta(days=240)
    got_a = occurrences(start, tz, a, lo, hi, limit=None)
    got_b = occurrences(start, tz, b, lo, hi, limit=None)
    assert [o.start_utc for o in got_a] == [o.start_utc for o in got_b], (a, b)


@settings(props, max_examples=300)
@given(data=st.data(), tz=st.sampled_from(ZONES))
def test_a_rule_that_fits_a_shape_round_trips_to_the_same_occurrences(data, tz):
    start = data.draw(starts())
    rule = data.draw(
        shape_spellings(start)
        | shape_spellings(start)
        | rrules(start).filter(lambda r: r is not None)
    )
    try:
        canonical = parse_rrule(rule)
    except ValueError:
        return  # not a rule the server accepts
    rep = repeats.from_rule(canonical, start, tz)
    if rep is None:
        return
    back = repeats.to_rule(rep)
    same_occurrences(start, tz, canonical, back)
    # and the shape it gave is a fixed point
    assert repeats.from_rule(back, start, tz) == rep


@props
@given(data=st.data())
def test_every_spelling_of_a_shape_is_recognised(data):
    start, tz = data.draw(starts()), data.draw(st.sampled_from(ZONES))
    rule = data.draw(shape_spellings(start))
    parts = dict(p.split("=") for p in rule.split(";"))
    # the one spelling that is not a shape: weeks skipped with a week start other than Monday
    if parts["FREQ"] == "WEEKLY" and parts.get("WKST", "MO") != "MO" and "INTERVAL" in parts:
        assert repeats.from_rule(rule, start, tz) is None
    else:
        assert repeats.from_rule(rule, start, tz) is not None, rule


@props
@given(rep=shapes(), start=starts(), tz=st.sampled_from(ZONES))
def test_every_shape_round_trips_through_its_rule_and_its_json(rep, start, tz):
    rule = repeats.to_rule(rep)
    assert parse_rrule(rule) == rule
    assert repeats.from_rule(rule, start, tz) == rep
    assert repeats.parse(rep.as_json()) == rep
    assert repeats.describe(rep, start)


@pytest.mark.parametrize(
    ("rule", "start", "text"),
    [
        (
            "FREQ=WEEKLY;INTERVAL=2;UNTIL=20261219;BYDAY=TU,TH",
            TUESDAY,
            "Tue and Thu, every 2 weeks, until 19 Dec",
        ),
        ("FREQ=DAILY", TUESDAY, "Every day"),
        ("FREQ=DAILY;INTERVAL=3;COUNT=10", TUESDAY, "Every 3 days, 10 sessions"),
        ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", TUESDAY, "Every weekday"),
        ("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR", TUESDAY, "Every weekday"),
        ("FREQ=WEEKLY;BYDAY=SA,SU", TUESDAY, "Every weekend"),
        ("FREQ=WEEKLY", TUESDAY, "Every Tuesday"),
        ("FREQ=WEEKLY;INTERVAL=2", TUESDAY, "Every 2 weeks on Tuesday"),
        ("FREQ=WEEKLY;BYDAY=MO,WE,FR", TUESDAY, "Every Mon, Wed and Fri"),
        ("FREQ=MONTHLY", TUESDAY, "Monthly on the 24th"),
        ("FREQ=MONTHLY;BYMONTHDAY=-1", TUESDAY, "Monthly on the last day"),
        ("FREQ=MONTHLY;BYDAY=2TU", TUESDAY, "Monthly on the 2nd Tuesday"),
        (
            "FREQ=MONTHLY;INTERVAL=3;BYDAY=FR;BYSETPOS=-1",
            TUESDAY,
            "Every 3 months on the last Friday",
        ),
        ("FREQ=YEARLY;UNTIL=20300101", TUESDAY, "Every year on 24 November, until 1 Jan 2030"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,15", TUESDAY, None),
    ],
)
def test_rules_in_words(rule, start, text):
    fields = repeats.block_fields(rule, start, BERLIN)
    if text is None:
        assert fields == {"repeat": None, "repeat_text": repeats.CUSTOM_TEXT}
    else:
        assert fields["repeat_text"] == text


def test_an_until_in_utc_or_with_a_time_becomes_the_last_day_that_counts():
    # 18:00 Berlin is 17:00 UTC in winter: an UNTIL at 16:59 UTC on the 19th stops on the 18th.
    assert repeats.from_rule("FREQ=DAILY;UNTIL=20261219T165900Z", TUESDAY, BERLIN).until == date(
        2026, 12, 18
    )
    assert repeats.from_rule("FREQ=DAILY;UNTIL=20261219T170000Z", TUESDAY, BERLIN).until == date(
        2026, 12, 19
    )
    assert repeats.from_rule("FREQ=DAILY;UNTIL=20261219T175959", TUESDAY, BERLIN).until == date(
        2026, 12, 18
    )
    assert repeats.from_rule("FREQ=DAILY;UNTIL=20261219T180000", TUESDAY, BERLIN).until == date(
        2026, 12, 19
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("weekly", "must be an object"),
        ({"every": "fortnight"}, "every must be day, week, month or year"),
        ({"every": "week"}, "a weekly repeat needs days"),
        ({"every": "week", "days": ["TUE"]}, "two-letter weekdays"),
        ({"every": "day", "days": ["TU"]}, "days only go with every: week"),
        ({"every": "day", "interval": 0}, "interval must be a whole number from 1 to 1000"),
        ({"every": "day", "interval": True}, "interval must be a whole number"),
        ({"every": "month"}, "either month_day"),
        ({"every": "month", "month_day": 15, "nth": 2, "weekday": "TU"}, "either month_day"),
        ({"every": "month", "month_day": 32}, "month_day must be 1 to 31"),
        ({"every": "month", "nth": 6, "weekday": "TU"}, "nth must be 1 to 5"),
        ({"every": "month", "nth": 2}, "weekday must be one of"),
        ({"every": "year", "month_day": 3}, "only go with every: month"),
        ({"every": "day", "count": 3, "until": "2026-12-19"}, "not both"),
        ({"every": "day", "until": "19 Dec"}, "until must be a date like 2026-12-19"),
        ({"every": "day", "until": "2026-12-19T10:00"}, "until must be a date like"),
        ({"every": "day", "count": 0}, "count must be a whole number from 1"),
        ({"every": "day", "often": True}, "often is not part of a repeat"),
    ],
)
def test_a_bad_repeat_says_what_to_fix(body, message):
    with pytest.raises(RepeatError, match=message):
        repeats.parse(body)


def test_the_weekly_picker_keeps_only_the_days_chosen():
    # issue 14 item 7: a Tuesday date with Tu and Th picked must not gain another day
    rep = repeats.parse({"every": "week", "days": ["TH", "TU"]})
    assert repeats.to_rule(rep) == "FREQ=WEEKLY;BYDAY=TU,TH"
