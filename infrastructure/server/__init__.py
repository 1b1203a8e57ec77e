"""Where FalkorDB runs: an embedded server, or one reached by URL (server, cluster, sentinel)."""

from .database import Database
from .embedded import EmbeddedFalkorDB, EmbeddedServerError, SharedFalkorDB, stop_shared_server
from .graph_names import GraphNameError, GraphNames, hash_slot
from .urls import DatabaseURLError

__all__ = [
    "Database",
    "DatabaseURLError",
    "EmbeddedFalkorDB",
    "EmbeddedServerError",
    "GraphNameError",
    "GraphNames",
    "SharedFalkorDB",
    "hash_slot",
    "stop_shared_server",
]
