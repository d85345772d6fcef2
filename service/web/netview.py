"""The ego network of one party, laid out and drawn as SVG on the server (no JS library).

Layout: concentric rings — the centre, its partners (distance 1), their partners (distance 2) —
with nodes on a ring ordered by type and by the parent they hang from, so the picture is stable
from one request to the next and readable without a force simulation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from xml.sax.saxutils import escape

import networkx as nx

from models.vocab import PARTY_TYPES

Node = tuple[str, int]

COLOURS = {
    "school": "#2f6fde",
    "programme": "#7aa5f0",
    "enterprise": "#e07b28",
    "park": "#2e9e6b",
    "bureau": "#8a55c9",
    "mentor": "#c9457a",
    "practice_base": "#b5982a",
}
TYPE_ORDER = PARTY_TYPES
MAX_NODES = 90  # beyond this the outer ring is cut (and the page says so)


@dataclass
class Drawing:
    svg: str
    nodes: int
    edges: int
    truncated: int  # nodes left out of the outer ring


def ego(graph: nx.Graph, centre: Node, radius: int) -> tuple[nx.Graph, dict[Node, int], int]:
    """The subgraph within `radius` hops, each node's distance, and how many were cut."""
    if centre not in graph:
        g = nx.Graph()
        g.add_node(centre)
        return g, {centre: 0}, 0
    dist: dict[Node, int] = nx.single_source_shortest_path_length(graph, centre, cutoff=radius)
    keep = sorted(
        dist, key=lambda n: (dist[n], TYPE_ORDER.index(n[0]) if n[0] in TYPE_ORDER else 99, n[1])
    )
    cut = max(0, len(keep) - MAX_NODES)
    keep = keep[:MAX_NODES]
    sub = graph.subgraph(keep).copy()
    return sub, {n: dist[n] for n in keep}, cut


def layout(
    sub: nx.Graph, dist: dict[Node, int], centre: Node, size: float
) -> dict[Node, tuple[float, float]]:
    rings: dict[int, list[Node]] = {}
    for n, d in dist.items():
        rings.setdefault(d, []).append(n)
    pos: dict[Node, tuple[float, float]] = {centre: (size / 2, size / 2)}
    angle_of: dict[Node, float] = {centre: 0.0}
    max_ring = max(rings) if rings else 0
    for d in sorted(k for k in rings if k > 0):

        def parent_angle(n: Node, d: int = d) -> float:
            parents = [
                angle_of[m] for m in sub.neighbors(n) if dist.get(m) == d - 1 and m in angle_of
            ]
            return min(parents) if parents else 0.0

        members = sorted(
            rings[d],
            key=lambda n: (
                parent_angle(n),
                TYPE_ORDER.index(n[0]) if n[0] in TYPE_ORDER else 99,
                n[1],
            ),
        )
        r = (size / 2 - 70) * d / max_ring
        for i, n in enumerate(members):
            a = 2 * math.pi * i / len(members) - math.pi / 2
            angle_of[n] = a + math.pi / 2
            pos[n] = (size / 2 + r * math.cos(a), size / 2 + r * math.sin(a))
    return pos


def _short(name: str, limit: int = 12) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def draw(
    graph: nx.Graph, centre: Node, radius: int, names: dict[Node, str], size: int = 760
) -> Drawing:
    sub, dist, cut = ego(graph, centre, radius)
    pos = layout(sub, dist, centre, size)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'class="netsvg" role="img" aria-label="合作网络图">'
    ]
    out.append('<g class="edges" stroke="#9aa7b8" stroke-width="1.2">')
    for u, v in sub.edges():
        (x1, y1), (x2, y2) = pos[u], pos[v]
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"/>')
    out.append("</g>")
    for n in sorted(sub.nodes(), key=lambda n: -dist[n]):
        x, y = pos[n]
        colour = COLOURS.get(n[0], "#777")
        r = 16 if n == centre else (10 if dist[n] == 1 else 7)
        name = names.get(n, f"{n[0]} {n[1]}")
        href = f"/network?type={n[0]}&amp;id={n[1]}"
        label = escape(_short(name, 16 if n == centre else 11))
        weight = ' font-weight="700"' if n == centre else ""
        out.append(
            f'<a href="{href}" class="node" data-type="{n[0]}" data-id="{n[1]}">'
            f"<title>{escape(name)}</title>"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}" stroke="#fff" '
            f'stroke-width="2"/>'
            f'<text x="{x:.1f}" y="{y + r + 13:.1f}" text-anchor="middle" font-size="12"'
            f'{weight} fill="#1f2a37">{label}</text></a>'
        )
    out.append("</svg>")
    return Drawing("".join(out), sub.number_of_nodes(), sub.number_of_edges(), cut)
