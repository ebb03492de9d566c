"""Demo stage for the web app (issue 14): what the pages would show right now, and what to click."""

from __future__ import annotations

from collections.abc import Callable

from shared.platform.auth import Role
from shared.platform.resources import Resources
from shared.platform.web_session import new_user
from shared.services.web_views import WebViews


async def demo_stage(resources: Resources, out: Callable[[str], None]) -> None:
    settings = resources.settings
    views = WebViews(resources)
    viewer = new_user(settings, "demo-viewer", frozenset({Role.VIEWER}), "demo", "dev")
    teams = await views.network(viewer, "teams")
    shown = sorted(teams["nodes"], key=lambda n: -n["load_index"])
    out(
        f"organisation page (every role): {len(shown)} teams drawn, {teams['withheld_teams']} withheld "
        f"(under {teams['min_group_size']} people); most loaded: "
        + ", ".join(f"{n['id']} {n['load_index']:.2f}x" for n in shown[:3])
    )
    analyst = new_user(settings, "demo-analyst", frozenset({Role.ANALYST}), "demo", "dev")
    people = await views.network(analyst, "people")
    out(f"people network (analysts and admins only): {len(people['nodes'])} people, {len(people['edges'])} ties")
    pending = await views.pending()
    out(f"approval queue: {len(pending)} waiting")
    base = settings.http.api_base_url.rstrip("/")
    out(f"web app: {base}/app/  (run `./dev serve`; it offers development sign-in locally)")
    out("  1. Sign in: pick 'analyst' -> Organisation: the team network (drag, scroll, N/P to select), then 'People'")
    out("  2. Click a team in the table: its trends, with range and granularity")
    out("  3. Analyses: start one and watch its progress; open a finished one for effect, verdict, refuters")
    out("  4. Sign out, sign in as 'approver' -> Interventions: open a pending one, give a reason, Approve;")
    out("     the timeline fills in live (executed, monitoring, succeeded) without a reload")
    out("  5. As 'admin': Operations (ingest lag, graph build, metric refreshes, schedules)")
    out(f"API docs (offline): {base}/docs and {base}/redoc")
