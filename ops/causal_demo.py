#!/usr/bin/env python3
"""Run the causal demo stage on its own: generate an organisation, analyse it, print the answer."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.platform.resources import Needs, open_resources  # noqa: E402
from shared.platform.settings import load_settings  # noqa: E402
from shared.services.synthetic_org import demo_stage  # noqa: E402


async def main() -> None:
    async with open_resources(load_settings(), Needs(pg=True, temporal=True)) as resources:
        await demo_stage(resources, print)


if __name__ == "__main__":
    asyncio.run(main())
