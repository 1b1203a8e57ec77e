"""Values computed from a stored field, for set-based updates: ``F("age") + 1``.

An ``Arith`` compiles to Cypher (``n.age + $param``) and evaluates in Python
alike, null in, null out, so the in-memory fakes answer as the server does.
Only numbers take part: a field of type ``int`` with an ``int`` operand, or a
``float`` field with a number (text-stored types such as ``Decimal`` do not
add as their values do, so they are refused).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import MappingError

if TYPE_CHECKING:
    from .mapping import EntityMapping

_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
}
_INTS = ("int", "int | None")
_FLOATS = ("float", "float | None")


@dataclass(frozen=True, eq=False)
class Arith:
    """``field op operand``: a stored number changed by a constant."""

    field: str
    op: str
    operand: int | float

    def check(self, mapping: EntityMapping[Any], target: str) -> None:
        """Refuse what would not store a number of ``target``'s type.

        Raises:
            MappingError: a field is not numeric, the operand does not fit its
                type, or an ``int`` target would receive a ``float``.
        """
        where = f"{mapping.name}.{target} = {self.field} {self.op} {self.operand!r}"
        source = mapping.codec_of(self.field).type_name
        goal = mapping.codec_of(target).type_name
        operand = self.operand
        if isinstance(operand, bool) or not isinstance(operand, int | float):
            raise MappingError(f"{where}: the operand must be an int or a float")
        if source not in _INTS + _FLOATS or goal not in _INTS + _FLOATS:
            raise MappingError(
                f"{where}: arithmetic needs int or float fields ({self.field} is {source}, "
                f"{target} is {goal}); set a value instead"
            )
        floats = source in _FLOATS or isinstance(operand, float)
        if floats and goal in _INTS:
            raise MappingError(f"{where}: the result is a float, and {target} is an int field")

    def compile(self, param: str) -> str:
        return f"n.{self.field} {self.op} ${param}"

    def evaluate(self, values: dict[str, Any]) -> Any:
        """The new value for a node holding ``values`` (a missing field gives null)."""
        current = values.get(self.field)
        if current is None:
            return None
        return _OPS[self.op](current, self.operand)
