"""The service worker's shell list and cache name, made from the files in web/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from notifier import __version__
from notifier.host.paths import web_root
from notifier.host.web_shell import shell_digest, shell_files, shell_script

WEB = web_root()


def reachable_scripts() -> set[str]:
    """Every script the page loads: index.html's, and every module they import, transitively."""
    html = (WEB / "index.html").read_text()
    todo = re.findall(r'<script[^>]*\ssrc="(/[^"]+)"', html)
    seen: set[str] = set()
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        source = (WEB / url.lstrip("/")).read_text()
        for spec in re.findall(r'(?:import|export)\s[^;]*?\sfrom\s+"(\.{1,2}/[^"]+)"', source):
            base = url.rsplit("/", 1)[0] + "/"
            resolved = Path(base + spec).as_posix()
            parts: list[str] = []
            for part in resolved.split("/"):
                if part == "..":
                    parts.pop()
                elif part not in (".", ""):
                    parts.append(part)
            todo.append("/" + "/".join(parts))
    return seen


def test_the_shell_holds_every_script_the_app_loads_and_only_files_that_exist() -> None:
    files = shell_files()
    scripts = reachable_scripts()
    assert "/js/shared.js" in scripts and "/js/views/settings.js" in scripts
    assert scripts <= set(files), scripts - set(files)
    assert files[:2] == ["/", "/manifest.webmanifest"]
    for url in files[2:]:
        assert (WEB / url.lstrip("/")).is_file(), url
    # the icons the manifest and the page name are there too; the generator script is not
    assert "/icons/icon-192.png" in files and "/icons/apple-touch-icon.png" in files
    assert not any(url.endswith(".py") for url in files)


def test_the_cache_name_changes_with_any_shell_file(tmp_path: Path) -> None:
    copy = tmp_path / "web"
    shutil.copytree(WEB, copy)
    files = shell_files(copy)
    before = shell_digest(files, copy)
    assert shell_digest(files, copy) == before
    (copy / "css" / "app.css").write_text((copy / "css" / "app.css").read_text() + "\n/* x */\n")
    assert shell_digest(files, copy) != before
    (copy / "js" / "extra.js").write_text("export {};\n")
    assert "/js/extra.js" in shell_files(copy)


def test_sw_js_keeps_no_list_or_version_of_its_own() -> None:
    sw = (WEB / "sw.js").read_text()
    assert 'importScripts("/js/shared.js", "/sw-shell.js")' in sw
    assert not re.search(r'^\s*"/js/[^"]+",$', sw, re.M)  # no hand-kept file list
    for copy in ("function openDb", "function uuid", "function b64urlToBytes", "indexedDB.open"):
        assert copy not in sw, copy
    assert "snooze_minutes: 10" not in sw


async def test_the_server_hands_the_worker_its_shell_without_a_token(api) -> None:
    response = await api.client.get("/sw-shell.js")  # no Authorization header
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text == shell_script(__version__)
    assert f'"sn-shell-{__version__}-' in response.text and '"/js/app.js"' in response.text
