"""The friendship reads: the fake answers exactly as the Cypher queries do."""

from __future__ import annotations

import pytest

from domain.friendship import Friendship, FriendSuggestion
from domain.model import Person
from infrastructure.persistence import DuplicateKeyError


def people(*names):
    return {n: Person.register(n, f"{n.lower()}@example.com") for n in names}


async def befriend(be, *pairs):
    async with be.unit() as uow:
        for a, b in pairs:
            uow.friendships.add(Friendship.between(a, b))


async def test_friends_and_suggestions_from_friends_of_friends(be):
    p = people("Ann", "Ben", "Cat", "Dan", "Eve", "Fay")
    await befriend(
        be,
        (p["Ann"], p["Ben"]),
        (p["Cat"], p["Ann"]),
        (p["Ben"], p["Dan"]),
        (p["Cat"], p["Dan"]),
        (p["Ben"], p["Eve"]),
        (p["Eve"], p["Fay"]),
    )
    async with be.unit() as uow:
        friends = await be.io(uow.friendships.friends_of(p["Ann"].id))
        suggested = await be.io(uow.friendships.suggestions(p["Ann"].id))
        first = await be.io(uow.friendships.suggestions(p["Ann"].id, limit=1))
        lonely = await be.io(uow.friendships.suggestions(p["Fay"].id, limit=5))
    assert friends == sorted([p["Ben"].id, p["Cat"].id], key=str)
    # Dan is a friend of both of Ann's friends, Eve of one; Fay is two steps further.
    assert suggested == [FriendSuggestion(p["Dan"].id, 2), FriendSuggestion(p["Eve"].id, 1)]
    assert first == suggested[:1]
    assert lonely == [FriendSuggestion(p["Ben"].id, 1)]


async def test_equal_mutual_counts_are_ordered_by_id_text(be):
    p = people("Hub", "Me", "X", "Y", "Z")
    await befriend(
        be, (p["Me"], p["Hub"]), (p["Hub"], p["X"]), (p["Hub"], p["Y"]), (p["Z"], p["Hub"])
    )
    async with be.unit() as uow:
        suggested = await be.io(uow.friendships.suggestions(p["Me"].id))
    expected = sorted((p[n].id for n in "XYZ"), key=str)
    assert [s.person_id for s in suggested] == expected
    assert {s.mutual_friends for s in suggested} == {1}


async def test_reads_see_stored_friendships_only(be):
    p = people("Ann", "Ben")
    async with be.unit() as uow:
        uow.friendships.add(Friendship.between(p["Ann"], p["Ben"]))
        assert await be.io(uow.friendships.friends_of(p["Ann"].id)) == []
    async with be.unit() as uow:
        assert await be.io(uow.friendships.friends_of(p["Ben"].id)) == [p["Ann"].id]
        assert await be.io(uow.friendships.suggestions(p["Ann"].id)) == []
        with pytest.raises(ValueError, match="limit"):
            await be.io(uow.friendships.suggestions(p["Ann"].id, limit=-1))


async def test_a_pair_has_one_key_whoever_asked_first(be):
    p = people("Ann", "Ben")
    await befriend(be, (p["Ann"], p["Ben"]))
    with pytest.raises(DuplicateKeyError, match="Friendship"):
        await befriend(be, (p["Ben"], p["Ann"]))
    async with be.unit() as uow:
        assert await be.io(uow.friendships.count()) == 1
