"""Straight-line encoders and decoders for one mapping, generated at mapping time.

Loading and committing thousands of entities spends most of its Python time
walking the field tree value by value. As ``dataclasses`` does for
``__init__``, the mapping generates plain functions from its field nodes
(``fields.FieldNode``) instead: one statement per field, plain values copied
without a call, decoders called only where a type needs one. The generated
code makes no decision of its own.

What this module builds:
- ``field_encoder(nodes, where)``: ``encode(obj) -> tuple`` of stored values
  in field order (an entity's ``mapping.properties``, an edge object's
  ``edge_properties``). It runs the generated straight-line encoder and, on
  any encoding error, walks the field nodes again to raise the
  ``ValueEncodingError`` naming the field (``where`` names the object);
- ``compile_decode(...)``: ``decode(row, key, version) -> (entity, fields)``,
  an entity built without ``__init__`` and the tuple of its stored field
  values as loaded, with mutable values copied (the snapshot the clean check
  compares against). Values are decoded inline only when each is in the
  layer's own stored form (``ScalarCodec.check``); a row with any other value
  (a missing property, a value another client wrote natively, one that does
  not decode) is handed whole to the mapping's careful decoder, which fills
  defaults, reads native forms and names what does not fit;
- ``tracked_encoder(nodes, key, encode)``: the same values for a tracked
  entity, reusing the stored form of its key;
- ``compile_snapshot(nodes)``: ``snapshot(entity) -> tuple``, the current
  stored field values with mutable values copied (same order as ``decode``'s);
- ``compile_same(nodes)``: ``same(entity, fields) -> bool``, True only if no
  stored field can have changed since that snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .codec import copy_lists
from .errors import Refused, ValueEncodingError

if TYPE_CHECKING:
    from .fields import FieldNode

Encode = Callable[[Any], tuple[Any, ...]]
Decode = Callable[[Sequence[Any], Any, int], tuple[Any, tuple[Any, ...]]]
Fields = Callable[[Any], tuple[Any, ...]]


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {}

    def bind(self, value: Any, hint: str) -> str:
        name = f"_{hint}{len(self.names)}"
        self.names[name] = value
        return name

    def add(self, line: str, depth: int = 1) -> None:
        self.lines.append("    " * depth + line)

    def build(self, signature: str, name: str) -> Any:
        text = f"def {name}({signature}):\n" + "\n".join(self.lines)
        scope: dict[str, Any] = dict(self.names)
        exec(compile(text, f"<generated {name}>", "exec"), scope)
        return scope[name]


def _encode_node(
    src: _Source, node: FieldNode, expr: str, out: list[str], depth: int, key: str | None = None
) -> None:
    if node.codec is not None:
        encoder = src.bind(node.codec.encode, "enc")
        var = f"v{len(out)}"
        if node.name == key and depth == 1:  # the tracked key object: its stored form is known
            src.add(f"{var} = {expr}", depth)
            src.add(f"{var} = stored if {var} is key else {encoder}({var})", depth)
        elif node.codec.passes:
            src.add(f"{var} = {expr}", depth)
            check = node.codec.passes.format(v=var)
            src.add(f"if not ({check}): {var} = {encoder}({var})", depth)
        else:
            src.add(f"{var} = {encoder}({expr})", depth)
        out.append(var)
        return
    holder = f"o{len(out)}_{depth}"
    first = len(out)
    src.add(f"{holder} = {expr}", depth)
    cls = src.bind(node.vo_class, "cls")
    src.add(f"if {holder} is None:", depth)
    if node.optional:
        names = [f"v{first + i}" for i in range(node.width)]
        src.add(" = ".join(names) + " = None", depth + 1)
    else:
        src.add("raise _Refused()", depth + 1)
    src.add("else:", depth)
    src.add(f"if type({holder}) is not {cls}: raise _Refused()", depth + 1)
    for child in node.children:
        _encode_node(src, child, f"{holder}.{child.name}", out, depth + 1)


def compile_encode(nodes: Sequence[FieldNode]) -> Encode:
    """The generated encoder alone: raises ``Refused`` (or what a codec raises) on bad input."""
    src = _Source()
    src.names["_Refused"] = Refused
    out: list[str] = []
    for node in nodes:
        _encode_node(src, node, f"entity.{node.name}", out, 1)
    src.add(f"return ({', '.join(out)}{',' if len(out) == 1 else ''})")
    encode: Encode = src.build("entity", "encode")
    return encode


EncodeTracked = Callable[[Any, Any, Any], tuple[Any, ...]]


def tracked_encoder(nodes: Sequence[FieldNode], key_field: str, encode: Encode) -> EncodeTracked:
    """``encode(entity, key, stored)``: ``encode(entity)``, the key encoded once per entity.

    A tracked entity's key was encoded when the unit began tracking it
    (``stored``); while its key field still holds that very object ``key``,
    the stored form is reused instead of encoded again. Any other key value
    is encoded (and a changed key then shows as a different stored key).
    ``encode`` (the mapping's encoder) raises the error naming a bad field.
    """
    src = _Source()
    src.names["_Refused"] = Refused
    out: list[str] = []
    for node in nodes:
        _encode_node(src, node, f"entity.{node.name}", out, 1, key_field)
    src.add(f"return ({', '.join(out)}{',' if len(out) == 1 else ''})")
    fast: EncodeTracked = src.build("entity, key, stored", "encode_tracked")

    def encode_tracked(entity: Any, key: Any, stored: Any) -> tuple[Any, ...]:
        try:
            return fast(entity, key, stored)
        except (Refused, ValueEncodingError, AttributeError):
            return encode(entity)  # raises, naming the field

    return encode_tracked


def _decode_node(src: _Source, node: FieldNode, at: int) -> str:
    """An expression decoding ``node`` from ``row[at:]``."""
    if node.codec is not None:
        if node.codec.plain:
            return f"row[{at}]"
        return f"{src.bind(node.codec.decode, 'dec')}(row[{at}])"
    parts = []
    offset = at
    for child in node.children:
        parts.append(f"{child.name}={_decode_node(src, child, offset)}")
        offset += child.width
    built = f"{src.bind(node.vo_class, 'cls')}({', '.join(parts)})"
    if not node.optional:
        return built
    nulls = " and ".join(f"row[{i}] is None" for i in range(at, at + node.width))
    return f"(None if {nulls} else {built})"


def _check_node(node: FieldNode, at: int) -> str | None:
    """A condition on ``row[at:]`` under which ``node`` decodes inline, exactly."""
    if node.codec is not None:
        check = node.codec.check
        # Parenthesized: an optional field's check is an ``or``, joined with ``and``s.
        return f"({check.format(v=f'row[{at}]')})" if check else None
    parts = []
    offset = at
    for child in node.children:
        part = _check_node(child, offset)
        if part:
            parts.append(part)
        offset += child.width
    if not parts:
        return None
    checks = " and ".join(parts)
    if not node.optional:
        return checks
    nulls = " and ".join(f"row[{i}] is None" for i in range(at, at + node.width))
    return f"(({nulls}) or ({checks}))"


def _copy_of(src: _Source, node: FieldNode, expr: str) -> str:
    mutable = node.codec.mutable if node.codec is not None else False
    if mutable and node.codec is not None and node.codec.copier is not None:
        return f"{src.bind(node.codec.copier, 'copy')}({expr})"
    return f"_copy({expr})" if mutable else expr


def compile_decode(
    cls: type,
    nodes: Sequence[FieldNode],
    key_field: str,
    version_field: str | None,
    defaults: Sequence[tuple[str, Any, bool]],
    slots: bool,
    careful: Decode,
) -> Decode:
    src = _Source()
    src.names.update(
        _new=object.__new__,
        _set=object.__setattr__,
        _copy=copy_lists,
        _careful=careful,
    )
    klass = src.bind(cls, "cls")
    checks = []
    at = 0
    for node in nodes:
        check = _check_node(node, at)
        if check:
            checks.append(check)
        at += node.width
    if checks:
        src.add(f"if not ({' and '.join(checks)}):")
        src.add("return _careful(row, key, version)", 2)
    values: list[tuple[str, str]] = []
    at = 0
    src.add("try:")
    for i, node in enumerate(nodes):
        expr = "key" if node.name == key_field else _decode_node(src, node, at)
        src.add(f"f{i} = {expr}", 2)
        values.append((node.name, f"f{i}"))
        at += node.width
    src.add("except Exception:")
    src.add("return _careful(row, key, version)", 2)
    src.add(f"entity = _new({klass})")
    extra: list[tuple[str, str]] = []
    for name, default, is_factory in defaults:
        if name == version_field:
            continue
        if is_factory:
            extra.append((name, f"{src.bind(default, 'factory')}()"))
        else:
            extra.append((name, src.bind(default, "default")))
    if version_field is not None:
        extra.append((version_field, "version"))
    assigned = [*values, *extra]
    if slots:
        for name, expr in assigned:
            src.add(f"_set(entity, {name!r}, {expr})")
    else:
        pairs = ", ".join(f"{name!r}: {expr}" for name, expr in assigned)
        src.add(f"entity.__dict__.update({{{pairs}}})")
    snapshot = [_copy_of(src, node, f"f{i}") for i, node in enumerate(nodes)]
    src.add(f"return entity, ({', '.join(snapshot)}{',' if len(snapshot) == 1 else ''})")
    decode: Decode = src.build("row, key, version", "decode")
    return decode


def _exact(node: FieldNode) -> bool:
    if node.codec is not None:
        return node.codec.exact_eq
    return all(_exact(child) for child in node.children)


def compile_same(nodes: Sequence[FieldNode]) -> Callable[[Any, tuple[Any, ...]], bool]:
    """``same(entity, fields)``: True only if no stored field can have changed.

    Values compared with ``==`` must also have the same type; types whose
    equal values may be stored differently count as unchanged only when
    they are the very same object.
    """
    src = _Source()
    terms = []
    for i, node in enumerate(nodes):
        value = f"entity.{node.name}"
        if _exact(node):
            terms.append(
                f"((a := {value}) is (b := fields[{i}]) or (type(a) is type(b) and a == b))"
            )
        else:
            terms.append(f"{value} is fields[{i}]")
    src.add("return " + " and ".join(terms or ["True"]))
    same: Callable[[Any, tuple[Any, ...]], bool] = src.build("entity, fields", "same")
    return same


def compile_snapshot(nodes: Sequence[FieldNode]) -> Fields:
    """``snapshot(entity)``: its stored field values, mutable ones copied."""
    src = _Source()
    src.names["_copy"] = copy_lists
    exprs = [_copy_of(src, node, f"entity.{node.name}") for node in nodes]
    src.add(f"return ({', '.join(exprs)}{',' if len(exprs) == 1 else ''})")
    snapshot: Fields = src.build("entity", "snapshot")
    return snapshot


def field_encoder(nodes: Sequence[FieldNode], where: Callable[[Any, str], str]) -> Encode:
    """``encode(obj)``: the stored values of ``nodes`` read from ``obj``, in order.

    The generated encoder runs first; when it refuses, the field nodes are
    walked again so that the error names the field: ``where(obj, field)``
    prefixes the message.

    Raises:
        ValueEncodingError: a field value cannot be stored exactly.
    """
    fast = compile_encode(nodes)

    def encode(obj: Any) -> tuple[Any, ...]:
        try:
            return fast(obj)
        except (Refused, ValueEncodingError, AttributeError):
            pass  # the field walk below names what is wrong
        out: list[Any] = []
        for node in nodes:
            try:
                node.encode_into(getattr(obj, node.name), out)
            except ValueEncodingError as exc:
                raise ValueEncodingError(
                    f"{where(obj, node.name)}: {exc}; nothing was written"
                ) from None
        return tuple(out)

    return encode
