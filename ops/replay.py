"""`task replay -- FILE [--rate N]`: stream a SNAP file through the real ingest endpoint."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from shared.platform.settings import load_settings
from shared.platform.tokens import mint_token
from shared.services.replay import file_events, replay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--rate", type=float, default=None, help="events per second (default: as fast as possible)")
    parser.add_argument("--url", default=None, help="ingest endpoint (default: CO_API_BASE_URL + /v1/events)")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--span-days", type=float, default=80.0)
    args = parser.parse_args()
    settings = load_settings()
    token = mint_token(settings, subject="replay", roles=["service"])
    url = args.url or settings.http.api_base_url.rstrip("/") + "/v1/events"
    report = asyncio.run(
        replay(
            file_events(args.file, span_days=args.span_days),
            url=url,
            token=token,
            rate=args.rate,
            batch_size=args.batch,
        )
    )
    print(json.dumps(report.as_dict()))


if __name__ == "__main__":
    main()
