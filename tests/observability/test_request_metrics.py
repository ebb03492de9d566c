"""Request metrics from the app factory, on the dev server's app with the real stores behind it."""

from __future__ import annotations

import uuid

from prometheus_client.parser import text_string_to_metric_families

from shared.platform.settings import Settings
from tests.api.conftest import bearer, build_test_app, running
from tests.observability.conftest import events


def _samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def _value(samples: dict[tuple[tuple[str, str], ...], float], **labels: str) -> float:
    return sum(v for k, v in samples.items() if all((key, val) in k for key, val in labels.items()))


async def test_requests_errors_and_durations_by_route_template_and_status_class(
    api_settings: Settings, mint: object
) -> None:
    app = build_test_app(api_settings)
    token = mint("analyst")  # type: ignore[operator]
    async with running(app) as client:
        ok = await client.get("/health/live")
        missing = [await client.get(f"/v1/analyses/{uuid.uuid4()}", headers=bearer(token)) for _ in range(3)]
        unauthenticated = await client.get(f"/v1/analyses/{uuid.uuid4()}")
        too_large = await client.post(
            "/v1/events", content=b"x" * (api_settings.http.max_body_bytes + 1), headers=bearer(token)
        )
        scanned = [await client.get(f"/wp-admin/{uuid.uuid4()}.php") for _ in range(5)]
        text = (await client.get("/metrics")).text

    assert ok.status_code == 200 and unauthenticated.status_code == 401 and too_large.status_code == 413
    assert {r.status_code for r in missing} == {404} and {r.status_code for r in scanned} == {404}
    requests = _samples(text, "co_http_requests_total")
    errors = _samples(text, "co_http_request_errors_total")
    function = api_settings.service_name
    route = "/v1/analyses/{analysis_id}"
    assert _value(requests, function=function, method="GET", route="/health/live", status_class="2xx") == 1
    assert _value(requests, method="GET", route=route, status_class="4xx") == 4  # 3 x 404 + 401
    assert _value(errors, method="GET", route=route, status_class="4xx") == 4
    assert _value(requests, method="POST", route="/v1/events", status_class="4xx") == 1  # the factory's 413
    assert _value(errors, route="/health/live") == 0
    count = _samples(text, "co_http_request_duration_seconds_count")
    assert _value(count, method="GET", route=route) == 4
    assert _value(_samples(text, "co_http_request_duration_seconds_sum"), route=route) > 0
    # abuse: random paths from a scanner never become label values (cardinality, ids in paths)
    assert _value(requests, route="<unmatched>", status_class="4xx") == 5
    assert not any("wp-admin" in value for key in requests for _, value in key)
    assert not any("analyses/" in value and "{" not in value for key in requests for _, value in key)


async def test_stream_backlog_is_exported_by_the_ingest_side(api_settings: Settings, mint: object) -> None:
    """Events accepted with no consumer running show up as lag on the function's own /metrics."""
    settings = api_settings.replace(
        **{
            "stream_name": f"test:{uuid.uuid4().hex[:8]}:interactions",
            "dead_letter_stream": f"test:{uuid.uuid4().hex[:8]}:dead",
        }
    )
    app = build_test_app(settings)
    token = mint("service")  # type: ignore[operator]
    async with running(app) as client:
        before = _samples((await client.get("/metrics")).text, "co_stream_lag")
        response = await client.post("/v1/events", json=events(3), headers=bearer(token))
        assert response.status_code == 202, response.text
        after = _samples((await client.get("/metrics")).text, "co_stream_lag")
    assert _value(before, stream=settings.ingest.stream_name) == 0
    assert _value(after, stream=settings.ingest.stream_name, group=settings.ingest.stream_group) == 3


async def test_metrics_endpoint_answers_when_a_store_is_down(api_settings: Settings) -> None:
    """A scrape must not fail because PostgreSQL is unreachable: the other figures still come."""
    settings = api_settings.replace(**{"pg_acquire_timeout_s": 0.5})
    app = build_test_app(settings)
    async with running(app) as client:
        await client.get("/health/live")
        await app.state.resources.pg.raw.close()
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert "co_http_requests_total" in response.text
