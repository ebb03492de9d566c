"""Causal graphs as analysts send them (DOT or GML): read into a networkx DAG, and the backdoor
adjustment set the graph implies (the treatment's parents without instruments).

Why a module of its own: the readers are defensive code (linear-time, capped input: a crafted
graph once stalled the API) that the spec only needs through :func:`graph_adjustment_set`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import networkx as nx

MAX_GRAPH_CHARS = 20_000  # DOT/GML text cap (parsed off the event loop)
MAX_GRAPH_NODES = 200


def parse_graph(text: str) -> set[tuple[str, str]]:
    """Directed edges of a DOT or GML graph: networkx's GML reader, a linear DOT scanner (see
    :func:`_read_dot_edges`), then a networkx DiGraph checked to be a DAG.

    Why not regular expressions: a crafted GML text made the former pattern backtrack for 7 s on
    95 KB, on the event loop. Input is capped at ``MAX_GRAPH_CHARS`` and ``MAX_GRAPH_NODES``, and
    the API validates a spec in a worker thread.
    """
    return {(str(a), str(b)) for a, b in _parse_digraph(text).edges()}


def _parse_digraph(text: str) -> nx.DiGraph:
    import networkx as nx

    body = text.strip()
    if len(body) > MAX_GRAPH_CHARS:
        raise ValueError(f"the causal graph is longer than {MAX_GRAPH_CHARS} characters")
    if body[:5].lower() == "graph" and body[5:].lstrip().startswith("["):
        try:
            parsed = nx.parse_gml(body, label="label")
        except (nx.NetworkXError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"cannot read the GML graph: {exc}") from exc
        if not parsed.is_directed():
            raise ValueError("the GML graph must be directed (directed 1)")
        graph = nx.DiGraph(parsed)
    else:
        graph = nx.DiGraph(_read_dot_edges(body))
    graph = nx.relabel_nodes(graph, {n: str(n).strip().strip('"') for n in graph.nodes})
    graph.remove_nodes_from([n for n in list(graph.nodes) if n in ("node", "edge", "graph", "\\n", "")])
    if graph.number_of_nodes() > MAX_GRAPH_NODES:
        raise ValueError(f"the causal graph has more than {MAX_GRAPH_NODES} nodes")
    if graph.number_of_edges() == 0:
        raise ValueError("the causal graph has no directed edge")
    if not nx.is_directed_acyclic_graph(graph):
        cycle = " -> ".join(str(a) for a, _ in nx.find_cycle(graph))
        raise ValueError(f"the causal graph has a cycle ({cycle}): it must be a DAG")
    return graph


def _read_dot_edges(text: str) -> list[tuple[str, str]]:
    """The edges of a DOT ``digraph``, read by a single left-to-right scan (linear time).

    Why not pydot: its pyparsing grammar took 15 s on a valid 16 KB digraph on this machine
    (measured, load 15) and holds the GIL throughout, so even in a worker thread it stalls the
    API. Supported: ``[strict] digraph [name] { ... }`` with node and edge statements (chains
    ``a -> b -> c``), attribute lists ``[...]``, ``graph/node/edge [...]`` defaults, quoted ids
    and comments. Subgraphs and undirected edges are refused.
    """
    tokens = _dot_tokens(text)
    i = 0
    while i < len(tokens) and tokens[i].lower() == "strict":
        i += 1
    if i >= len(tokens) or tokens[i].lower() != "digraph":
        raise ValueError("the DOT graph must be a digraph (edges a -> b)")
    i += 1
    if i < len(tokens) and tokens[i] != "{":
        i += 1  # the graph's name
    if i >= len(tokens) or tokens[i] != "{" or tokens[-1] != "}":
        raise ValueError("cannot read the DOT graph: expected '{ ... }'")
    edges: list[tuple[str, str]] = []
    chain: list[str] = []
    depth = 0
    for tok in tokens[i + 1 : -1]:
        if depth:  # inside an attribute list
            depth += tok == "["
            depth -= tok == "]"
            continue
        if tok == "[":
            depth = 1
        elif tok in (";", ","):
            chain = []
        elif tok == "->":
            if not chain or chain[-1] == "->":
                raise ValueError("cannot read the DOT graph: '->' without a node before it")
            chain.append(tok)
        elif tok in ("{", "}", "--", "="):
            raise ValueError(f"cannot read the DOT graph: unexpected {tok!r} (subgraphs and '--' are not supported)")
        else:
            if chain and chain[-1] == "->":
                edges.append((chain[-2], tok))
                chain.append(tok)
            else:
                chain = [tok]
    if depth or (chain and chain[-1] == "->"):
        raise ValueError("cannot read the DOT graph: unfinished statement")
    return [(a, b) for a, b in edges if a.lower() not in ("graph", "node", "edge")]


def _dot_tokens(text: str) -> list[str]:
    """DOT tokens: ids, quoted strings (unquoted), '->', '--' and punctuation; comments dropped."""
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i) or c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise ValueError("cannot read the DOT graph: unclosed comment")
            i = end + 2
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise ValueError("cannot read the DOT graph: unclosed quote")
            tokens.append(text[i + 1 : j])
            i = j + 1
        elif text.startswith("->", i) or text.startswith("--", i):
            tokens.append(text[i : i + 2])
            i += 2
        elif c in "{}[];,=":
            tokens.append(c)
            i += 1
        elif c.isalnum() or c in "_.":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_."):
                j += 1
            tokens.append(text[i:j])
            i = j
        else:
            raise ValueError(f"cannot read the DOT graph: unexpected character {c!r}")
    return tokens


def graph_adjustment_set(text: str, treatment: str, outcome: str) -> list[str]:
    """A backdoor set from the graph: the treatment's parents, without instruments.

    The parents of the treatment block every backdoor path. A parent that is d-separated from
    the outcome once the treatment is removed from the graph reaches the outcome only through
    the treatment: an instrument. Adjusting for it removes no bias, costs variance
    and amplifies any unobserved confounding, so it is left out; the remaining set is checked to
    still block every backdoor path (networkx's d-separation), else all parents are kept.
    """
    import networkx as nx

    graph = _parse_digraph(text)
    for needed in (treatment, outcome):
        if needed not in graph:
            raise ValueError(f"the graph has no node {needed!r}")
    if not nx.has_path(graph, treatment, outcome):
        raise ValueError("the graph has no directed path from the treatment to the outcome")
    if nx.has_path(graph, outcome, treatment):
        raise ValueError("the outcome causes the treatment in the graph")
    cut = graph.copy()
    cut.remove_edges_from(list(graph.out_edges(treatment)))
    parents = sorted(str(p) for p in graph.predecessors(treatment))
    without_treatment = graph.subgraph([n for n in graph.nodes if n != treatment])
    keep = [p for p in parents if not nx.is_d_separator(without_treatment, {p}, {outcome}, set())]
    if not nx.is_d_separator(cut, {treatment}, {outcome}, set(keep)):
        keep = parents
    return keep
