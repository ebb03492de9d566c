"""DoWhy's identification step for the pandas engine: the analyst's causal graph, when the spec
has one, is what DoWhy identifies on (``CausalModel(graph=...)``), so the backdoor set DoWhy
estimates with comes from the graph rather than from a list handed to it.

The graph's variables are mapped onto the design's columns: the treatment and outcome onto
DoWhy's two columns, an adjusted categorical onto each of its 0/1 columns (every dummy inherits
the variable's edges); the graph's other nodes (instruments the spec leaves out, mediators,
unmeasured causes) stay in the graph with no data, which DoWhy reads as unobserved and never
adjusts for. DoWhy then identifies with ``maximal-adjustment`` (its default search is
exponential in the number of columns: 13 s for 86 dummies): the observed nodes that block every
backdoor path. Without a graph, the confounders are DoWhy's common causes, as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.adapters.causal.design import T_COL, Y_COL
from shared.domain.analysis import AnalysisSpec, SpecProblem
from shared.domain.causal_graph import parse_graph

if TYPE_CHECKING:
    import networkx as nx
    import pandas as pd


def design_graph(spec: AnalysisSpec, covariates: list[str]) -> nx.DiGraph:
    """The spec's graph over the design's column names (dummies expanded, unadjusted nodes kept)."""
    import networkx as nx

    assert spec.graph is not None
    columns = {spec.treatment: [T_COL], spec.outcome: [Y_COL]}
    for variable in spec.adjustment_set():
        columns[variable] = [c for c in covariates if c == variable or c.startswith(variable + "=")]
    graph = nx.DiGraph()
    for a, b in parse_graph(spec.graph):
        graph.add_nodes_from([*columns.get(a, [a]), *columns.get(b, [b])])
        graph.add_edges_from((x, y) for x in columns.get(a, [a]) for y in columns.get(b, [b]))
    return graph


def identify(data: pd.DataFrame, spec: AnalysisSpec, covariates: list[str]) -> tuple[Any, Any]:
    """DoWhy's model and identified estimand; with a graph, DoWhy's backdoor set must be exactly
    the design's covariates (else the graph and the adjustment rule disagree: a SpecProblem)."""
    from dowhy import CausalModel

    if spec.graph is None:
        model = CausalModel(data=data, treatment=T_COL, outcome=Y_COL, common_causes=covariates or None)
    else:
        model = CausalModel(data=data, treatment=T_COL, outcome=Y_COL, graph=design_graph(spec, covariates))
    identified = model.identify_effect(method_name="maximal-adjustment", proceed_when_unidentifiable=True)
    if spec.graph is not None:
        found = sorted(identified.get_backdoor_variables() or [])
        if found != sorted(covariates):
            raise SpecProblem(
                "graph", f"DoWhy's backdoor set in the graph ({', '.join(found) or 'none'}) is not the adjustment set"
            )
    return model, identified
