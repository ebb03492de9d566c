"""The Spark engine on a real standalone cluster (ops/stack/spark.py: a master and two workers):
the same 150,000 person-weeks, read over JDBC in partitions on the workers, give the local[*]
figures within 1%, both workers ran executors for the analysis (the master's JSON API says so),
and the database password never shows on the cluster's status pages."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from ops.stack import spark as spark_cluster
from shared.adapters.causal.spark_design import spark_session
from shared.domain.analysis import Engine, Window
from shared.domain.causal_verdict import AnalysisResult
from shared.platform.resources import Needs, Resources, open_resources
from shared.platform.settings import Settings
from shared.services.causal_analysis import ProgressState, compute
from tests.causal.conftest import PEOPLE, WEEKS, big_spec, close

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """The cluster's master URL; started (and stopped again) here unless it already ran."""
    already = all(s.running() is not None for s in spark_cluster.servers())
    url = spark_cluster.up(quiet=True)
    yield url
    if not already:
        spark_cluster.down(quiet=True)


def worker_executors(ui_port: int) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{ui_port}/json/", timeout=60) as r:
        return list(json.loads(r.read())["executors"])


@pytest.mark.timeout(1800)  # two 150K-row analyses; ~2 min on a quiet machine, far more under load
async def test_cluster_matches_local_and_uses_both_workers(
    cres: Resources, causal_settings: Settings, big_org: Window, cluster: str
) -> None:
    spec = big_spec(big_org)
    local, local_prov = await compute(cres, spec, ProgressState())
    assert local.engine is Engine.SPARK and local_prov["spark_master"] == "local[*]"

    on_cluster = causal_settings.replace(
        spark_master=cluster, spark_driver_host="127.0.0.1", service_name="co-cluster-test"
    )
    try:
        async with open_resources(on_cluster, Needs(pg=True)) as res:
            remote, prov = await compute(res, spec, ProgressState())
        check_cluster_run(causal_settings, remote, local, prov, cluster)
    finally:
        spark_session(on_cluster).stop()  # release the executors; later tests run on local[*]


def check_cluster_run(
    causal_settings: Settings, remote: AnalysisResult, local: AnalysisResult, prov: dict[str, Any], cluster: str
) -> None:
    assert prov["spark_master"] == cluster and remote.engine is Engine.SPARK
    assert remote.rows == local.rows == PEOPLE * WEEKS
    assert remote.design_columns == local.design_columns
    assert close(remote.effect, local.effect), (remote.effect, local.effect)
    assert close(remote.ci_low, local.ci_low) and close(remote.ci_high, local.ci_high)
    assert close(remote.naive_effect, local.naive_effect)
    assert close(remote.std_error or 0, local.std_error or 0)
    assert remote.clusters == local.clusters == PEOPLE
    assert abs(remote.effect - (-0.4)) < 0.02

    # the master's JSON API: our application holds a core on each of the two workers
    state = spark_cluster.master_state(timeout=60)  # the cluster's pages are slow on a loaded machine
    apps = [a for a in state["activeapps"] if a["name"] == "co-cluster-test-causal"]  # type: ignore[union-attr]
    assert len(apps) == 1, state["activeapps"]
    app = apps[0]
    assert app["cores"] == 2, app
    workers = [w for w in state["workers"] if w["state"] == "ALIVE"]  # type: ignore[union-attr]
    assert len(workers) == 2 and all(w["coresused"] >= 1 for w in workers), workers
    for key in ("spark_worker1_ui", "spark_worker2_ui"):
        ours = [e for e in worker_executors(spark_cluster.port(key)) if e["appid"] == app["id"]]
        assert ours, f"no executor of {app['id']} on {key}"

    # abuse: the JDBC password travels as a connection property, never on the cluster's pages
    password = causal_settings.flat()["pg_dsn"].get_secret_value().split("@")[0].rsplit(":", 1)[-1]
    assert len(password) >= 8
    pages = json.dumps(state) + "".join(
        json.dumps(worker_executors(spark_cluster.port(k))) for k in ("spark_worker1_ui", "spark_worker2_ui")
    )
    assert password not in pages


def test_cluster_status_names_two_live_workers(cluster: str) -> None:
    state = spark_cluster.master_state()
    assert state["url"] == cluster and state["status"] == "ALIVE"
    assert sorted(w["port"] for w in state["workers"] if w["state"] == "ALIVE") == sorted(  # type: ignore[union-attr]
        [spark_cluster.port("spark_worker1"), spark_cluster.port("spark_worker2")]
    )
