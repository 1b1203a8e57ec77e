"""The change set of a unit: what a commit must create, update and delete.

``collect_changes`` compares every tracked entity with its snapshot (no
manual dirty marking) and produces a ``ChangeSet``; the planner turns that
into one query. Both are free of I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .codec import same_stored, zero_signs_differ
from .errors import MappingError
from .identity import IdentityMap, InstanceState, Status
from .mapping import EntityMapping, RelationshipMapping
from .relationships import Edges, is_loaded


@dataclass(frozen=True, slots=True)
class Create:
    state: InstanceState
    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Update:
    state: InstanceState
    values: tuple[Any, ...]
    changed: dict[str, Any]  # property -> new encoded value (None removes it)


@dataclass(frozen=True, slots=True)
class Delete:
    state: InstanceState


@dataclass(frozen=True, slots=True)
class EdgeWrite:
    """One edge to create, update (changed properties only) or delete."""

    rel: RelationshipMapping
    source: Any  # encoded key of the entity holding the relationship
    target: Any  # encoded key of the target
    props: dict[str, Any]
    fresh: bool = False  # the holder is created by the same commit


@dataclass(frozen=True, slots=True)
class DeleteRule:
    """A deleted entity's relationship whose stored edges must number ``expected``."""

    rel: RelationshipMapping
    source: Any
    expected: int  # restrict: the edges this commit removes itself; cascade: all loaded
    removed: tuple[Any, ...] = ()  # restrict: encoded keys of the targets it removes


