"""The README documents every setting and starts with the two commands."""

from __future__ import annotations

import re
from pathlib import Path

from notifier.config import SETTINGS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_in_the_readme_table() -> None:
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| (\w+) \| `(\w+)` \|", README, re.M)}
    for setting in SETTINGS:
        assert rows.get(setting.name) == setting.env, f"{setting.name} missing or wrong in README"
        assert setting.help in README, f"help text of {setting.name} differs from config.py"
    assert set(rows) == {s.name for s in SETTINGS}


def test_readme_opens_with_the_run_and_test_commands() -> None:
    first_block = README.split("```")[1]
    assert "notifier" in first_block and "bash tests/run.sh" in first_block
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "tests/run.sh" in ci
