"""Vector fields: declared in the mapping, stored as FalkorDB ``vecf32`` values.

A field holding an embedding stays a ``list[float]`` in the domain. Mapped
with ``vectors={"embedding": Vector(384, "cosine")}``, it is:

- checked before anything is sent: a sequence of exactly ``dimension``
  finite numbers (a vector of another dimension would be stored silently and
  left out of the index), or None for an optional field;
- rounded to float32 on encode, which is what the server stores, so a vector
  read back compares equal to itself and a read-only unit writes nothing;
- written through ``vecf32(...)`` in the commit query (a plain list is stored
  as a List, which no vector index sees);
- refused by criteria other than ``is_null`` (a stored vector never equals a
  list, and vectors do not order).

Facts this is built on (FalkorDB 4.16): ``vecf32(null)`` is null, so an
optional vector needs no other query text; ``queryNodes`` answers a
distance: ``1 - cos`` for cosine, the (not squared) L2 distance for
euclidean.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .codec import ScalarCodec, split_optional
from .errors import MappingError, ValueEncodingError

Similarity = Literal["cosine", "euclidean"]
SIMILARITIES: tuple[Similarity, ...] = ("cosine", "euclidean")


@dataclass(frozen=True, slots=True)
class Vector:
    """A vector field's declaration: its dimension and the index's distance.

    ``m``, ``ef_construction`` and ``ef_runtime`` are the HNSW index options
    (FalkorDB's defaults: 16, 200, 10).
    """

    dimension: int
    similarity: Similarity = "cosine"
    m: int = 16
    ef_construction: int = 200
    ef_runtime: int = 10

    def __post_init__(self) -> None:
        for name in ("dimension", "m", "ef_construction", "ef_runtime"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                raise MappingError(f"Vector {name} must be a positive int, got {value!r}")
        if self.similarity not in SIMILARITIES:
            raise MappingError(
                f"Vector similarity must be one of {', '.join(SIMILARITIES)}, "
                f"got {self.similarity!r}"
            )

    def options(self) -> dict[str, Any]:
        """The index options as ``db.indexes()`` lists them."""
        return {
            "dimension": self.dimension,
            "similarityFunction": self.similarity,
            "M": self.m,
            "efConstruction": self.ef_construction,
            "efRuntime": self.ef_runtime,
        }


class Float32s(list[float]):
    """An encoded vector: float32 values, sent as a short literal (9 significant digits).

    Nine digits give back the same float32 exactly; they are shorter to send
    and to parse than the 17 digits of ``repr``.
    """

    __slots__ = ()


_FORMATS: dict[int, str] = {}


def vector_literal(value: Float32s) -> str:
    """``value`` as a Cypher list literal."""
    size = len(value)
    fmt = _FORMATS.get(size)
    if fmt is None:
        fmt = "[" + ",".join(["%.9g"] * size) + "]"
        if len(_FORMATS) < 64:
            _FORMATS[size] = fmt
    return fmt % tuple(value)


def as_vector(values: Any) -> Float32s:
    """``values`` as a vector parameter of a custom query (``vecf32($q)``): float32, exact.

    Plain float parameters must hold at most 15 significant digits (see
    ``codec``); a vector's values are sent as the float32 numbers the server
    compares, whatever their digits.

    Raises:
        ValueEncodingError: a value is not a finite float32 number, or there is none.
    """
    try:
        rounded = array("f", values).tolist()
    except (TypeError, OverflowError):
        raise ValueEncodingError(f"a vector needs numbers, got {values!r:.60}") from None
    if not rounded or not math.isfinite(sum(rounded)):
        raise ValueEncodingError(f"a vector needs finite float32 values, got {values!r:.60}")
    return Float32s(rounded)


def _refuse(value: Any, decl: Vector, why: str) -> ValueEncodingError:
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return ValueEncodingError(
        f"expected a vector of {decl.dimension} finite floats, got "
        f"{type(value).__name__} {shown}: {why}"
    )


def vector_codec(decl: Vector, annotation: Any, where: str) -> ScalarCodec:
    """The codec of a field declared ``Vector``; its annotation must be ``list[float]``.

    Raises:
        MappingError: the field is not annotated ``list[float]`` (or ``| None``).
    """
    inner, optional = split_optional(annotation, where)
    if inner != list[float]:
        raise MappingError(
            f"{where}: a vector field must be annotated list[float] or list[float] | None, "
            f"not {annotation!r}"
        )
    dimension = decl.dimension
    cosine = decl.similarity == "cosine"

    def encode(value: Any) -> Float32s | None:
        if value is None:
            if optional:
                return None
            raise _refuse(value, decl, "the field is not optional")
        if isinstance(value, str | bytes | dict) or not hasattr(value, "__len__"):
            raise _refuse(value, decl, "not a sequence of numbers")
        if len(value) != dimension:
            raise _refuse(value, decl, f"it has {len(value)} values")
        try:
            rounded = array("f", value)
        except (TypeError, OverflowError):
            bad = next((v for v in value if not isinstance(v, int | float)), None)
            raise _refuse(value, decl, f"{bad!r} is not a number") from None
        if type(next(iter(value), None)) is bool:
            raise _refuse(value, decl, "booleans are not numbers here")
        out = Float32s(rounded.tolist())
        if not math.isfinite(sum(out)):
            at = next(i for i, v in enumerate(out) if not math.isfinite(v))
            raise _refuse(
                value,
                decl,
                f"value {at} ({value[at]!r}) is not finite in float32 (NaN, inf, or beyond 3.4e38)",
            )
        if cosine and not any(out):
            raise _refuse(value, decl, "every value is 0, and a cosine distance needs a direction")
        return out

    def decode(value: Any) -> list[float] | None:
        if value is None:
            return None
        return array("f", value).tolist()

    return ScalarCodec(
        f"vector[{dimension}]{' | None' if optional else ''}",
        encode,
        decode,
        orderable=False,
        mutable=True,
        exact_eq=True,  # float32 lists: equal values store the same (0.0 / -0.0 aside)
        copier=_copy_vector,
    )


def _copy_vector(value: Any) -> Any:
    # Always a list, whatever sequence the entity holds (a tuple, a numpy array).
    return None if value is None else list(value)


def is_vector(codec: ScalarCodec) -> bool:
    return codec.type_name.startswith("vector[")


# -- distances, as the server computes them ------------------------------------------


def cosine_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """``1 - cos(a, b)``; 1.0 when either vector is all zeros."""
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return 1.0 - dot / norm if norm else 1.0


def euclidean_distance(a: Sequence[float], b: Sequence[float]) -> float:
    """The L2 distance (not squared), as ``queryNodes`` reports it."""
    return math.dist(a, b)


DISTANCES: dict[str, Callable[[Sequence[float], Sequence[float]], float]] = {
    "cosine": cosine_distance,
    "euclidean": euclidean_distance,
}


# -- the commit query ----------------------------------------------------------------


def stored(mapping_vectors: dict[str, Vector], prop: str, expr: str) -> str:
    """``expr`` as the commit query writes it into ``prop``: through ``vecf32`` for vectors."""
    return f"vecf32({expr})" if prop in mapping_vectors else expr


@dataclass(frozen=True, slots=True)
class UpdateShape:
    """Updates of one label changing the same vector properties: one block of the query."""

    suffix: str  # appended to the block's name ("" when no vector changes)
    vectors: tuple[str, ...]

    def row(self, changed: dict[str, Any]) -> dict[str, Any]:
        """The row's changed plain properties (``p``) and vectors (``x0``, ``x1``...)."""
        if not self.vectors:
            return {"p": changed}
        plain = {p: v for p, v in changed.items() if p not in self.vectors}
        row: dict[str, Any] = {"p": plain}
        for i, prop in enumerate(self.vectors):
            row[f"x{i}"] = changed[prop]
        return row

    def sets(self) -> str:
        """`` , n.embedding = vecf32(row.x0)``: the SET items after ``n += row.p``."""
        return "".join(f", n.{p} = vecf32(row.x{i})" for i, p in enumerate(self.vectors))


def update_shapes(
    vectors: dict[str, Vector], changed: Sequence[dict[str, Any]]
) -> list[tuple[UpdateShape, list[int]]]:
    """Group updates (their changed properties) by which vectors they change.

    Returns each shape with the positions of its updates, shapes in a
    stable order, so equal change shapes give equal query text.
    """
    if not vectors:
        return [(UpdateShape("", ()), list(range(len(changed))))]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, props in enumerate(changed):
        key = tuple(p for p in vectors if p in props)
        groups.setdefault(key, []).append(i)
    out = []
    for key in sorted(groups):
        suffix = "" if not key else "_v_" + "_".join(key)
        out.append((UpdateShape(suffix, key), groups[key]))
    return out
