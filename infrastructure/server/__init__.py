"""Where FalkorDB runs: an embedded server, or one reached by URL."""

from .database import Database
from .embedded import EmbeddedFalkorDB, EmbeddedServerError

__all__ = ["Database", "EmbeddedFalkorDB", "EmbeddedServerError"]
