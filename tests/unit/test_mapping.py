"""Mapping plain dataclasses onto nodes: what is accepted, and the errors for what is not."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from domain.model import Account, Person
from infrastructure.bank import bank_registry
from infrastructure.persistence import MappingError, Registry, UnsafeIdentifierError


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str = "EUR"


@dataclass
class Item:
    id: str
    name: str
    price: Money
    version: int = 0
    cache: dict[str, int] = field(default_factory=dict)
    note: str = "none"


@dataclass
class Unhashable:  # eq=True and not frozen: instances have no __hash__
    id: int
    text: str


def test_default_label_is_the_class_name_and_key_is_the_field() -> None:
    mapping = Registry().map(Item, key="id", version="version", exclude=["cache"])
    assert mapping.label == "Item"
    assert mapping.key_property == "id"
    assert mapping.version_property == "version"
    assert mapping.properties == ("id", "name", "price_amount", "price_currency", "note")


def test_explicit_label_is_used() -> None:
    assert Registry().map(Item, key="id", label="Product", exclude=["cache"]).label == "Product"


def test_unhashable_plain_dataclass_can_be_mapped() -> None:
    assert Unhashable.__hash__ is None
    mapping = Registry().map(Unhashable, key="id")
    assert mapping.decode(mapping.encode(Unhashable(1, "a"))) == Unhashable(1, "a")


def test_unmapped_class_is_named_with_the_fix() -> None:
    registry = bank_registry()
    with pytest.raises(MappingError) as caught:
        registry.mapping_for(Unhashable)
    assert str(caught.value) == (
        "'Unhashable' is not mapped; map it with registry.map(Unhashable, key=...)"
    )
    assert Unhashable not in registry
    assert Person in registry
    assert {"Person", "Account", "Transfer"} <= {m.name for m in registry}


def test_non_dataclass_cannot_be_mapped() -> None:
    class Plain:
        id: int

    with pytest.raises(MappingError, match="is not a dataclass"):
        Registry().map(Plain, key="id")


def test_class_cannot_be_mapped_twice() -> None:
    registry = Registry()
    registry.map(Unhashable, key="id")
    with pytest.raises(MappingError, match="Unhashable is already mapped"):
        registry.map(Unhashable, key="id")


def test_label_cannot_serve_two_classes() -> None:
    registry = Registry()
    registry.map(Unhashable, key="id", label="Thing")
    with pytest.raises(MappingError, match="label 'Thing' is already used by Unhashable"):
        registry.map(Item, key="id", label="Thing", exclude=["cache"])


@pytest.mark.parametrize(
    "label",
    [
        "Per son",
        "a-b",
        "1abc",
        "Person) DETACH DELETE (n",
        "Person`",
        "Pérson",
        "x" * 129,
        "MATCH",
        "delete",
        "Return",
    ],
)
def test_unsafe_label_is_refused(label: str) -> None:
    with pytest.raises(UnsafeIdentifierError, match="label of Unhashable"):
        Registry().map(Unhashable, key="id", label=label)


def test_unsafe_identifier_error_is_a_mapping_error() -> None:
    assert issubclass(UnsafeIdentifierError, MappingError)


def test_longest_safe_label_is_accepted() -> None:
    assert Registry().map(Unhashable, key="id", label="L" * 128).label == "L" * 128


@dataclass
class Keyword:
    id: int
    end: int = 0


@dataclass
class NonAscii:
    id: int
    größe: int = 0


@pytest.mark.parametrize(("cls", "name"), [(Keyword, "end"), (NonAscii, "größe")])
def test_unsafe_property_name_is_refused(cls: type, name: str) -> None:
    with pytest.raises(UnsafeIdentifierError) as caught:
        Registry().map(cls, key="id")
    assert f"property of {cls.__name__} {name!r}" in str(caught.value)


def test_unsafe_version_name_is_refused() -> None:
    with pytest.raises(UnsafeIdentifierError, match="version property of Unhashable"):
        Registry().map(Unhashable, key="id", version="ver sion")


def test_version_without_a_field_is_stored_as_a_property_only() -> None:
    mapping = Registry().map(Unhashable, key="id", version="revision")
    assert mapping.version_property == "revision"
    assert mapping.version_field is None
    assert "revision" not in mapping.properties


def test_version_field_must_be_an_int() -> None:
    @dataclass
    class Doc:
        id: int
        version: str = "1"

    with pytest.raises(MappingError, match=r"Doc\.version: a version field must be annotated int"):
        Registry().map(Doc, key="id", version="version")


def test_version_property_cannot_collide_with_a_stored_property() -> None:
    with pytest.raises(MappingError, match="collides with a field"):
        Registry().map(Item, key="id", version="price_amount", exclude=["cache"])


def test_flattened_names_cannot_collide() -> None:
    @dataclass
    class Clash:
        id: int
        price: Money
        price_amount: Decimal = Decimal("0")

    with pytest.raises(MappingError, match="flattened property names collide"):
        Registry().map(Clash, key="id")


# -- key rules ------------------------------------------------------------------


def test_key_must_be_a_field() -> None:
    with pytest.raises(MappingError, match="key 'uid' is not a field of Unhashable"):
        Registry().map(Unhashable, key="uid")


def test_key_cannot_be_excluded() -> None:
    with pytest.raises(MappingError, match="the key field 'id' cannot be excluded"):
        Registry().map(Unhashable, key="id", exclude=["id"])


@dataclass
class OptionalKey:
    id: int | None


@dataclass
class ValueObjectKey:
    id: Money


@dataclass
class ListKey:
    id: list[str]


@dataclass
class AnyKey:
    id: Any


@pytest.mark.parametrize("cls", [OptionalKey, ValueObjectKey, ListKey, AnyKey])
def test_key_must_be_a_required_scalar(cls: type) -> None:
    with pytest.raises(
        MappingError, match=rf"{cls.__name__}\.id: the key must be a required scalar"
    ):
        Registry().map(cls, key="id")


@pytest.mark.parametrize(("cls", "key"), [(Person, uuid.uuid4()), (Unhashable, 7)])
def test_key_is_read_from_the_key_field(cls: type, key: Any) -> None:
    registry = bank_registry() if cls is Person else Registry()
    if cls is Unhashable:
        registry.map(Unhashable, key="id")
    mapping = registry.mapping_for(cls)
    entity = Person(key, "A", "a@x") if cls is Person else Unhashable(key, "t")
    assert mapping.key_of(entity) == key


# -- excluded fields --------------------------------------------------------------


def test_excluded_field_needs_a_default() -> None:
    @dataclass
    class NoDefault:
        id: int
        scratch: list[int]

    with pytest.raises(MappingError, match=r"NoDefault\.scratch is excluded from storage"):
        Registry().map(NoDefault, key="id", exclude=["scratch"])


def test_exclude_names_must_be_fields() -> None:
    with pytest.raises(MappingError, match=r"Unhashable: .*unknown fields \['events'\]"):
        Registry().map(Unhashable, key="id", exclude=["events"])


def test_excluded_fields_are_not_stored_and_load_as_fresh_defaults() -> None:
    mapping = Registry().map(Item, key="id", exclude=["cache", "note"])
    item = Item("i1", "pen", Money(Decimal("1.50")), cache={"x": 1}, note="kept in memory")
    assert "cache" not in mapping.properties
    assert "note" not in mapping.properties
    first = mapping.decode(mapping.encode(item))
    second = mapping.decode(mapping.encode(item))
    assert first.cache == {}
    assert first.note == "none"
    assert first.cache is not second.cache  # default_factory runs per entity


def test_bank_events_are_excluded() -> None:
    registry = bank_registry()
    assert "events" not in registry.mapping_for(Person).properties
    account_props = registry.mapping_for(Account).properties
    assert account_props == (
        "id",
        "owner_id",
        "balance_amount",
        "balance_currency",
        "created_at",
        "updated_at",
        "updated_by",
    )


# -- loading --------------------------------------------------------------------


@dataclass
class Validated:
    id: int
    value: int

    def __post_init__(self) -> None:
        if self.value < 0:
            raise ValueError("negative")


def test_loading_does_not_rerun_init_validation() -> None:
    mapping = Registry().map(Validated, key="id")
    loaded = mapping.decode((1, -5))
    assert loaded.value == -5


@dataclass(slots=True)
class Slotted:
    id: int
    name: str
    version: int = 0


def test_slots_dataclass_loads_and_gets_its_version() -> None:
    mapping = Registry().map(Slotted, key="id", version="version")
    loaded = mapping.decode((3, "s"))
    mapping.set_version(loaded, 4)
    assert loaded == Slotted(3, "s", 4)


def test_query_criteria_name_only_stored_fields() -> None:
    mapping = Registry().map(Item, key="id", exclude=["cache"])
    with pytest.raises(
        MappingError, match="Item has no stored scalar field 'price'; fields: id, name"
    ):
        mapping.codec_of("price")
    assert mapping.codec_of("price_amount").type_name == "Decimal"


def test_union_field_error_names_the_field() -> None:
    @dataclass
    class Mixed:
        id: int
        value: int | str = 0

    with pytest.raises(MappingError, match=r"Mixed\.value: union type"):
        Registry().map(Mixed, key="id")


def test_unsupported_field_type_error_names_field_and_supported_types() -> None:
    @dataclass
    class Blob:
        id: int
        data: bytes = b""

    with pytest.raises(MappingError) as caught:
        Registry().map(Blob, key="id")
    assert "Blob.data: type <class 'bytes'> cannot be stored" in str(caught.value)
    assert "frozen dataclasses" in str(caught.value)


@dataclass(frozen=True)
class Remark:
    text: str | None = None
    score: int | None = None


@dataclass(frozen=True)
class Review:
    remark: Remark
    by: Any = None


@dataclass
class Ticket:
    id: str
    remark: Remark | None = None


@dataclass
class ReviewedTicket:
    id: str
    review: Review | None = None


@dataclass
class RequiredRemarkTicket:
    id: str
    remark: Remark = Remark()


@pytest.mark.parametrize(("cls", "name"), [(Ticket, "remark"), (ReviewedTicket, "review")])
def test_optional_value_object_that_could_be_all_none_is_refused(cls: type, name: str) -> None:
    # Remark(None, None) would be stored exactly like a missing Remark and come back as None.
    with pytest.raises(MappingError, match=rf"{cls.__name__}\.{name}: an optional value object"):
        Registry().map(cls, key="id")


def test_required_value_object_may_have_only_optional_fields() -> None:
    mapping = Registry().map(RequiredRemarkTicket, key="id")
    loaded = mapping.decode(mapping.encode(RequiredRemarkTicket("t")))
    assert loaded.remark == Remark()


@dataclass
class Refund:
    id: str
    amount: Money | None = None


def test_optional_value_object_with_a_required_field_is_accepted() -> None:
    mapping = Registry().map(Refund, key="id")
    assert mapping.decode(mapping.encode(Refund("r", Money(Decimal("2"))))).amount == Money(
        Decimal("2")
    )
    assert mapping.decode(mapping.encode(Refund("r"))).amount is None


def test_value_object_list_is_refused() -> None:
    @dataclass
    class Basket:
        id: int
        prices: list[Money] = field(default_factory=list)

    with pytest.raises(MappingError, match=r"Basket\.prices"):
        Registry().map(Basket, key="id")


def test_unresolvable_annotation_is_a_mapping_error_naming_the_class() -> None:
    @dataclass(frozen=True)
    class LocalPoint:
        x: int

    @dataclass
    class Shape:
        id: int
        at: LocalPoint

    with pytest.raises(MappingError, match=r"Shape: cannot resolve the annotations.*LocalPoint"):
        Registry().map(Shape, key="id")


def test_a_missing_property_after_an_empty_optional_one_loads_its_default():
    @dataclass
    class Later:
        id: str
        age: int | None = None
        company: str = "none"

    mapping = Registry().map(Later, key="id")
    loaded = mapping.decode(["x", None, None])
    assert (loaded.age, loaded.company) == (None, "none")
