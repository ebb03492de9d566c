"""The web app's routes: sign-in, pages, live fragments (ETag), the network data and the WebSocket.

Pages are rendered on the server (Jinja2) from ``shared.services.web_views``, which leaves out
whatever the role may not see. Parts of a page that change (``data-live-src``) are fragments the
page re-reads when the WebSocket says their topic changed, or on a timer with ``If-None-Match``
when WebSockets are blocked. Forms post with the session's CSRF token; htmx swaps the answer in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request, WebSocket, WebSocketDisconnect, WebSocketException
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from shared.domain.analysis import AnalysisSpec, Estimator, SpecProblem
from shared.domain.roles import Permission, Role
from shared.platform.caching import etag_matches, etag_of
from shared.platform.errors import ApiError
from shared.platform.http import resources_of
from shared.platform.web_session import (
    CSRF_FIELD,
    SESSION_KEY,
    SIGNIN_ROLES,
    WebUser,
    current_user,
    dev_sign_in_allowed,
    form_user,
    new_user,
    page_user,
    roles_from_groups,
    same_origin,
    socket_user,
)
from shared.services import analysis_records, causal_analysis
from shared.services import interventions as intervention_service
from shared.services.live_updates import LiveHub, allowed_topics
from shared.services.web_charts import diagnostics_charts, team_charts
from shared.services.web_views import WebViews

router = APIRouter(prefix="/app", include_in_schema=False)

InterventionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
AnalysisId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
TeamName = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f/]+$")]
RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30), "365d": timedelta(days=365)}

Viewer = Annotated[WebUser, Depends(page_user(Permission.READ_TEAM_AGGREGATES))]
Individual = Annotated[WebUser, Depends(page_user(Permission.READ_INDIVIDUAL_METRICS))]
InterventionReader = Annotated[WebUser, Depends(page_user(Permission.READ_INTERVENTIONS))]
Approver = Annotated[WebUser, Depends(form_user(Permission.APPROVE_INTERVENTIONS))]
AuditReader = Annotated[WebUser, Depends(page_user(Permission.READ_AUDIT))]
Analyst = Annotated[WebUser, Depends(page_user(Permission.RUN_ANALYSES))]
AnalystForm = Annotated[WebUser, Depends(form_user(Permission.RUN_ANALYSES))]
Admin = Annotated[WebUser, Depends(page_user(Permission.ADMIN_OPERATIONS))]
AnyUser = Annotated[WebUser, Depends(page_user())]


# ---- helpers ----------------------------------------------------------------------------------


def views(request: Request | WebSocket) -> WebViews:
    state = request.app.state
    if getattr(state, "web_views", None) is None:
        state.web_views = WebViews(resources_of(request))  # type: ignore[arg-type]
        state.web_views.warm()
    views_: WebViews = state.web_views
    return views_


def hub(conn: Request | WebSocket) -> LiveHub:
    state = conn.app.state
    if getattr(state, "live_hub", None) is None:
        state.live_hub = LiveHub(conn.app.state.resources)
    hub_: LiveHub = state.live_hub
    return hub_


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user = current_user(request)
    settings = request.app.state.settings
    base = {
        "request": request,
        "user": user,
        "can": (lambda p: user is not None and user.can(Permission(p))),
        "csrf_field": CSRF_FIELD,
        "heartbeat_ms": int(settings.web.heartbeat_s * 1000),
        "poll_ms": int(settings.web.poll_interval_s * 1000),
        "min_group_size": settings.privacy.min_group_size,
    }
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, template, {**base, **context}, status_code=status_code
    )
    return response


def fragment(request: Request, template: str, **context: Any) -> Response:
    """A live fragment with a strong ETag; ``304`` when the page already has it."""
    body = render(request, template, **context).body
    etag = etag_of(bytes(body))
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Cookie"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return HTMLResponse(bytes(body), headers=headers)


async def _existing_intervention(request: Request, intervention_id: str) -> Any:
    """The intervention's row, or the project's 404 when there is none."""
    row = await views(request).intervention(intervention_id)
    if row is None:
        raise ApiError(404, "not_found", f"no intervention {intervention_id}")
    return row


def redact_people(value: Any, user: WebUser) -> Any:
    """Lists of people inside audit details become counts for roles without individual views."""
    if user.can(Permission.READ_INDIVIDUAL_METRICS):
        return value
    if isinstance(value, dict):
        return {
            k: (f"{len(v)} people" if k == "people" and isinstance(v, list) else redact_people(v, user))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_people(v, user) for v in value]
    return value


# ---- sign-in ----------------------------------------------------------------------------------


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request, error: Annotated[str | None, Query(max_length=200)] = None) -> HTMLResponse:
    settings = request.app.state.settings
    if getattr(request.app.state, "resources", None) is not None:
        views(request)  # warms the layout library while the person signs in
    return render(
        request,
        "signin.html",
        oidc=request.app.state.oauth is not None,
        dev=dev_sign_in_allowed(settings),
        roles=[r.value for r in SIGNIN_ROLES],
        error=error,
    )


@router.get("/signin/oidc")
async def signin_oidc(request: Request) -> Response:
    """Start the authorization code flow with PKCE (authlib keeps state, nonce and verifier in the session)."""
    client = request.app.state.oauth
    if client is None:
        raise ApiError(404, "not_found", "no identity provider is configured")
    settings = request.app.state.settings
    origin = settings.web.public_origin.rstrip("/") if settings.web.public_origin else str(request.base_url).rstrip("/")
    try:
        response: Response = await client.authorize_redirect(request, origin + "/app/auth/callback")
    except Exception as exc:  # noqa: BLE001 - the provider is down or misconfigured: say so
        raise ApiError(503, "unavailable", "the identity provider did not answer; try again shortly") from exc
    return response


@router.get("/auth/callback")
async def oidc_callback(request: Request) -> Response:
    from authlib.integrations.base_client import OAuthError

    client = request.app.state.oauth
    if client is None:
        raise ApiError(404, "not_found", "no identity provider is configured")
    try:
        token = await client.authorize_access_token(request)
    except OAuthError as exc:
        return RedirectResponse(f"/app/signin?error={exc.error or 'sign-in failed'}"[:200], status_code=303)
    claims = dict(token.get("userinfo") or {})
    roles = roles_from_groups(request.app.state.settings, claims)
    if not roles:
        return RedirectResponse("/app/signin?error=your account is in no group this app knows", status_code=303)
    name = str(claims.get("name") or claims.get("preferred_username") or "signed in")
    user = new_user(request.app.state.settings, str(claims["sub"]), roles, name, "oidc")
    request.session.clear()
    request.session[SESSION_KEY] = user.to_session()
    return RedirectResponse("/app/", status_code=303)


@router.post("/signin/dev")
async def signin_dev(request: Request, role: Annotated[str, Form(max_length=16)]) -> Response:
    """Development sign-in: pick a role. Refused unless the settings say development."""
    settings = request.app.state.settings
    if not dev_sign_in_allowed(settings):
        raise ApiError(403, "forbidden", "development sign-in is disabled here; sign in with your organisation")
    if not same_origin(request, settings):
        raise ApiError(403, "forbidden", "cross-site request refused")
    if role not in {r.value for r in SIGNIN_ROLES}:
        raise ApiError(422, "validation_error", "pick one of the roles offered")
    user = new_user(settings, f"dev-{role}", frozenset({Role(role)}), f"Development {role}", "dev")
    request.session.clear()
    request.session[SESSION_KEY] = user.to_session()
    return RedirectResponse("/app/", status_code=303)


@router.post("/signout")
async def signout(
    request: Request, _: Annotated[WebUser, Depends(form_user(Permission.READ_TEAM_AGGREGATES))]
) -> Response:
    request.session.clear()
    return RedirectResponse("/app/signin", status_code=303)


@router.get("/")
async def home(user: AnyUser) -> Response:
    if user.can(Permission.READ_TEAM_AGGREGATES):
        return RedirectResponse("/app/org", status_code=303)
    raise ApiError(403, "forbidden", "your account has no role in this app")


# ---- organisation -------------------------------------------------------------------------------


@router.get("/org", response_class=HTMLResponse)
async def org_page(request: Request, user: Viewer) -> HTMLResponse:
    individual = user.can(Permission.READ_INDIVIDUAL_METRICS)
    return render(request, "org.html", individual=individual, page="org")


@router.get("/data/network")
async def network_data(
    request: Request, user: Viewer, level: Annotated[Literal["teams", "people"], Query()] = "teams"
) -> Response:
    data = await views(request).network(user, level)
    body = json.dumps(data, separators=(",", ":")).encode()
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Cookie"}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/fragments/graph-stats", response_class=HTMLResponse)
async def graph_stats_fragment(request: Request, _: Viewer) -> Response:
    return fragment(request, "fragments/graph_stats.html", counts=await views(request).graph_counts())


@router.get("/fragments/teams", response_class=HTMLResponse)
async def teams_fragment(request: Request, user: Viewer) -> Response:
    net = await views(request).network(user, "teams")
    return fragment(request, "fragments/teams.html", net=net, summary=await views(request).teams())


@router.get("/fragments/individuals", response_class=HTMLResponse)
async def individuals_fragment(request: Request, user: Individual) -> Response:
    return fragment(request, "fragments/individuals.html", data=await views(request).individuals(user))


# ---- team ------------------------------------------------------------------------------------------


@router.get("/teams/{team}", response_class=HTMLResponse)
async def team_page(
    request: Request,
    team: TeamName,
    _: Viewer,
    range_: Annotated[Literal["24h", "7d", "30d", "365d"], Query(alias="range")] = "30d",
    granularity: Annotated[Literal["hour", "day"], Query()] = "day",
) -> HTMLResponse:
    end = datetime.now(UTC)
    start = end - RANGES[range_]
    points = await views(request).team_history(team, start, end, granularity)

    return render(
        request,
        "team.html",
        page="org",
        team=team,
        range=range_,
        ranges=list(RANGES),
        granularity=granularity,
        charts=team_charts(points),
        points=len(points),
    )


# ---- interventions -----------------------------------------------------------------------------------


@router.get("/interventions", response_class=HTMLResponse)
async def interventions_page(request: Request, _: InterventionReader) -> HTMLResponse:
    return render(request, "interventions.html", page="interventions")


@router.get("/fragments/pending", response_class=HTMLResponse)
async def pending_fragment(request: Request, user: InterventionReader) -> Response:
    return fragment(request, "fragments/pending.html", pending=redact_people(await views(request).pending(), user))


@router.get("/fragments/interventions", response_class=HTMLResponse)
async def interventions_fragment(request: Request, user: InterventionReader) -> Response:
    rows = redact_people(await views(request).interventions(), user)
    return fragment(request, "fragments/interventions.html", rows=rows)


@router.get("/interventions/{intervention_id}", response_class=HTMLResponse)
async def intervention_page(
    request: Request, intervention_id: InterventionId, user: InterventionReader
) -> HTMLResponse:
    await _existing_intervention(request, intervention_id)
    return render(request, "intervention.html", page="interventions", iid=intervention_id)


@router.get("/fragments/intervention/{intervention_id}", response_class=HTMLResponse)
async def intervention_fragment(
    request: Request, intervention_id: InterventionId, user: InterventionReader
) -> Response:
    row = await _existing_intervention(request, intervention_id)
    timeline = redact_people(await views(request).timeline(intervention_id), user)
    return fragment(
        request, "fragments/intervention.html", row=redact_people(row, user), timeline=timeline, now=datetime.now(UTC)
    )


@router.post("/interventions/{intervention_id}/decide", response_class=HTMLResponse)
async def decide(
    request: Request,
    intervention_id: InterventionId,
    user: Approver,
    decision: Annotated[Literal["approve", "reject"], Form()],
    reason: Annotated[str, Form(min_length=3, max_length=2000)],
) -> Response:
    """Approve or reject from the page: the same Temporal update as the API's, with the person's reason."""
    await _existing_intervention(request, intervention_id)
    try:
        client = await resources_of(request).temporal()
        await intervention_service.decide(
            client,
            resources_of(request).settings,
            intervention_id,
            user.subject,
            [r.value for r in user.roles],
            decision == "approve",
            reason.strip(),
        )
    except intervention_service.DecisionRefused as exc:
        raise ApiError(409, "conflict", f"the decision was refused: {exc}") from exc
    except RuntimeError as exc:
        raise ApiError(503, "unavailable", "the workflow service is unavailable; try again") from exc
    if request.headers.get("hx-request"):
        return await intervention_fragment(request, intervention_id, user)
    return RedirectResponse(f"/app/interventions/{intervention_id}", status_code=303)


@router.get("/fragments/audit-verify", response_class=HTMLResponse)
async def audit_verify_fragment(request: Request, _: AuditReader) -> Response:
    return fragment(request, "fragments/audit_verify.html", report=await views(request).verify_audit())


# ---- analyses ------------------------------------------------------------------------------------------


@router.get("/analyses", response_class=HTMLResponse)
async def analyses_page(request: Request, _: Analyst) -> HTMLResponse:
    return render(request, "analyses.html", page="analyses", estimators=[e.value for e in Estimator], problem=None)


@router.get("/fragments/analyses", response_class=HTMLResponse)
async def analyses_fragment(request: Request, _: Analyst) -> Response:
    rows = await analysis_records.listed(resources_of(request), limit=30)
    return fragment(request, "fragments/analyses.html", rows=rows)


@router.post("/analyses", response_class=HTMLResponse)
async def start_analysis(
    request: Request,
    user: AnalystForm,
    treatment: Annotated[str, Form(max_length=64)],
    outcome: Annotated[str, Form(max_length=64)],
    estimator: Annotated[str, Form(max_length=64)],
    confounders: Annotated[str, Form(max_length=2000)] = "",
    graph: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    fields: dict[str, Any] = {
        "treatment": treatment.strip(),
        "outcome": outcome.strip(),
        "estimator": estimator,
        "confounders": [c.strip() for c in confounders.replace("\n", ",").split(",") if c.strip()],
    }
    if graph.strip():
        fields["graph"] = graph.strip()
    problem: str | None = None
    try:
        spec = AnalysisSpec.model_validate(fields)
        analysis_id, _ = await causal_analysis.start_analysis(resources_of(request), spec, user.subject)
    except ValidationError as exc:
        problem = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:5])
    except SpecProblem as exc:
        problem = f"{exc.field}: {exc.reason}"
    if problem is not None:
        return render(
            request,
            "analyses.html",
            status_code=422,
            page="analyses",
            estimators=[e.value for e in Estimator],
            problem=problem,
            form=fields,
        )
    return RedirectResponse(f"/app/analyses/{analysis_id}", status_code=303)


@router.get("/analyses/{analysis_id}", response_class=HTMLResponse)
async def analysis_page(request: Request, analysis_id: AnalysisId, _: Analyst) -> HTMLResponse:
    return render(request, "analysis.html", page="analyses", aid=analysis_id)


@router.get("/fragments/analysis/{analysis_id}", response_class=HTMLResponse)
async def analysis_fragment(request: Request, analysis_id: AnalysisId, _: Analyst) -> Response:
    row = await analysis_records.get(resources_of(request), analysis_id)
    if row is None:
        raise ApiError(404, "not_found", "no such analysis")
    result = row.result if isinstance(row.result, dict) else None
    return fragment(request, "fragments/analysis.html", row=row, result=result, charts=diagnostics_charts(result or {}))


# ---- operations --------------------------------------------------------------------------------------------


@router.get("/operations", response_class=HTMLResponse)
async def operations_page(request: Request, _: Admin) -> HTMLResponse:
    return render(request, "operations.html", page="operations")


@router.get("/fragments/operations", response_class=HTMLResponse)
async def operations_fragment(request: Request, _: Admin) -> Response:
    return fragment(request, "fragments/operations.html", ops=await views(request).operations())


# ---- live ----------------------------------------------------------------------------------------------------


async def _socket_session(websocket: WebSocket) -> WebUser:
    """The WebSocket's dependency: the session cookie and a same-origin handshake; otherwise the
    handshake is refused (HTTP 403) before anything is sent. Never a token in the URL."""
    user = socket_user(websocket)
    if user is None:
        raise WebSocketException(code=4401, reason="sign in first")
    return user


_socket_session.permission = "session"  # type: ignore[attr-defined]  # read by the route audit test


@router.websocket("/ws")
async def live_socket(websocket: WebSocket, user: Annotated[WebUser, Depends(_socket_session)]) -> None:
    """One socket per page: the page names its topics, the server sends only those its role may see."""
    await websocket.accept()
    settings = websocket.app.state.settings
    permissions = user.permissions
    async with hub(websocket).subscribe(permissions, set()) as sub:
        await websocket.send_json({"type": "hello", "topics": sorted(allowed_topics(permissions))})

        async def read() -> None:
            while True:
                message = await websocket.receive_json()
                if isinstance(message, dict) and isinstance(message.get("subscribe"), list):
                    wanted = {str(t) for t in message["subscribe"][:20]}
                    sub.topics = frozenset(wanted) & allowed_topics(permissions)
                    await websocket.send_json({"type": "subscribed", "topics": sorted(sub.topics)})

        reader = asyncio.create_task(read())
        try:
            while not reader.done():
                if user.expires_at < time.time():
                    await websocket.close(code=4401)
                    return
                try:
                    message = await asyncio.wait_for(sub.queue.get(), timeout=settings.web.heartbeat_s)
                except TimeoutError:
                    message = {"type": "ping", "at": round(time.time(), 3)}
                await websocket.send_json(message)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, Exception):
                await reader
