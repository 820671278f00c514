"""`selfheal up` with bad input: a one-line error, exit 2, before anything is started or written."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from selfheal.cli.app import app
from selfheal.stack.control import up
from selfheal.workdir import Workdir


@pytest.mark.parametrize("scale", [0.0, 0.5, -1.0, 3601.0, math.inf, math.nan])
def test_up_refuses_a_bad_time_scale_and_leaves_no_trace(tmp_path: Path, scale: float) -> None:
    place = Workdir(tmp_path / ".selfheal")
    with pytest.raises(ValueError, match="time scale must be a number from 1 to 3600"):
        up(place, time_scale=scale, module_dir=tmp_path)
    assert not place.root.exists()


def test_the_command_says_so_in_one_line(tmp_path: Path) -> None:
    workdir = tmp_path / ".selfheal"
    result = CliRunner().invoke(app, ["up", "--time-scale", "0", "--workdir", str(workdir)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["error: time scale must be a number from 1 to 3600, got 0.0"]
    assert not workdir.exists()


def test_up_refuses_the_cloud_port_as_the_dashboard_port(tmp_path: Path) -> None:
    place = Workdir(tmp_path / ".selfheal")
    with pytest.raises(ValueError, match="--dashboard-port 4566 is the local cloud's --port"):
        up(place, port=4566, dashboard=True, dashboard_port=4566, module_dir=tmp_path)
    assert not place.root.exists()
    result = CliRunner().invoke(app, ["up", "--dashboard-port", "4566", "--workdir", str(place.root)])
    assert result.exit_code == 2
    assert not place.root.exists()
