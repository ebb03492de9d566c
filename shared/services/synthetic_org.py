"""Load a generated organisation (shared/domain/synthetic_org.py) into the real stores (the demo's
causal stage, ops/causal_demo.py, runs one analysis on it through the real pipeline).

Metrics go through the metrics area's own writer (MetricsStore.write_history: daily partitions
and the hourly rollup), outcomes and attributes through the causal store; every id is
pseudonymised exactly like ingested events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from datetime import time as dtime
from typing import Any

from shared.adapters.postgres.causal_store import CausalStore
from shared.adapters.postgres.metrics_store import MetricsStore
from shared.domain.metrics import HISTORY_COLUMNS, INTEGER_METRICS
from shared.domain.privacy import pseudonymise
from shared.domain.synthetic_org import OUTCOME_METRIC, SyntheticOrg
from shared.platform.resources import Resources

SOURCE = "synthetic"


async def load_org(resources: Resources, org: SyntheticOrg, chunk: int = 50_000) -> dict[str, int]:
    """Write the org's weekly metrics, wellbeing outcomes and attributes; returns row counts."""
    import numpy as np

    key = resources.settings.privacy.pseudonymisation_key
    pseudo = {raw: pseudonymise(raw, key) for raw in org.people}
    cols = org.columns
    employees = [pseudo[e] for e in cols["employee"].tolist()]
    periods = cols["period"].tolist()
    metrics = MetricsStore(resources.pg)
    written = 0
    per_week: dict[Any, list[int]] = {}
    for i, p in enumerate(periods):
        per_week.setdefault(p, []).append(i)
    values = {c: cols[c].tolist() for c in HISTORY_COLUMNS[2:]}
    for week, idx in per_week.items():
        at = datetime.combine(week, dtime(12, 0), tzinfo=UTC)
        records = [
            (
                at,
                employees[i],
                *(int(values[c][i]) if c in INTEGER_METRICS else values[c][i] for c in HISTORY_COLUMNS[2:]),
            )
            for i in idx
        ]
        written += await metrics.write_history(at, records)
    store = CausalStore(resources.pg)
    outcome_values = np.asarray(cols[OUTCOME_METRIC], dtype=float).tolist()
    outcomes = 0
    for start in range(0, len(employees), chunk):
        rows = [
            (employees[i], periods[i], OUTCOME_METRIC, outcome_values[i], SOURCE)
            for i in range(start, min(start + chunk, len(employees)))
        ]
        outcomes += await store.upsert_outcomes(rows)
    attrs = await store.upsert_attributes(
        [(pseudo[p], t, r, None) for p, t, r in zip(org.people, org.tenure_years, org.roles, strict=True)]
    )
    return {"metric_rows": written, "outcome_rows": outcomes, "people": attrs}
