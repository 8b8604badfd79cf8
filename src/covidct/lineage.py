"""Which datasets share patients or images, and through which source (`covidct overlaps`).

Lineage entries are edges between cards. Two datasets overlap when a chain of edges links them:
directly (one is derived from, a subset of, or overlaps the other) or through a common source
(both derived from the same third dataset). A direct edge is a known overlap; a chain through
another dataset is a possible one: both took data from it, perhaps not the same items.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import combinations

from covidct.card.model import Card
from covidct.card.vocab import Relation

# How an edge reads from the other end (card B's view of "A derived-from B").
_INVERSE = {
    Relation.DERIVED_FROM: "source of",
    Relation.SUBSET_OF: "superset of",
    Relation.SUPERSET_OF: "subset of",
    Relation.OVERLAPS: "overlaps",
    Relation.SAME_SOURCE: "same source as",
    Relation.SUCCEEDED_BY: "succeeds",
}


@dataclass(frozen=True)
class Edge:
    a: str
    b: str
    relation: str  # as read from a to b
    note: str | None
    declared_by: str  # the card whose lineage says it

    def text(self) -> str:
        return f"{self.a} {self.relation} {self.b}" + (f" ({self.note_line()})" if self.note else "")

    def note_line(self) -> str:
        return " ".join((self.note or "").split())


@dataclass
class Overlap:
    a: str
    b: str
    path: list[Edge] = field(default_factory=list)

    @property
    def direct(self) -> bool:
        return len(self.path) == 1

    @property
    def through(self) -> list[str]:
        return [e.b for e in self.path[:-1]]

    @property
    def same_patients_only(self) -> bool:
        return all(e.relation in (Relation.SAME_SOURCE.value, "same source as") for e in self.path)

    def lines(self) -> list[str]:
        """Terminal rendering: a headline, then one indented line per lineage link with its note."""
        kind = "patients" if self.same_patients_only else "images"
        if self.direct:
            head = f"overlap   {self.a} ~ {self.b}: share {kind}"
        else:
            head = f"possible  {self.a} ~ {self.b}: may share {kind} through {', '.join(self.through)}"
        links = [f"  {e.a} {e.relation} {e.b}" + (f": {e.note_line()}" if e.note else "") for e in self.path]
        return [head, *links]

    def summary(self) -> str:
        if self.direct:
            kind = "share patients" if self.same_patients_only else "share images"
            return f"{self.a} and {self.b} {kind}: {self.path[0].text()}"
        via = ", ".join(self.through)
        return f"{self.a} and {self.b} may share images through {via}: " + "; ".join(e.text() for e in self.path)

    def to_dict(self) -> dict[str, object]:
        return {"a": self.a, "b": self.b, "direct": self.direct, "through": self.through,
                "path": [{"from": e.a, "relation": e.relation, "to": e.b, "note": e.note, "declared_by": e.declared_by}
                         for e in self.path],
                "summary": self.summary()}


def graph(cards: dict[str, Card]) -> dict[str, list[Edge]]:
    """Adjacency lists with each edge stored from both ends (relation read in that direction)."""
    adj: dict[str, list[Edge]] = {cid: [] for cid in cards}
    for card in cards.values():
        for lin in card.lineage:
            if lin.card not in cards:
                continue
            fwd = Edge(card.id, lin.card, lin.relation.value, lin.note, card.id)
            back = Edge(lin.card, card.id, _INVERSE[lin.relation], lin.note, card.id)
            adj[card.id].append(fwd)
            adj[lin.card].append(back)
    return adj


def shortest_chains(adj: dict[str, list[Edge]], start: str, max_hops: int,
                    follow: Callable[[Edge], bool] | None = None) -> dict[str, list[Edge]]:
    """The shortest chain of edges from ``start`` to every card within ``max_hops`` edges, in the order
    found (breadth-first; among equally short chains the one through the smaller card id, then relation).

    ``follow`` says which edges may be taken (default: every one).
    """
    chains: dict[str, list[Edge]] = {start: []}
    queue = deque([(start, 0)])
    while queue:
        node, hops = queue.popleft()
        if hops >= max_hops:
            continue
        for e in sorted(adj.get(node, []), key=lambda e: (e.b, e.relation)):
            if e.b in chains or (follow is not None and not follow(e)):
                continue
            chains[e.b] = [*chains[node], e]
            queue.append((e.b, hops + 1))
    del chains[start]
    return chains


def overlaps(cards: dict[str, Card], ids: list[str], max_hops: int = 3) -> list[Overlap]:
    """Every pair among ``ids`` linked by lineage within ``max_hops`` edges, shortest chain first."""
    adj = graph(cards)
    found = []
    for a, b in combinations(dict.fromkeys(ids), 2):
        path = shortest_chains(adj, a, max_hops).get(b)
        if path:
            found.append(Overlap(a, b, path))
    found.sort(key=lambda o: (len(o.path), o.a, o.b))
    return found
