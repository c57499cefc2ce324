"""Start-up configuration: environment parsing and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.config import load_config
from notifier.errors import ConfigError


def test_defaults_and_environment(tmp_path: Path) -> None:
    config = load_config(
        environ={
            "NOTIFIER_DATA_DIR": str(tmp_path),
            "NOTIFIER_PORT": "9000",
            "NOTIFIER_PUSH_EXTRA_HOSTS": "127.0.0.1:8080, LocalHost:99",
        }
    )
    assert config.data_dir == tmp_path and config.port == 9000 and config.host == "127.0.0.1"
    assert config.push_extra_hosts == {"127.0.0.1:8080", "localhost:99"}
    assert config.db_path.parent == tmp_path


def test_flags_override_environment(tmp_path: Path) -> None:
    config = load_config(
        {"port": 7000, "data_dir": str(tmp_path / "x")}, environ={"NOTIFIER_PORT": "9000"}
    )
    assert config.port == 7000 and config.data_dir == tmp_path / "x"


def test_default_data_dir_is_platformdirs() -> None:
    import platformdirs

    assert load_config(environ={}).data_dir == Path(
        platformdirs.user_data_dir("notifier", appauthor=False)
    )


@pytest.mark.parametrize(
    "env, message",
    [
        ({"NOTIFIER_PORT": "http"}, "port must be a number"),
        ({"NOTIFIER_PORT": "70000"}, "between 1 and 65535"),
        ({"NOTIFIER_PUSH_EXTRA_HOSTS": "example.com"}, "host:port"),
        ({"NOTIFIER_LOG_LEVEL": "loud"}, "log level"),
    ],
)
def test_bad_values_are_explained(env, message) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(environ=env)
