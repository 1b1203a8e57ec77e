"""Graph names per tenant, and where a cluster puts them.

A unit of work acts on ONE graph, and a graph is one key: one cluster node
holds it whole, so a commit is atomic on a cluster exactly as on one server.
Tenant-per-graph spreads tenants over the nodes. A hash tag (the part of a
key between the first ``{`` and the next ``}``) decides the node alone, so
graphs sharing a tag always live together, e.g. a tenant's ``bank`` and
``audit`` graphs. Nothing makes two graphs atomic together, tag or not.

    names = GraphNames("{tenant}:bank", tag="tenant")
    names(tenant="acme")    # '{acme}:bank'
    names("acme")           # the same: one positional value fills ``tenant``
"""

from __future__ import annotations

import string
import unicodedata
from typing import Any

from redis.crc import key_slot


class GraphNameError(ValueError):
    """A graph name, template or field value that cannot be used; the message says which."""


def hash_slot(name: str) -> int:
    """The cluster hash slot of a graph name (its ``{tag}``, if any, decides)."""
    return int(key_slot(name.encode()))


def _check_value(field: str, value: Any) -> str:
    text = str(value)
    if not text:
        raise GraphNameError(f"{field} is empty")
    if "{" in text or "}" in text:
        raise GraphNameError(
            f"{field}={text!r} contains a brace: braces make a hash tag and would move the "
            "graph to another node; the template decides the tags"
        )
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text):
        raise GraphNameError(f"{field}={text!r} contains a control character")
    return text


class GraphNames:
    """Makes graph names from a template such as ``"{tenant}:bank"``.

    Args:
        template: a ``str.format`` template whose fields (``{tenant}``,
            ``{region}``...) are filled per call; it must have at least one.
        tag: the field whose value becomes the hash tag (written as
            ``{value}``), so every graph with the same value shares a node.
            None: no tag, each graph lands where its whole name hashes.

    Field values may not contain braces (a value could otherwise choose its
    own hash tag) or control characters, and may not be empty.
    """

    def __init__(self, template: str = "{tenant}", *, tag: str | None = None) -> None:
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as exc:
            raise GraphNameError(f"bad template {template!r}: {exc}") from None
        fields = [name for _, name, spec, conv in parsed if name is not None]
        if not fields:
            raise GraphNameError(f"template {template!r} has no field such as {{tenant}}")
        bad = [name for name in fields if not name.isidentifier()]
        if bad or any(spec or conv for _, name, spec, conv in parsed if name is not None):
            raise GraphNameError(
                f"template {template!r}: fields must be plain names like {{tenant}}"
            )
        if tag is not None and tag not in fields:
            raise GraphNameError(f"tag {tag!r} is not a field of template {template!r}")
        if tag is not None and fields.count(tag) > 1:
            raise GraphNameError(f"tag field {tag!r} appears more than once in {template!r}")
        literal = "".join(text for text, *_ in parsed)
        if "{" in literal or "}" in literal:
            raise GraphNameError(
                f"template {template!r} has literal braces; use tag= to make a hash tag"
            )
        self.template = template
        self.tag = tag
        self.fields = tuple(dict.fromkeys(fields))

    def __call__(self, *args: Any, **values: Any) -> str:
        """The graph name for these field values (one positional value fills the first field).

        Raises:
            GraphNameError: a field is missing, unknown, empty or unsafe.
        """
        if len(args) > 1:
            raise GraphNameError("pass at most one positional value (the first field)")
        if args:
            if self.fields[0] in values:
                raise GraphNameError(f"{self.fields[0]} given twice")
            values[self.fields[0]] = args[0]
        missing = [f for f in self.fields if f not in values]
        unknown = sorted(set(values) - set(self.fields))
        if missing or unknown:
            raise GraphNameError(
                f"template {self.template!r} needs {list(self.fields)}; "
                f"missing {missing}, unknown {unknown}"
            )
        text = {f: _check_value(f, values[f]) for f in self.fields}
        if self.tag is not None:
            text[self.tag] = "{" + text[self.tag] + "}"
        return self.template.format(**text)

    def __repr__(self) -> str:
        return f"GraphNames({self.template!r}, tag={self.tag!r})"
