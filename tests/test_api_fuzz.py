"""schemathesis against /schema/openapi.json of a real server on loopback: no 5xx, ever.

Every operation gets valid and invalid generated requests with a valid device
token, until at least MIN_REQUESTS have been made. The only thing kept off
limits is revoking the fuzzer's own token (which would turn the rest into 401s);
revocation itself is covered by tests/test_access_pairing.py.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from procs import ServerProcess

MIN_REQUESTS = 1000
TIME_BUDGET = 110.0  # seconds
EXAMPLES_PER_ROUND = 25


@pytest.fixture
def server(data_dir):
    proc = ServerProcess(data_dir).start()
    yield proc
    proc.kill()


@pytest.mark.slow
def test_generated_requests_with_a_valid_token_never_get_a_5xx(server, data_dir) -> None:
    import schemathesis
    from schemathesis.generation import GenerationMode

    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "notifier",
            "token",
            "--data-dir",
            str(data_dir),
            "--label",
            "fuzzer",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    auth = {"Authorization": f"Bearer {token}"}
    session = requests.Session()
    session.headers.update(auth)
    own_id = next(d["id"] for d in session.get(f"{server.url}/api/devices").json() if d["current"])

    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json", headers=auth)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15

    sent: list[str] = []
    server_errors: list[str] = []

    def run(operation, mode) -> None:
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_ROUND,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.generate],
        )
        def one(case) -> None:
            params = case.path_parameters or {}
            if (
                operation.label == "DELETE /api/devices/{device_id}"
                and params.get("device_id") == own_id
            ):
                params["device_id"] = own_id + 10_000
            response = case.call(base_url=server.url, session=session, timeout=15)
            sent.append(operation.label)
            if response.status_code >= 500:
                server_errors.append(
                    f"{operation.label} -> {response.status_code}: {case.as_curl_command()}"
                )

        try:
            one()
        except Unsatisfiable:
            nothing_invalid.add((operation.label, mode))  # e.g. no parameters to get wrong

    nothing_invalid: set = set()
    started = time.monotonic()
    while len(sent) < MIN_REQUESTS and time.monotonic() - started < TIME_BUDGET:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if (operation.label, mode) not in nothing_invalid:
                    run(operation, mode)

    assert not server_errors, "\n".join(server_errors[:20]) + "\n" + server.output()[-3000:]
    assert len(sent) >= MIN_REQUESTS, f"only {len(sent)} requests in {TIME_BUDGET}s"
    assert set(sent) == {op.label for op in operations}
    assert session.get(f"{server.url}/healthz").status_code == 200
