"""Readers for the SNAP edge-list files in ../shared/data (tests, benchmarks, demo).

Ids are kept as the files' integers rendered as strings; a department label becomes the team
``dept-<n>``.
"""

from __future__ import annotations

from pathlib import Path


def read_edges(path: Path) -> list[tuple[str, str]]:
    """Directed ``src dst`` pairs, in file order; ``#`` lines skipped, duplicates kept."""
    edges: list[tuple[str, str]] = []
    with path.open() as handle:
        for line in handle:
            if not line.strip() or line.startswith("#"):
                continue
            a, b = line.split()[:2]
            edges.append((a, b))
    return edges


def read_departments(path: Path) -> dict[str, str]:
    teams: dict[str, str] = {}
    with path.open() as handle:
        for line in handle:
            if line.strip():
                node, dept = line.split()[:2]
                teams[node] = f"dept-{dept}"
    return teams


def eu_core(data_dir: Path) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """email-Eu-core: (person -> team, directed edges)."""
    base = data_dir / "email-Eu-core"
    return read_departments(base / "email-Eu-core-department-labels.txt"), read_edges(base / "email-Eu-core.txt")


def enron(data_dir: Path) -> list[tuple[str, str]]:
    """email-Enron: each undirected pair appears in both directions."""
    return read_edges(data_dir / "email-Enron" / "email-Enron.txt")


def synthetic_weight(src: str, dst: str) -> float:
    """A deterministic, uneven weight for a real tie (the SNAP files carry none)."""
    return 1.0 + (int(src) * 7 + int(dst) * 13) % 5
