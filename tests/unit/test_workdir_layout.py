"""The `.selfheal/` work directory: its paths, the cloud and dashboard records, outputs, state removal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from selfheal.cloud.credentials import load_or_create
from selfheal.loop.deployment import load_outputs
from selfheal.stack.dashboard_process import (
    DEFAULT_DASHBOARD_PORT,
    DashboardProcessError,
    choose_dashboard_port,
)
from selfheal.workdir import CloudRecord, DashboardRecord, Workdir, rotate_log


def _record(**changes: object) -> CloudRecord:
    fields: dict[str, object] = {
        "pid": 4242,
        "endpoint": "http://127.0.0.1:4566",
        "port": 4566,
        "time_scale": 20.0,
        "region": "us-east-1",
        "started_at": 1700000000.5,
    }
    fields.update(changes)
    return CloudRecord(**fields)  # type: ignore[arg-type]


def test_paths_live_under_the_root(tmp_path: Path) -> None:
    """Every file of the layout is inside the root, the state inside the stack directory."""
    place = Workdir(tmp_path / "w")
    paths = (place.cloud_json, place.cloud_log, place.terraform_log, place.outputs_json, place.stack_dir)
    for path in (*paths, place.dashboard_json, place.dashboard_log, place.credentials_file):
        assert path.parent == place.root
    assert place.state_file.parent == place.stack_dir


def test_cloud_record_round_trips(tmp_path: Path) -> None:
    """A written record reads back equal, and no partial file is left behind."""
    place = Workdir(tmp_path / "w")
    assert place.read_cloud() is None
    place.write_cloud(_record())
    assert place.read_cloud() == _record()
    assert sorted(p.name for p in place.root.iterdir()) == ["cloud.json"]


@pytest.mark.parametrize(
    "text",
    ["not json", "{}", '{"pid": "x"}', json.dumps({**_record().__dict__, "endpoint": "http://10.0.0.1:1"})],
)
def test_damaged_cloud_record_is_a_clear_error(tmp_path: Path, text: str) -> None:
    """A damaged cloud.json raises ValueError naming the file and what to do."""
    place = Workdir(tmp_path)
    place.cloud_json.write_text(text)
    with pytest.raises(ValueError, match=r"cloud\.json is damaged .*delete it"):
        place.read_cloud()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pid": 1}, "pid"),
        ({"endpoint": "http://0.0.0.0:4566"}, "endpoint"),
        ({"port": 70000}, "port"),
        ({"time_scale": 0.5}, "time scale"),
    ],
)
def test_cloud_record_rejects_bad_values(change: dict[str, object], message: str) -> None:
    """Out-of-range fields are refused when the record is made."""
    with pytest.raises(ValueError, match=message):
        _record(**change)


def test_outputs_are_flat_and_readable_by_the_cli(tmp_path: Path) -> None:
    """Strings and numbers stay as they are, other values become JSON text; deployment.py reads the file."""
    place = Workdir(tmp_path / "w")
    place.write_outputs({"api_endpoint": "http://127.0.0.1:1/_api/x/", "count": 3, "tags": {"a": "b"}})
    data = json.loads(place.outputs_json.read_text())
    assert data == {"api_endpoint": "http://127.0.0.1:1/_api/x/", "count": 3, "tags": '{"a": "b"}'}
    assert load_outputs(place.outputs_json)["api_endpoint"] == "http://127.0.0.1:1/_api/x/"


def test_remove_state_keeps_module_logs_and_key(tmp_path: Path) -> None:
    """State files go; the stack module, the provider directory, the logs and the operator key stay for
    the next `up`."""
    place = Workdir(tmp_path / "w")
    place.ensure()
    key = load_or_create(place.credentials_file)
    place.write_cloud(_record())
    place.write_dashboard(DashboardRecord(4343, "http://127.0.0.1:8765/", 8765, 1700000001.0))
    place.write_outputs({"a": "b"})
    place.dashboard_log.write_text("log")
    for path in (
        place.state_file,
        place.stack_dir / "terraform.tfstate.backup",
        place.stack_dir / "main.tf.json",
    ):
        path.write_text("{}")
    place.cloud_log.write_text("log")
    removed = place.remove_state()
    assert {p.name for p in removed} == {
        "cloud.json",
        "dashboard.json",
        "outputs.json",
        "terraform.tfstate",
        "terraform.tfstate.backup",
    }
    kept = sorted(p.name for p in place.root.iterdir())
    assert kept == ["cloud.log", "credentials", "dashboard.log", "stack"]
    assert [p.name for p in place.stack_dir.iterdir()] == ["main.tf.json"]
    assert place.remove_state() == []
    assert load_or_create(place.credentials_file) == key


def test_remove_all_removes_the_key(tmp_path: Path) -> None:
    """`remove_all` deletes the whole directory, the operator key included: the next cloud gets a new one."""
    place = Workdir(tmp_path / "w")
    key = load_or_create(place.credentials_file)
    place.remove_all()
    assert not place.root.exists()
    assert load_or_create(place.credentials_file) != key


def test_dashboard_record_round_trips(tmp_path: Path) -> None:
    """A written dashboard record reads back equal; no record reads as None."""
    place = Workdir(tmp_path / "w")
    assert place.read_dashboard() is None
    record = DashboardRecord(pid=4343, url="http://127.0.0.1:8765/", port=8765, started_at=1700000001.0)
    place.write_dashboard(record)
    assert place.read_dashboard() == record
    assert sorted(p.name for p in place.root.iterdir()) == ["dashboard.json"]


@pytest.mark.parametrize(
    "text",
    [
        "[]",
        '{"pid": 4343}',
        json.dumps({"pid": 4343, "url": "http://0.0.0.0:8765/", "port": 8765, "started_at": 1.0}),
        json.dumps({"pid": 4343, "url": "http://127.0.0.1:9999/", "port": 8765, "started_at": 1.0}),
    ],
)
def test_damaged_dashboard_record_is_a_clear_error(tmp_path: Path, text: str) -> None:
    """A dashboard.json that is not a loopback record of its own port raises ValueError saying what to do."""
    place = Workdir(tmp_path)
    place.dashboard_json.write_text(text)
    with pytest.raises(ValueError, match=r"dashboard\.json is damaged .*delete it"):
        place.read_dashboard()


def test_dashboard_port_defaults_to_8765_when_it_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    """No --dashboard-port and 8765 free: 8765, without a note."""
    monkeypatch.setattr("selfheal.stack.dashboard_process.port_available", lambda port: True)
    assert choose_dashboard_port(None) == (DEFAULT_DASHBOARD_PORT, None)


def test_dashboard_port_falls_back_with_a_note_when_8765_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """No --dashboard-port and 8765 taken: another port, and a note naming both."""
    monkeypatch.setattr("selfheal.stack.dashboard_process.port_available", lambda port: False)
    port, note = choose_dashboard_port(None)
    assert port != DEFAULT_DASHBOARD_PORT and 0 < port <= 65535
    assert note == f"dashboard port 8765 is taken; using {port} instead"


def test_an_explicit_dashboard_port_is_kept_or_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit free port is kept; a taken or out-of-range one is an error naming the option."""
    monkeypatch.setattr("selfheal.stack.dashboard_process.port_available", lambda port: port != 9001)
    assert choose_dashboard_port(9000) == (9000, None)
    assert choose_dashboard_port(0)[0] != 0
    with pytest.raises(
        DashboardProcessError, match=r"dashboard port 9001 on 127\.0\.0\.1 is taken .*--dashboard-port"
    ):
        choose_dashboard_port(9001)
    with pytest.raises(ValueError, match="--dashboard-port must be from 0 to 65535"):
        choose_dashboard_port(70000)