@dataclass(slots=True)
class ChangeSet:
    creates: list[Create] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    deletes: list[Delete] = field(default_factory=list)
    links: list[EdgeWrite] = field(default_factory=list)
    relinks: list[EdgeWrite] = field(default_factory=list)
    unlinks: list[EdgeWrite] = field(default_factory=list)
    rules: list[DeleteRule] = field(default_factory=list)
    # (state, relationship name, edges as stored once this change set is written)
    edges_after: list[tuple[InstanceState, str, Edges]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(
            self.creates
            or self.updates
            or self.deletes
            or self.links
            or self.relinks
            or self.unlinks
        )

    def __len__(self) -> int:
        return (
            len(self.creates)
            + len(self.updates)
            + len(self.deletes)
            + len(self.links)
            + len(self.relinks)
            + len(self.unlinks)
        )


def diff(mapping: EntityMapping[Any], old: tuple[Any, ...], new: tuple[Any, ...]) -> dict[str, Any]:
    """The properties whose encoded value differs, with their new values."""
    props = mapping.properties
    return {
        props[i]: b
        for i, (a, b) in enumerate(zip(old, new, strict=True))
        if a != b or ((type(a) is float or type(a) is list) and zero_signs_differ(a, b))
    }


def collect_changes(states: IdentityMap) -> ChangeSet:
    """Compare every tracked entity with its snapshot.

    Raises:
        ValueEncodingError: a value cannot be stored (names entity and field).
        MappingError: a tracked entity's key was changed.
    """
    changes = ChangeSet()
    deleted, new, persistent = Status.DELETED, Status.NEW, Status.PERSISTENT
    for state in states:
        status = state.status
        if status is persistent and state.fields is not None:
            # The common case, checked first and cheaply: a loaded entity that
            # holds no loaded relationship and whose fields are as loaded.
            mapping = state.mapping
            rels = mapping.relationships
            if (not rels or state.entity.__dict__.keys().isdisjoint(rels)) and mapping.unchanged(
                state.entity, state.fields
            ):
                continue
        if status is deleted:
            changes.deletes.append(Delete(state))
            _delete_rules(state, changes, states)
            continue
        mapping = state.mapping
        # A relationship never loaded nor assigned is not in the entity's dict; a new
        # entity's empty ones (and None) have no edge to write.
        rels = mapping.relationships
        linked = False
        if rels:
            held = state.entity.__dict__
            if status is not new:
                linked = not held.keys().isdisjoint(rels) and _edge_changes(state, changes, states)
            else:
                for name in rels:
                    if held.get(name):
                        linked = _edge_changes(state, changes, states)
                        break
        if status is new:
            values = mapping.encode_tracked(state.entity, state.key, state.stored_key)
            if values[mapping.key_index] != state.stored_key:
                raise _key_changed(mapping, state)
            changes.creates.append(Create(state, values))
            continue
        snapshot = state.snapshot
        assert snapshot is not None
        if state.fields is not None and mapping.unchanged(state.entity, state.fields):
            values = snapshot  # nothing was reassigned or mutated: no need to encode
        else:
            values = mapping.encode_tracked(state.entity, state.key, state.stored_key)
            if same_stored(values, snapshot):  # changed and back: check cheaply next time
                state.hold_snapshot()
                state.fields = mapping.snapshot_of(state.entity)
        if same_stored(values, snapshot):
            if linked and mapping.version_property:
                # Its relationships changed: the aggregate did, so its version moves
                # (and a concurrent change to it is refused, as for properties).
                changes.updates.append(Update(state, values, {}))
            continue
        if values[mapping.key_index] != snapshot[mapping.key_index]:
            raise _key_changed(mapping, state)
        changes.updates.append(Update(state, values, diff(mapping, snapshot, values)))
    return changes


def _key_changed(mapping: EntityMapping[Any], state: InstanceState) -> MappingError:
    """A tracked entity's key was changed: refused alike for loaded and for new entities.

    The identity map files an entity under the key it was added or loaded
    with; a new key would split its identity (``get`` of either key
    answering a different object for one node).
    """
    return MappingError(
        f"{mapping.name}[{state.key!r}]: the key field {mapping.key_field!r} was changed "
        f"to {mapping.key_of(state.entity)!r}; keys cannot change once an entity is tracked: "
        "add a new entity and delete the old one instead"
    )


def _delete_rules(state: InstanceState, changes: ChangeSet, identity: IdentityMap) -> None:
    for name, rel in state.mapping.relationships.items():
        if rel.on_delete == "detach":
            continue
        source = state.stored_key
        loaded = state.edges.get(name, {}) if state.edges else {}
        if rel.on_delete == "cascade":
            changes.rules.append(DeleteRule(rel, source, len(loaded)))
            continue
        # restrict: the stored edges must be exactly those this commit removes
        # itself (targets it deletes, or took out of the relationship); any other
        # still attached refuses the delete.
        kept = (
            {id(item) for item in rel.items(state.entity)}
            if is_loaded(state.entity, name)
            else set()
        )
        removed = []
        for key, (item, _) in loaded.items():
            target = identity.state_of(rel.target_of(item))
            gone = target is not None and target.status is Status.DELETED
            if gone or id(item) not in kept:
                removed.append(key)
        if not rel.self_loops:
            changes.rules.append(DeleteRule(rel, source, len(removed), tuple(removed)))
            continue
        # An edge from the entity to itself goes with it: it never restricts, and
        # the commit's count leaves it out (loaded or not).
        others = [k for k in removed if k != source]
        changes.rules.append(DeleteRule(rel, source, len(others), (*others, source)))


_NO_PROPS: dict[str, Any] = {}  # shared by edges without properties: never changed


def _edge_changes(state: InstanceState, changes: ChangeSet, identity: IdentityMap) -> bool:
    """Add the edge writes of ``state``'s loaded relationships; True if there are any."""
    entity = state.entity
    source = state.stored_key
    fresh = state.status is Status.NEW
    changed_any = False
    by_object = identity.by_object

    def stored_key_of(target: Any) -> Any:
        tracked = by_object.get(id(target))
        return None if tracked is None else tracked.stored_key

    for name, rel in state.mapping.relationships.items():
        if not is_loaded(entity, name):
            continue  # never touched: unchanged by definition
        stored = state.edges.get(name, {}) if state.edges else {}
        if not stored and not entity.__dict__[name]:
            continue  # empty, and nothing stored: the common case of a new entity
        if rel.unchanged(entity, stored):
            continue
        current = rel.current(entity, stored_key_of)
        if current.keys() == stored.keys() and all(current[k][1] == stored[k][1] for k in current):
            continue
        changed_any = True
        props = rel.edge_properties
        links = changes.links
        for key, (_, values) in current.items():
            old = stored.get(key)
            if old is None:
                edge = dict(zip(props, values, strict=True)) if props else _NO_PROPS
                links.append(EdgeWrite(rel, source, key, edge, fresh))
            elif old[1] != values:
                changed = {p: v for p, a, v in zip(props, old[1], values, strict=True) if a != v}
                changes.relinks.append(EdgeWrite(rel, source, key, changed))
        for key in stored.keys() - current.keys():
            changes.unlinks.append(EdgeWrite(rel, source, key, {}))
        changes.edges_after.append((state, name, current))
    return changed_any
