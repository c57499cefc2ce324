"""Settings → Import calendar (preview, then import), the calendar feed and Download backup."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from browser import *  # noqa: F403 - the browser fixtures

pytestmark = pytest.mark.slow

DATA = Path(__file__).parent / "data"


def test_import_a_timetable_show_the_feed_and_download_a_backup(phone) -> None:
    server = phone.server
    server.api("PUT", "/api/settings", json={"timezone": "Europe/Berlin"})
    phone.open("#/settings")
    page = phone.page

    page.set_input_files("#ics-file", str(DATA / "outlook_calendar.ics"))
    page.click("#ics-preview")
    summary = page.locator("#ics-summary")
    summary.wait_for()
    assert summary.inner_text().startswith("4 new blocks will be imported; 2 skipped: ")
    assert "1 all-day event" in summary.inner_text()
    assert "Team offsite" in page.locator("#ics-notes").inner_text()
    assert server.api("GET", "/api/blocks").json() == []  # a preview changes nothing
    page.locator("#ics-result").evaluate("e => e.scrollIntoView({block: 'center'})")
    phone.shot("settings-import-preview")
    page.click("#ics-import")
    page.locator("#ics-summary", has_text="were imported").wait_for()
    titles = sorted(b["title"] for b in server.api("GET", "/api/blocks").json())
    assert titles == [
        "Call with Kenji",
        "Lab report writing",
        "Study group",
        "Webinar: spaced repetition",
    ]

    page.click("#feed-show")
    link = page.locator("#feed-link")
    link.wait_for()
    assert link.get_attribute("href").startswith("webcal://") and link.get_attribute(
        "href"
    ).endswith(".ics")
    assert page.locator("#feed-out svg.qr").count() == 1
    feed_path = "/feed/" + link.get_attribute("href").rsplit("/feed/", 1)[1]
    served = server.api("GET", feed_path)
    assert served.status_code == 200 and b"Study group" in served.content
    page.locator("#feed-out").evaluate("e => e.scrollIntoView({block: 'center'})")
    phone.shot("settings-calendar-feed")

    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.locator("#backup-download").scroll_into_view_if_needed()
    page.locator(".toast").wait_for(state="detached")
    with page.expect_download() as caught:
        page.click("#backup-download")
    download = caught.value
    assert download.suggested_filename.startswith("study-notifier-backup-")
    with zipfile.ZipFile(io.BytesIO(Path(download.path()).read_bytes())) as zf:
        assert "notifier.sqlite3" in zf.namelist() and "files/vapid_private.pem" in zf.namelist()
    assert [e for e in phone.errors if "pageerror" in e] == []
