"""Spans through the global tracer provider, and units with OpenTelemetry absent.

Both need a process of their own: the global provider can be set once per
process, and "absent" means the package cannot be imported at all.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from infrastructure.server import Database

ROOT = Path(__file__).resolve().parents[2]

UNIT = """
import uuid
from domain.model import Person
from infrastructure.bank import BankUnitOfWork, bank_registry
from infrastructure.persistence import ensure_key_constraints
from infrastructure.server import Database

db = Database({url!r})
db.open()
graph = db.graph({graph!r})
registry = bank_registry()
ensure_key_constraints(graph, registry)
ada = Person(uuid.uuid4(), "Ada", "ada@example.com", 30)
with BankUnitOfWork(graph, registry) as uow:
    uow.people.add(ada)
with BankUnitOfWork(graph, registry) as uow:
    assert uow.people.get(ada.id).name == "Ada"
graph.delete()
db.close()
"""


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_spans_go_to_the_global_tracer_provider_once_it_is_set(database: Database) -> None:
    unit = UNIT.format(url=database.url, graph=f"otel_{uuid.uuid4().hex[:8]}")
    code = (
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter\n"
        "exporter = InMemorySpanExporter()\n"
        "provider = TracerProvider()\n"
        "provider.add_span_processor(SimpleSpanProcessor(exporter))\n"
        f"{unit}\n"
        "assert exporter.get_finished_spans() == ()\n"  # no provider yet: no spans
        "trace.set_tracer_provider(provider)\n"
        f"{unit}\n"
        "print(sorted(s.name.split()[0] for s in exporter.get_finished_spans()))\n"
    )
    done = run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['GRAPH.QUERY', 'GRAPH.RO_QUERY']"


def test_units_work_without_opentelemetry(database: Database) -> None:
    unit = UNIT.format(url=database.url, graph=f"otel_{uuid.uuid4().hex[:8]}")
    code = (
        "import sys\n"
        "sys.modules['opentelemetry'] = None  # the package is not installed\n"
        "from infrastructure.persistence import observe, configure_query_log\n"
        "assert observe._otel is None\n"
        f"{unit}\n"
        "try:\n"
        "    configure_query_log(tracer_provider=object())\n"
        "except RuntimeError as exc:\n"
        "    print(exc)\n"
    )
    done = run(code)
    assert done.returncode == 0, done.stderr
    assert "tracing needs opentelemetry-api" in done.stdout
