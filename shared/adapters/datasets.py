"""Readers for the public SNAP email networks in ../shared/data (streamed, never copied).

Each reader yields plain tuples; callers turn them into events or graph rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def data_dir_for(root: Path) -> Path:
    """Where the shared data sets are: ``CO_DATA_DIR``, else ``../shared/data`` next to the
    checkout, else two levels up (a git worktree under ``<repo's parent>/wt/``)."""
    configured = os.environ.get("CO_DATA_DIR")
    if configured:
        return Path(configured)
    for base in (root.parent, root.parent.parent):
        candidate = base / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return root.parent / "shared" / "data"


def _rows(path: Path) -> Iterator[list[str]]:
    """Whitespace-separated fields (the files mix tabs and spaces), '#' comments skipped."""
    with path.open() as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.split()
            if fields:
                yield fields


def eu_core_edges(data_dir: Path) -> Iterator[tuple[str, str]]:
    """email-Eu-core: directed (src, dst) pairs, self-loops included as published."""
    for row in _rows(data_dir / "email-Eu-core" / "email-Eu-core.txt"):
        yield row[0], row[1]


def eu_core_departments(data_dir: Path) -> dict[str, str]:
    return {row[0]: row[1] for row in _rows(data_dir / "email-Eu-core" / "email-Eu-core-department-labels.txt")}


def eu_core_temporal(data_dir: Path) -> Iterator[tuple[str, str, int]]:
    """email-Eu-core-temporal (first 150 days): (src, dst, seconds since start), one line per email."""
    for row in _rows(data_dir / "email-Eu-core" / "email-Eu-core-temporal-first150days.txt"):
        yield row[0], row[1], int(row[2])


def enron_edges(data_dir: Path) -> Iterator[tuple[str, str]]:
    """email-Enron: each undirected pair appears in both directions."""
    for row in _rows(data_dir / "email-Enron" / "email-Enron.txt"):
        yield row[0], row[1]


def eu_core(data_dir: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """email-Eu-core as (person -> team ``dept-<n>``, directed edges in file order)."""
    teams = {node: f"dept-{dept}" for node, dept in eu_core_departments(data_dir).items()}
    return teams, list(eu_core_edges(data_dir))


def enron(data_dir: Path) -> list[tuple[str, str]]:
    """email-Enron edges in file order (both directions of every undirected pair)."""
    return list(enron_edges(data_dir))


def synthetic_weight(src: str, dst: str) -> float:
    """A deterministic, uneven weight for a real tie (the SNAP static files carry none)."""
    return 1.0 + (int(src) * 7 + int(dst) * 13) % 5
