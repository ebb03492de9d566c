"""The query API's old read paths answer 308 to their /v1/metrics replacement for one release
(docs/api.md, "Moved endpoints"): the query string is kept, the method too, and both the old
path and the replacement still apply authentication and the permission the old path had."""

from __future__ import annotations

import httpx
import pytest

from shared.adapters.graph.base import PersonRow
from shared.platform.resources import Resources
from tests.api.conftest import Mint, bearer

MOVED = [
    ("/v1/graph/stats", "/v1/metrics/graph/live"),
    ("/v1/employees/moved-p1/metrics", "/v1/metrics/employees/moved-p1"),
]


@pytest.mark.parametrize(("old", "new"), MOVED)
async def test_old_path_redirects_with_its_query_string(
    dev_client: httpx.AsyncClient, mint: Mint, old: str, new: str
) -> None:
    token = bearer(mint("analyst"))
    r = await dev_client.get(old, params={"a": "1", "b": "x y"}, headers=token)
    assert r.status_code == 308
    assert r.headers["location"] == f"{new}?a=1&b=x+y"
    assert r.headers["deprecation"] == "true" and r.headers["link"] == f'<{new}>; rel="successor-version"'
    bare = await dev_client.get(old, headers=token)
    assert bare.status_code == 308 and bare.headers["location"] == new


@pytest.mark.parametrize(("old", "new"), MOVED)
async def test_the_old_path_and_its_replacement_need_the_permission(
    dev_client: httpx.AsyncClient, mint: Mint, resources: Resources, old: str, new: str
) -> None:
    """Anonymous: 401 and a viewer: 403 (individual and everyone-totals views), at the old path
    already and at the new one; an analyst following the redirect: the new path's body."""
    await resources.graph.upsert_people([PersonRow(id="moved-p1", version=1, team="t-moved", out_weight=2.0)])
    for path in (old, new):
        anonymous = await dev_client.get(path, follow_redirects=True)
        assert anonymous.status_code == 401 and anonymous.history == [], path
        viewer = await dev_client.get(path, headers=bearer(mint("viewer")), follow_redirects=True)
        assert viewer.status_code == 403 and viewer.json()["error"]["code"] == "forbidden", path
    token = bearer(mint("analyst"))
    followed = await dev_client.get(old, headers=token, follow_redirects=True)
    direct = await dev_client.get(new, headers=token)
    assert followed.status_code == direct.status_code == 200
    assert followed.json() == direct.json()
    assert [h.status_code for h in followed.history] == [308]


async def test_moved_employee_metrics_are_the_typed_body(
    dev_client: httpx.AsyncClient, mint: Mint, resources: Resources
) -> None:
    await resources.graph.upsert_people([PersonRow(id="moved-p2", version=1, team="t-moved", out_weight=4.0)])
    r = await dev_client.get("/v1/employees/moved-p2/metrics", headers=bearer(mint("analyst")), follow_redirects=True)
    body = r.json()
    assert r.status_code == 200 and body["id"] == "moved-p2" and body["team"] == "t-moved"
    assert body["out_weight"] == 4.0 and "metrics" not in body


async def test_a_bad_identifier_is_refused_before_any_redirect(dev_client: httpx.AsyncClient, mint: Mint) -> None:
    r = await dev_client.get("/v1/employees/bad%20id%3Cx%3E/metrics", headers=bearer(mint("analyst")))
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
