"""Issue 11, item 5: one premium user cannot starve everyone behind the same address.

The app as the functions build it (tests/api's ``build_test_app``, real Redis); every request
comes from the same client address, as behind an office NAT or a proxy.
"""

from __future__ import annotations

import uuid

from shared.platform.settings import Settings
from tests.api.conftest import Mint, api_settings, bearer, build_test_app, mint, running  # noqa: F401


async def test_a_premium_user_cannot_starve_others_behind_the_same_address(
    api_settings: Settings,  # noqa: F811
    mint: Mint,  # noqa: F811
) -> None:
    s = api_settings.replace(
        **{
            "rate_limit_prefix": f"{api_settings.ratelimit.prefix}:{uuid.uuid4().hex[:6]}",
            "rate_limit_read": 4,
            "rate_limit_premium_factor": 5.0,
            "rate_limit_ip_factor": 2.0,
        }
    )
    async with running(build_test_app(s)) as client:
        heavy = bearer(mint("analyst", subject="heavy", tier="premium"))
        codes = [(await client.get("/v1/metrics/graph/live", headers=heavy)).status_code for _ in range(21)]
        assert codes.count(200) == 20 and codes[-1] == 429  # its own budget: 5 x 4
        for i in range(3):  # colleagues behind the same address still get their whole budget
            colleague = bearer(mint("analyst", subject=f"colleague-{i}"))
            got = [(await client.get("/v1/metrics/graph/live", headers=colleague)).status_code for _ in range(4)]
            assert got == [200, 200, 200, 200], (i, got)
