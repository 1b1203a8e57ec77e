"""What a flush writes besides the edits themselves: reachable new entities, cascaded deletes.

Before a flush is planned, the unit adds the new entities its tracked
relationships hold (cascade on add, ``adopt_new_targets``) and marks for
deletion the targets of ``cascade`` rules of the entities it deletes,
reading the edges it has not loaded (``expand_cascades``, the only reads a
flush may make). Both work on the identity map and are free of I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import loading
from .conversation import Conversation
from .errors import DanglingReferenceError
from .identity import IdentityMap, InstanceState, Status
from .mapping import RelationshipMapping

#: Sets a relationship on states from the rows of its read (``loading.apply_related``).
ApplyRelated = Callable[[RelationshipMapping, Sequence[InstanceState], list[list[Any]]], None]


def adopt_new_targets(identity: IdentityMap, add: Callable[[object], None]) -> bool:
    """Add (with ``add``) the untracked targets of tracked relationships; True if any.

    Raises:
        DanglingReferenceError: a relationship holds an entity this unit deletes.
    """
    deleted = Status.DELETED
    adopted = False
    work = [
        s
        for s in identity
        if s.mapping.relationships
        and s.status is not deleted
        and not s.entity.__dict__.keys().isdisjoint(s.mapping.relationships)
    ]
    while work:
        state = work.pop()
        for name, rel in state.mapping.relationships.items():
            if not state.entity.__dict__.get(name):
                continue  # not loaded, None or empty: no target to adopt
            stored = state.edges.get(name, {}) if state.edges else {}
            for item in rel.items(state.entity):
                target = rel.target_of(item)
                target_state = identity.state_of(target)
                if target_state is None:
                    add(target)
                    adopted = True
                    added = identity.state_of(target)
                    if added is not None and added.mapping.relationships:
                        work.append(added)
                elif (
                    target_state.status is Status.DELETED and target_state.stored_key not in stored
                ):
                    key = target_state.key
                    raise DanglingReferenceError(
                        f"{state.mapping.describe(state.entity)}.{name} holds "
                        f"{rel.target.name}[{key!r}], which this unit deletes; remove it "
                        "from the relationship or keep the entity"
                    )
    return adopted


def expand_cascades(identity: IdentityMap, apply_related: ApplyRelated) -> Conversation[bool]:
    """Mark for deletion what ``cascade`` rules of deleted entities reach; True if it did.

    Yields a read for each rule whose edges are not loaded (their holders
    are deleted: what is stored counts).
    """
    seen: set[int] = set()
    expanded = False
    while True:
        todo: dict[str, tuple[RelationshipMapping, list[InstanceState]]] = {}
        for state in identity:
            if state.status is not Status.DELETED or id(state) in seen:
                continue
            seen.add(id(state))
            for rel in state.mapping.relationships.values():
                if rel.on_delete == "cascade":
                    todo.setdefault(rel.label, (rel, []))[1].append(state)
        if not todo:
            return expanded
        for rel, states in todo.values():
            unloaded = [s for s in states if not (s.edges and rel.name in s.edges)]
            if unloaded:
                rows = yield loading.related_read(rel, unloaded)
                for s in unloaded:  # the holder is deleted: take what is stored
                    s.entity.__dict__.pop(rel.name, None)
                apply_related(rel, unloaded, rows)
                expanded = True
            for s in states:
                assert s.edges is not None
                for item, _ in s.edges[rel.name].values():
                    child = identity.state_of(rel.target_of(item))
                    if child is not None and child.status is Status.PERSISTENT:
                        child.status = Status.DELETED
                        expanded = True