def test_a_large_log_is_moved_aside_before_a_run_appends(tmp_path: Path) -> None:
    log = tmp_path / "terraform.log"
    log.write_bytes(b"old run\n" * 20)
    rotate_log(log, max_bytes=100)
    assert not log.exists()
    assert (tmp_path / "terraform.log.1").read_bytes() == b"old run\n" * 20
    log.write_bytes(b"newer run\n" * 20)
    rotate_log(log, max_bytes=100)
    assert (tmp_path / "terraform.log.1").read_bytes() == b"newer run\n" * 20  # the older one replaced


def test_a_small_or_missing_log_is_left_alone(tmp_path: Path) -> None:
    log = tmp_path / "cloud.log"
    rotate_log(log, max_bytes=100)
    assert not log.exists() and not (tmp_path / "cloud.log.1").exists()
    log.write_bytes(b"x" * 100)
    rotate_log(log, max_bytes=100)
    assert log.read_bytes() == b"x" * 100 and not (tmp_path / "cloud.log.1").exists()


def test_the_background_processes_and_terraform_rotate_their_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selfheal import workdir as workdir_module
    from selfheal.stack.cloud_process import spawn_detached
    from selfheal.stack.control import _TerraformLog

    monkeypatch.setattr(workdir_module, "MAX_LOG_BYTES", 64)
    cloud_log, terraform_log = tmp_path / "cloud.log", tmp_path / "terraform.log"
    for path in (cloud_log, terraform_log):
        path.write_text("line of an earlier run\n" * 10)
    spawn_detached(["true"], cloud_log, "selfheal cloud --port 0").wait(timeout=10)
    _TerraformLog(terraform_log).begin("apply", None)
    for path in (cloud_log, terraform_log):
        assert path.with_name(path.name + ".1").read_text() == "line of an earlier run\n" * 10
        assert "earlier run" not in path.read_text()
