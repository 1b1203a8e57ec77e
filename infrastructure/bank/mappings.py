"""How the example domain is stored: its mappings, in one registry.

The domain is stored as a graph::

    (:Person)-[:FRIEND {since}]-(:Person)
    (:Account)-[:SENT]->(:Transfer)-[:TO]->(:Account)

``Person.friendships`` holds one ``Friendship`` per FRIEND edge, whichever
way the edge points; a transfer holds its ``source`` and ``target`` accounts.
"""

from __future__ import annotations

from domain.model import Account, Friendship, Person, Transfer
from infrastructure.persistence import Registry, to_many, to_one


def bank_registry(*, unique_emails: bool = False) -> Registry:
    """The mappings of the example domain (a new registry each call).

    ``unique_emails`` adds a unique constraint on ``Person.email`` (the web
    application's registry has it; the layer's own tests register people
    freely).
    """
    registry = Registry()
    # The index on ``since`` serves "friends since" queries; ``ensure_schema`` creating it
    # also puts the FRIEND type in the graph before the first read (FalkorDB 4.16 plans a
    # pattern comprehension on a type it does not know yet so that, cached, it keeps
    # reading that type's edge properties as null).
    friendships = to_many(
        Person,
        "FRIEND",
        direction="both",
        via=Friendship,
        target_field="friend",
        indexes=["since"],
    )
    registry.map(
        Person,
        key="id",
        version="version",
        unique=["email"] if unique_emails else [],
        exclude=["events"],
        relationships={"friendships": friendships},
    )
    registry.map(Account, key="id", version="version", exclude=["events"])
    registry.map(
        Transfer,
        key="id",
        exclude=["events"],
        relationships={
            "source": to_one(Account, "SENT", direction="in"),
            "target": to_one(Account, "TO"),
        },
    )
    return registry
