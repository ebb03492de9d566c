"""Live pages in real headless Chromium against the real stack: an event ingested over HTTP
appears on an open page within 2 s through the WebSocket, and within the polling interval with
WebSockets disabled (If-None-Match, 304s); an approver approves a pending high-impact
intervention from the page and its timeline shows it executing, without a reload."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from temporalio.client import Client

from shared.domain.interventions import Evidence, InterventionType, Proposal, Target, Verdict
from shared.platform.settings import Settings
from shared.platform.tokens import mint_token
from shared.services import interventions as service
from tests.web.conftest import axe_violations, new_page, screenshot, settle, sign_in, wait_until


async def people_shown(page: Any) -> int:
    text = await page.inner_text("#graph-stats [data-stat=people]")
    return int(text.strip())


async def ingest_new_pair(web: str, settings: Settings) -> None:
    token = mint_token(settings, subject="web-test-ingest", roles=["service"])
    tag = uuid.uuid4().hex[:8]
    event = {
        "event_id": f"web-{tag}",
        "kind": "email",
        "actor": f"web-{tag}-a",
        "participants": [f"web-{tag}-b"],
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    async with httpx.AsyncClient(base_url=web, timeout=30) as http:
        r = await http.post("/v1/events", json={"events": [event]}, headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 202, r.text


async def test_an_ingested_event_shows_up_within_2_s_over_the_websocket(
    web: str, browser: Any, web_settings: Settings
) -> None:
    context, page = await new_page(browser)
    await sign_in(page, web, "viewer")
    await page.goto(web + "/app/org")
    await settle(page)
    await page.wait_for_function("() => window.coLive.mode === 'live'", timeout=15_000)
    before = await people_shown(page)
    await page.evaluate("window.__noReload = true")
    await ingest_new_pair(web, web_settings)
    accepted = time.monotonic()
    shown = await wait_until(lambda: _grew(page, before), timeout_s=10)
    elapsed = time.monotonic() - accepted
    assert shown, "the new people never appeared"
    assert elapsed < 2.0, f"took {elapsed:.2f}s"
    assert await page.evaluate("window.__noReload === true")  # updated in place
    assert await page.evaluate("window.coLive.messages.some(m => m.topic === 'graph')")
    await context.close()


async def _grew(page: Any, before: int) -> bool:
    return await people_shown(page) >= before + 2


async def test_with_websockets_blocked_the_page_polls_with_if_none_match(
    web: str, browser: Any, web_settings: Settings
) -> None:
    context, page = await new_page(browser, no_websocket=True)
    statuses: list[tuple[str, int, str | None]] = []
    page.on(
        "response",
        lambda r: (
            statuses.append((r.url, r.status, r.request.headers.get("if-none-match")))
            if "/app/fragments/graph-stats" in r.url
            else None
        ),
    )
    await sign_in(page, web, "viewer")
    await page.goto(web + "/app/org")
    await settle(page)
    await page.wait_for_function("() => window.coLive.mode === 'polling'", timeout=10_000)
    assert "Updating every 1 s" in await page.inner_text("#live-status")
    await page.wait_for_timeout(2_500)  # a few unchanged polls
    assert any(status == 304 and etag for _, status, etag in statuses), statuses
    before = await people_shown(page)
    await ingest_new_pair(web, web_settings)
    accepted = time.monotonic()
    shown = await wait_until(lambda: _grew(page, before), timeout_s=10)
    elapsed = time.monotonic() - accepted
    assert shown and elapsed < web_settings.web.poll_interval_s + 1.5, f"took {elapsed:.2f}s"
    await context.close()


def high_impact_proposal() -> Proposal:
    tag = uuid.uuid4().hex[:8]
    return Proposal(
        intervention_id=service.new_intervention_id(),
        type=InterventionType.MANAGER_NUDGE,
        target=Target(people=(f"web-{tag}-1", f"web-{tag}-2"), teams=()),
        parameters={},
        evidence=Evidence("an-web", "meeting_load", "wellbeing", -0.4, -0.5, -0.3, Verdict.ROBUST),
        proposed_by="analyst-web",
    )


async def test_an_approver_approves_from_the_page_and_watches_it_execute(
    web: str, browser: Any, worker: Client, web_settings: Settings
) -> None:
    proposal = high_impact_proposal()
    await service.start(worker, web_settings, proposal, initial_retry_s=0.2, max_retry_interval_s=1.0)
    iid = proposal.intervention_id
    context, page = await new_page(browser)
    await sign_in(page, web, "approver")
    await page.goto(web + "/app/interventions")
    await settle(page)
    await page.wait_for_selector(f"#pending a[href='/app/interventions/{iid}']", timeout=20_000)
    assert "high" in await page.inner_text("#pending")
    await screenshot(page, "approver-queue")
    await page.click(f"#pending a[href='/app/interventions/{iid}']")
    await settle(page)
    await page.wait_for_selector("#intervention-status[data-status=awaiting_approval]", timeout=20_000)
    assert "Impact high" in await page.inner_text("#intervention")
    await screenshot(page, "approver-intervention-pending")
    violations = await axe_violations(page)
    assert violations == [], violations
    await page.evaluate("window.__noReload = true")
    await page.fill("#reason", "robust finding, team leads agreed")
    await page.click("button[name=decision][value=approve]")
    await page.wait_for_selector("#timeline li[data-event=approved]", timeout=20_000)
    await page.wait_for_selector("#intervention-status[data-status=succeeded]", timeout=60_000)
    events = await page.locator("#timeline li").evaluate_all("els => els.map(e => e.dataset.event)")
    order = ["approved", "pre_state_captured", "executed", "monitoring_started", "succeeded"]
    assert [e for e in events if e in order] == order, events
    assert await page.evaluate("window.__noReload === true")  # the whole run was watched live
    assert "dev-approver" in await page.inner_text("#timeline li[data-event=approved]")
    await screenshot(page, "approver-intervention-done")
    await page.goto(web + "/app/interventions")
    await page.click("text=Verify the audit chain")
    await page.wait_for_selector("#verify-result >> text=The audit chain is intact", timeout=20_000)
    await context.close()


async def test_a_viewer_or_analyst_cannot_decide(web: str, worker: Client, web_settings: Settings) -> None:
    from tests.web.test_signin import csrf_of, dev_session

    proposal = high_impact_proposal()
    await service.start(worker, web_settings, proposal)
    for role, status in (("analyst", 403), ("viewer", 403)):
        async with dev_session(web, role) as http:
            page = await http.get("/app/org")
            token = csrf_of(page.text)
            r = await http.post(
                f"/app/interventions/{proposal.intervention_id}/decide",
                data={"decision": "approve", "reason": "I should not be able to", "csrf_token": token},
                headers={"Origin": web},
            )
            assert r.status_code == status, (role, r.status_code)
