"""A user's script on a data directory: ``python -m tests.e2e.attach_worker DIR RELEASE [NAME]``.

It opens ``Database(data_dir=DIR)`` (the directory's shared embedded server),
writes one node named NAME to graph ``shared``, prints one JSON line (its
pid, the server's pid, whether it started the server), then waits until the
file RELEASE exists and closes the database.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from infrastructure.server import Database, SharedFalkorDB


def main() -> None:
    data_dir, release = Path(sys.argv[1]), Path(sys.argv[2])
    name = sys.argv[3] if len(sys.argv) > 3 else f"worker-{os.getpid()}"
    with Database(data_dir=data_dir) as db:
        server = db.server
        assert isinstance(server, SharedFalkorDB)
        db.graph("shared").query("CREATE (:Worker {name: $name})", {"name": name})
        line = {"pid": os.getpid(), "server": server.pid, "started_here": server.started_here}
        print(json.dumps(line), flush=True)
        while not release.exists():
            time.sleep(0.02)


if __name__ == "__main__":
    main()
