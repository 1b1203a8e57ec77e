"""Where FalkorDB runs: an embedded server, or one reached by URL (server, cluster, sentinel)."""

from .database import Database
from .embedded import EmbeddedFalkorDB, EmbeddedServerError
from .graph_names import GraphNameError, GraphNames, hash_slot
from .urls import DatabaseURLError

__all__ = [
    "Database",
    "DatabaseURLError",
    "EmbeddedFalkorDB",
    "EmbeddedServerError",
    "GraphNameError",
    "GraphNames",
    "hash_slot",
]
