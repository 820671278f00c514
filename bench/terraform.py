"""Terraform: wall time of init, apply, a no-change plan and destroy of ``deploy/fragile``.

Run side by side in one run against two endpoints: the LocalCloud (moto plus the local cloud's runtime,
alarms, SNS delivery and data plane) and a bare moto server (``selfheal.terraform.testing.moto_endpoint``),
so the ratio shows what the local cloud adds. For scale: ``provision_loop`` creates the same resources
with plain boto3 calls, timed in the same run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from bench.common import machine, print_table, save_json

__all__ = ["run"]

MODULE = Path(__file__).resolve().parent.parent / "deploy" / "fragile"
STEPS = ("init", "apply", "plan (no change)", "destroy")


#: An endpoint and the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY it accepts.
Target = tuple[str, Mapping[str, str]]


@contextmanager
def _local_cloud() -> Iterator[Target]:
    from selfheal.cloud import LocalCloud

    with LocalCloud(port=0) as cloud:
        yield cloud.endpoint, cloud.operator_key.environment()


@contextmanager
def _bare_moto() -> Iterator[Target]:
    from selfheal.terraform.testing import MOTO_CREDENTIALS, moto_endpoint

    with moto_endpoint() as endpoint:
        yield endpoint, MOTO_CREDENTIALS


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _cycle(target_factory: Callable[[], AbstractContextManager[Target]]) -> dict[str, Any]:
    from selfheal.terraform.driver import Terraform
    from selfheal.terraform.stack import write_stack

    with tempfile.TemporaryDirectory(prefix="selfheal-bench-tf-") as tmp, target_factory() as target:
        endpoint, credentials = target
        stack = Path(tmp) / "stack"
        write_stack(stack, MODULE, {"failure_rate": "0.3"})
        tf = Terraform(stack, endpoint, credentials=credentials)
        times: dict[str, float] = {}
        times["init"], _ = _timed(tf.init)
        times["apply"], _ = _timed(tf.apply)
        times["plan (no change)"], plan = _timed(tf.plan)
        times["destroy"], _ = _timed(tf.destroy)
        return {"seconds": times, "plan_changes": len(plan.changes), "plan_rc": plan.rc}


def _provision_seconds() -> float:
    from selfheal.cloud import LocalCloud
    from selfheal.cloud.testing import provision_loop

    with LocalCloud(port=0) as cloud:
        seconds, _ = _timed(lambda: provision_loop(cloud))
    return seconds


def run(repeats: int = 2) -> dict[str, Any]:
    """Time the Terraform cycle against both endpoints ``repeats`` times; print the best of each."""
    where = machine()
    runs: dict[str, list[dict[str, Any]]] = {"local cloud": [], "bare moto": []}
    for _ in range(repeats):
        runs["local cloud"].append(_cycle(_local_cloud))
        runs["bare moto"].append(_cycle(_bare_moto))
    best = {name: {step: min(r["seconds"][step] for r in rs) for step in STEPS} for name, rs in runs.items()}
    rows = [
        [
            step,
            best["local cloud"][step],
            best["bare moto"][step],
            best["local cloud"][step] / best["bare moto"][step],
        ]
        for step in STEPS
    ]
    total = {name: sum(b.values()) for name, b in best.items()}
    rows.append(
        ["total", total["local cloud"], total["bare moto"], total["local cloud"] / total["bare moto"]]
    )
    load = f"load avg {where['loadavg_1m']} on {where['cpus']} cpus"
    print_table(
        f"Terraform on deploy/fragile, best of {repeats} (s; {load})",
        ["step", "local cloud", "bare moto", "ratio"],
        rows,
    )
    provision = _provision_seconds()
    no_change = all(r["plan_changes"] == 0 for rs in runs.values() for r in rs)
    print(
        f"\nprovision_loop (boto3, same resources): {provision:.2f} s; apply/provision_loop = "
        f"{best['local cloud']['apply'] / provision:.1f}x; re-plan empty every time: {no_change}"
    )
    results = {
        "machine": where,
        "runs": runs,
        "best": best,
        "provision_loop_s": provision,
        "no_change": no_change,
    }
    save_json("terraform", results)
    return results


QUICK: dict[str, object] = {"repeats": 1}
