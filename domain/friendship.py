"""Friendships between people, and the friends-of-friends suggestion rule.

A friendship is an entity of its own whose key joins the two person ids in
order, so a pair of people has exactly one key whoever asked first; a unique
key then makes a second, concurrent ``befriend`` of the same pair fail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from .errors import InvalidFriendship
from .events import DomainEvent, FriendshipStarted
from .model import Person


@dataclass
class Friendship:
    """Two people who are friends; ``person_id`` holds the smaller id."""

    id: str
    person_id: UUID
    friend_id: UUID
    since: datetime
    events: list[DomainEvent] = field(default_factory=list, repr=False, compare=False)

    @staticmethod
    def key_for(a: UUID, b: UUID) -> str:
        """The key of the friendship between ``a`` and ``b`` (the same both ways)."""
        low, high = sorted((a, b))
        return f"{low}:{high}"

    @classmethod
    def between(cls, person: Person, friend: Person) -> Friendship:
        """Make ``person`` and ``friend`` friends, recording ``FriendshipStarted``.

        Raises:
            InvalidFriendship: both are the same person.
        """
        if person.id == friend.id:
            raise InvalidFriendship(f"person {person.id} cannot befriend themselves")
        low, high = sorted((person.id, friend.id))
        friendship = cls(cls.key_for(low, high), low, high, datetime.now(UTC))
        friendship.events.append(FriendshipStarted(person.id, friend.id))
        return friendship

    def other(self, person_id: UUID) -> UUID:
        """The friend of ``person_id`` in this friendship."""
        if person_id == self.person_id:
            return self.friend_id
        if person_id == self.friend_id:
            return self.person_id
        raise ValueError(f"{person_id} is not part of friendship {self.id}")


@dataclass(frozen=True)
class FriendSuggestion:
    """Someone a person may know: a friend of ``mutual_friends`` of their friends."""

    person_id: UUID
    mutual_friends: int


def suggest_friends(
    person_id: UUID, pairs: Iterable[tuple[UUID, UUID]], limit: int = 10
) -> list[FriendSuggestion]:
    """Friends of friends of ``person_id`` who are not yet friends with them.

    ``pairs`` are the friendships as (person, friend) id pairs, each once in
    either direction. The most mutual friends come first; ties are broken by
    the id's text, so the order is fully determined.
    """
    neighbours: dict[UUID, set[UUID]] = {}
    for a, b in pairs:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    friends = neighbours.get(person_id, set())
    mutual: Counter[UUID] = Counter()
    for friend in friends:
        for candidate in neighbours[friend]:
            if candidate != person_id and candidate not in friends:
                mutual[candidate] += 1
    ranked = sorted(mutual.items(), key=lambda item: (-item[1], str(item[0])))
    return [FriendSuggestion(pid, count) for pid, count in ranked[:limit]]
