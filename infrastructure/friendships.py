"""Friendships in FalkorDB: the repository with the reads that answer who knows whom.

A friendship is a node of its own (``Friendship {id, person_id, friend_id,
since}``, ``person_id`` the smaller id), so the unit of work writes it like
any entity and its key makes a second befriending of the same pair fail.
The custom reads below join friendships on the person ids; each is written
once as a conversation and run by the sync and the async repository.
"""

from __future__ import annotations

import builtins
from uuid import UUID

from domain.friendship import Friendship, FriendSuggestion

from .persistence import AsyncRepository, Repository
from .persistence.aio import drive_async
from .persistence.reads import Read
from .persistence.repository import Conversation, RepositoryBase, drive

_FRIENDS = (
    "MATCH (f:{label}) WHERE f.person_id = $me RETURN f.friend_id AS friend "
    "UNION MATCH (f:{label}) WHERE f.friend_id = $me RETURN f.person_id AS friend"
)

# Friends of my friends who are neither me nor my friends, by how many
# friends we share, then by id text (the same order as ``suggest_friends``).
_SUGGESTIONS = (
    "MATCH (a:{label}) WHERE a.person_id = $me OR a.friend_id = $me "
    "WITH collect(CASE WHEN a.person_id = $me THEN a.friend_id ELSE a.person_id END) AS friends "
    "UNWIND friends AS friend "
    "MATCH (b:{label}) WHERE b.person_id = friend OR b.friend_id = friend "
    "WITH friends, friend, "
    "CASE WHEN b.person_id = friend THEN b.friend_id ELSE b.person_id END AS candidate "
    "WHERE candidate <> $me AND NOT candidate IN friends "
    "RETURN candidate, count(DISTINCT friend) AS mutual "
    "ORDER BY mutual DESC, candidate ASC LIMIT $limit"
)


class FriendshipReads(RepositoryBase[Friendship]):
    """The friendship reads, free of I/O (stored friendships only, as ``find_by``)."""

    def _friends_of(self, person_id: UUID) -> Conversation[builtins.list[UUID]]:
        self._state.check_open()
        query = _FRIENDS.format(label=self.mapping.label)
        rows = yield Read(query, {"me": self.mapping.codec_of("person_id").encode(person_id)})
        return sorted((UUID(r[0]) for r in rows), key=str)

    def _suggestions(
        self, person_id: UUID, limit: int
    ) -> Conversation[builtins.list[FriendSuggestion]]:
        self._state.check_open()
        if type(limit) is not int or limit < 0:
            raise ValueError(f"limit must be a non-negative int, got {limit!r}")
        me = self.mapping.codec_of("person_id").encode(person_id)
        query = _SUGGESTIONS.format(label=self.mapping.label)
        rows = yield Read(query, {"me": me, "limit": limit})
        return [FriendSuggestion(UUID(candidate), int(mutual)) for candidate, mutual in rows]


class FriendshipRepository(FriendshipReads, Repository[Friendship]):
    """Friendships of a ``BankUnitOfWork``."""

    def friends_of(self, person_id: UUID) -> builtins.list[UUID]:
        """Ids of ``person_id``'s friends, ordered by id text."""
        return drive(self._friends_of(person_id), self._unit.read)

    def suggestions(self, person_id: UUID, limit: int = 10) -> builtins.list[FriendSuggestion]:
        """Friends of friends who are not friends yet, most mutual friends first."""
        return drive(self._suggestions(person_id, limit), self._unit.read)


class AsyncFriendshipRepository(FriendshipReads, AsyncRepository[Friendship]):
    """Friendships of an ``AsyncBankUnitOfWork``."""

    async def friends_of(self, person_id: UUID) -> builtins.list[UUID]:
        return await drive_async(self._friends_of(person_id), self._unit.read)

    async def suggestions(
        self, person_id: UUID, limit: int = 10
    ) -> builtins.list[FriendSuggestion]:
        return await drive_async(self._suggestions(person_id, limit), self._unit.read)
