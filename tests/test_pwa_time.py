"""The app's time formatting rules (web/js/time.js), run in node: times across midnight, zone names.

No browser: one node process imports the module and answers calls line by line, so
hypothesis can try many inputs quickly. Node's ICU formats like Chromium's.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

TIME_JS = Path(__file__).resolve().parent.parent / "web" / "js" / "time.js"

# Reads {"fn": name, "args": [...]} lines, answers {"ok": result} or {"error": text} lines.
RUNNER = f"""
import * as time from {json.dumps(TIME_JS.as_uri())};
import readline from "node:readline";
const extra = {{ zones: () => Intl.supportedValuesOf("timeZone") }};
for await (const line of readline.createInterface({{ input: process.stdin }})) {{
  let out;
  try {{
    const {{ fn, args }} = JSON.parse(line);
    const f = time[fn] || extra[fn];
    const conv = args.map((a) => (a && a.date ? new Date(a.date) : a));
    out = {{ ok: f(...conv) }};
  }} catch (err) {{
    out = {{ error: String(err) }};
  }}
  process.stdout.write(JSON.stringify(out) + "\\n");
}}
"""


class Node:
    def __init__(self, locale: str) -> None:
        env = {**os.environ, "LC_ALL": locale, "LANG": locale, "TZ": "UTC"}
        self.proc = subprocess.Popen(
            ["node", "--input-type=module", "-e", RUNNER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def __call__(self, fn: str, *args: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"fn": fn, "args": args}) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        assert "error" not in answer, answer["error"]
        return answer["ok"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


def _node(locale: str) -> Iterator[Node]:
    if shutil.which("node") is None:
        pytest.skip("node is missing: run `bash tests/run.sh` (tests/peers/install.sh)")
    node = Node(locale)
    yield node
    node.close()


@pytest.fixture(scope="module")
def js() -> Iterator[Node]:
    """time.js on a 24-hour clock (en-GB, as the browser tests use)."""
    yield from _node("en_GB.UTF-8")


@pytest.fixture(scope="module")
def js_us() -> Iterator[Node]:
    """time.js on a 12-hour clock (en-US)."""
    yield from _node("en_US.UTF-8")


def local(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M")


wall_starts = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 1)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


@settings(max_examples=300, deadline=None)
@given(start=wall_starts, minutes=st.integers(1, 3 * 1440))
def test_a_time_range_says_when_it_ends_on_a_later_day(js, start, minutes) -> None:
    end = start + timedelta(minutes=minutes)
    days = (end.date() - start.date()).days
    tail = {0: "", 1: " (next day)"}.get(days, f" (+{days} days)")
    # 24-hour clock: two-digit hours, "00:30" and never "0:30"
    assert js("fmtTimeRange", local(start), local(end)) == f"{start:%H:%M} – {end:%H:%M}{tail}"


def test_the_crossing_of_midnight_from_the_issue(js, js_us) -> None:
    assert js("fmtTimeRange", "2026-12-01T23:30", "2026-12-02T00:30") == "23:30 – 00:30 (next day)"
    assert js("fmtTimeRange", "2026-12-01T18:00", "2026-12-01T19:30") == "18:00 – 19:30"
    assert (
        js_us("fmtTimeRange", "2026-12-01T23:30", "2026-12-02T00:30")
        == "11:30 PM – 12:30 AM (next day)"
    )


WINTER = {"date": "2026-01-15T12:00:00Z"}
SUMMER = {"date": "2026-07-15T12:00:00Z"}


def test_zones_are_named_as_people_say_them(js) -> None:
    for utc in ("Etc/UTC", "UTC", "Etc/GMT", "Etc/Universal", "Etc/Zulu"):
        assert js("zoneLabel", utc, WINTER) == "UTC"
    assert js("zoneLabel", "Europe/Berlin", WINTER) == "Berlin time (CET)"
    assert js("zoneLabel", "Europe/Berlin", SUMMER) == "Berlin time (CEST)"
    assert js("zoneLabel", "America/New_York", WINTER) == "New York time (EST)"
    assert js("zoneLabel", "Europe/London", WINTER) == "London time (GMT)"
    assert js("zoneLabel", "Asia/Kolkata", WINTER) == "Kolkata time (UTC+5:30)"
    assert js("zoneLabel", "Etc/GMT+5", WINTER) == "UTC-5"


def test_no_zone_is_shown_by_its_database_name(js) -> None:
    for zone in js("zones"):
        for at in (WINTER, SUMMER):
            label = js("zoneLabel", zone, at)
            assert "_" not in label and "/" not in label and "Etc" not in label, (zone, label)
            assert label == "UTC" or label.endswith(")") or label.startswith("UTC"), label


def test_zones_differ_when_their_clocks_do(js) -> None:
    assert not js("zonesDiffer", "Europe/Paris", "Europe/Berlin", WINTER)
    assert not js("zonesDiffer", "Etc/UTC", "UTC", WINTER)
    assert js("zonesDiffer", "Europe/Berlin", "Etc/UTC", WINTER)
    # London is on UTC's clock in winter, an hour ahead in summer
    assert not js("zonesDiffer", "Europe/London", "Etc/UTC", WINTER)
    assert js("zonesDiffer", "Europe/London", "Etc/UTC", SUMMER)


def test_an_item_ends_on_its_own_zones_clock(js) -> None:
    # 30 March 2025: Berlin springs forward at 02:00; 01:30 + 60 min of real time is 03:30
    occ = {"end_utc": "2025-03-30T01:30:00Z", "timezone": "Europe/Berlin"}
    assert js("endLocalOf", occ, "Etc/UTC") == "2025-03-30T03:30"
    assert js("endLocalOf", {**occ, "timezone": None}, "Etc/UTC") == "2025-03-30T01:30"
