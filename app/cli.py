"""The command line: ``python -m app serve | demo | seed | schema | check | relay | plan | stop``.

Every command reads the same settings as the web API (``app.settings``).
With no ``FALKORDB_URL`` they all use the one embedded FalkorDB of
``FALKORDB_DATA_DIR`` (./var/falkordb): the first command that needs it
starts it, the others connect to it, the last one to finish stops it
(``infrastructure.server.SharedFalkorDB``). ``stop`` stops one left running.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .settings import Settings

if TYPE_CHECKING:  # the container imports the whole application: only commands that use it do
    from .container import Container


def create_container(settings: Settings) -> Container:
    from .container import create_container as create

    return create(settings)


cli = typer.Typer(
    help="The FalkorDB bank example: serve the web API, run the demo, seed test data, "
    "show the schema, relay domain events, stop the embedded server.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # one message, one line

DataDir = Annotated[
    Path | None,
    typer.Option(
        help="Data directory of the embedded FalkorDB (env FALKORDB_DATA_DIR, default ./var/falkordb)",
        show_default=False,
    ),
]
Graph = Annotated[
    str | None,
    typer.Option(help="Graph to use (env FALKORDB_GRAPH, default bank)", show_default=False),
]

FIRST = ["Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
LAST = ["Adams", "Berg", "Costa", "Diaz", "Evans", "Fox", "Gray", "Holm", "Ito", "Jung"]


def _settings(data_dir: Path | None, graph: str | None) -> Settings:
    """The environment's settings, with the command line's options on top."""
    settings = Settings()
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["falkordb_data_dir"] = data_dir
    if graph is not None:
        overrides["falkordb_graph"] = graph
    return Settings.model_validate({**settings.model_dump(), **overrides})


def _stop_requested(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@cli.callback()
def _main() -> None:
    # SIGTERM stops a command as Ctrl+C does: its cleanup runs (the embedded server
    # is stopped if this was the last process using it).
    signal.signal(signal.SIGTERM, _stop_requested)


@contextmanager
def _stoppable() -> Iterator[None]:
    """Ctrl+C or SIGTERM ends the block quietly (exit status 0, no traceback)."""
    try:
        yield
    except KeyboardInterrupt:
        errors.print("stopped")


def _start(container: Container) -> None:
    with console.status("Starting FalkorDB and checking the schema..."):
        container.graph()


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` (bound here, so a busy port is one clear error)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        errors.print(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
            "choose another port with --port, APP_PORT or make run PORT=..."
        )
        raise typer.Exit(1) from None
    sock.set_inheritable(True)
    return sock


@cli.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(help="Interface to listen on (env APP_HOST, default 127.0.0.1)"),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=0, max=65535, help="Port to listen on (env APP_PORT, default 8000)"),
    ] = None,
    data_dir: DataDir = None,
    graph: Graph = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the web API (uvicorn), with its interactive docs at /docs.

    Ctrl+C (or SIGTERM) stops accepting requests, finishes those in flight,
    stops the relay, closes the connections, then stops the embedded server
    if no other process uses it.
    """
    import uvicorn

    from .api import create_app

    settings = _settings(data_dir, graph)
    host = host or settings.app_host
    port = settings.app_port if port is None else port
    with _stoppable():
        sock = _listening_socket(host, port)
        container = create_container(settings)
        try:
            _start(container)
            base = f"http://{host}:{sock.getsockname()[1]}"
            console.print(
                Panel.fit(
                    f"API   [bold]{base}[/]\n"
                    f"Docs  [bold]{base}/docs[/]\n"
                    f"      {base}/openapi.json\n"
                    f"Data  {settings.where}\n"
                    f"Graph {settings.falkordb_graph}\n"
                    "Stop with Ctrl+C",
                    title="FalkorDB bank example",
                )
            )
            config = uvicorn.Config(create_app(container), log_level=log_level)
            uvicorn.Server(config).run(sockets=[sock])
        finally:
            sock.close()
            container.shutdown_resources()


@cli.command()
def demo(data_dir: DataDir = None) -> None:
    """Run the examples (python -m examples), each on a graph of its own, deleted after."""
    settings = _settings(data_dir, None)
    container = create_container(settings)
    root = Path(__file__).resolve().parents[1]
    code = 1
    with _stoppable():
        try:
            environment = {**os.environ, "FALKORDB_URL": container.database().url}
            result = subprocess.run([sys.executable, "-m", "examples"], cwd=root, env=environment)
            code = result.returncode
        finally:
            container.shutdown_resources()
    raise typer.Exit(code)


@cli.command()
def seed(
    people: Annotated[int, typer.Option(min=1, max=100_000, help="How many people to add")] = 20,
    friends: Annotated[int, typer.Option(min=0, help="Friendships each new person starts")] = 3,
    random_seed: Annotated[int | None, typer.Option(help="Seed for repeatable data")] = None,
    data_dir: DataDir = None,
    graph: Graph = None,
) -> None:
    """Add people, each with a funded account and a few friends, through the services."""
    from domain.errors import AlreadyFriends

    container = create_container(_settings(data_dir, graph))
    rng = random.Random(random_seed)
    try:
        _start(container)
        service = container.bank_service()
        added: list[UUID] = []
        friendships = 0
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("Adding people", total=people)
            for i in range(people):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                email = f"{first}.{last}.{rng.randrange(10**9)}@example.com".lower()
                person = service.register_person(f"{first} {last}", email, rng.randint(18, 90))
                account = service.open_account(person.id)
                service.deposit(account.id, Decimal(rng.randint(1, 100_000)) / 100)
                for other in rng.sample(added, min(friends, len(added))):
                    try:
                        service.befriend(person.id, other)
                        friendships += 1
                    except AlreadyFriends:
                        pass
                added.append(person.id)
                progress.update(task, advance=1, description=f"Added {i + 1} people")
        console.print(
            f"Added {people} people with one funded account each and {friendships} friendships "
            f"to graph [bold]{container.config.falkordb_graph()}[/]."
        )
    finally:
        container.shutdown_resources()


@cli.command()
def schema(data_dir: DataDir = None, graph: Graph = None) -> None:
    """Create the missing key constraints and indexes, then show them and the graphs stored."""
    from infrastructure.persistence import ensure_schema

    settings = _settings(data_dir, graph)
    container = create_container(settings)
    name = settings.falkordb_graph
    try:
        with console.status("Starting FalkorDB and checking the schema..."):
            report = ensure_schema(container.database().graph(name), container.registry())
        table = Table(title=f"Schema of graph {name!r}")
        for column in ("kind", "on", "label / type", "property", "state"):
            table.add_column(column)
        created = set(report.created)
        different = dict(report.different)
        for item in report.declared:
            state = "created" if item in created else "present"
            if item in different:
                state = f"different in the graph: {different[item].detail}"
            table.add_row(item.kind, item.entity.lower(), item.label, item.property, state)
        for item in report.undeclared:
            table.add_row(item.kind, item.entity.lower(), item.label, item.property, "undeclared")
        console.print(table)
        graphs = container.database().list_graphs()
        console.print(f"Graphs stored: {', '.join(graphs) if graphs else '(none)'}")
    finally:
        container.shutdown_resources()


@cli.command()
def check(data_dir: DataDir = None, graph: Graph = None) -> None:
    """List stored values that do not load into their mapped fields (exit 1 if any)."""
    from infrastructure.persistence import UnitOfWork

    settings = _settings(data_dir, graph)
    container = create_container(settings)
    name = settings.falkordb_graph
    try:
        registry = container.registry()
        handle = container.database().graph(name)
        problems = []
        with console.status("Reading every mapped node..."):
            # A class hierarchy's root reads (and checks) its subclasses' nodes too.
            for mapping in (m for m in registry if m.parent is None):
                with UnitOfWork(handle, registry) as uow:
                    problems.extend(uow.repository(mapping.cls).undecodable())
        if not problems:
            console.print(f"Every mapped node of graph {name!r} loads.")
            return
        table = Table(title=f"Stored values of graph {name!r} that do not load")
        for column in ("label", "key", "property", "stored value", "why"):
            table.add_column(column, overflow="fold")
        for p in problems:
            table.add_row(p.label, repr(p.key), p.property, repr(p.value), p.why)
        console.print(table)
        console.print(
            f"{len(problems)} value(s). Fix each with Cypher (MATCH (n:Label {{key: ...}}) SET "
            "n.property = ...), or give the field a default or a wider type."
        )
        raise typer.Exit(1)
    finally:
        container.shutdown_resources()


@cli.command()
def stop(data_dir: DataDir = None) -> None:
    """Stop the embedded FalkorDB of the data directory, if no process is using it.

    Each command stops the server when it is the last one using it, so this
    is only needed for a server whose processes were killed (SIGKILL).
    """
    from infrastructure.server import EmbeddedServerError, stop_shared_server

    settings = _settings(data_dir, None)
    try:
        console.print(stop_shared_server(settings.falkordb_data_dir))
    except EmbeddedServerError as exc:
        errors.print(str(exc))
        raise typer.Exit(1) from None


@cli.command()
def relay(
    once: Annotated[bool, typer.Option("--once", help="Relay what is pending, then stop")] = False,
    interval: Annotated[
        float, typer.Option(min=0.05, help="Seconds between polls when running on")
    ] = 1.0,
    data_dir: DataDir = None,
    graph: Graph = None,
) -> None:
    """Publish pending domain events from the outbox to the Redis Stream (Ctrl+C stops)."""
    import time

    settings = _settings(data_dir, graph)
    container = create_container(settings)
    try:
        _start(container)
        relay = container.relay()
        stream = settings.app_outbox_stream
        total = 0
        while True:
            report = relay.drain()
            if report.published or report.marked:
                total += report.published
                console.print(
                    f"published {report.published} event(s) to [bold]{stream}[/]"
                    f" ({report.duplicates} already there), {total} in all"
                )
            if once:
                if not total:
                    console.print(f"no pending events for [bold]{stream}[/]")
                break
            time.sleep(interval)
    except KeyboardInterrupt:
        console.print("relay stopped")
    finally:
        container.shutdown_resources()


@cli.command()
def plan(data_dir: DataDir = None, graph: Graph = None) -> None:
    """Show the one query a demo unit would commit (a person, an account, a deposit); write nothing."""
    from domain.model import Account, Money, Person
    from infrastructure.persistence import acting_as

    container = create_container(_settings(data_dir, graph))
    try:
        _start(container)
        with acting_as("cli"), container.unit_of_work() as uow:
            person = Person.register("Plan Demo", "plan.demo@example.com", 40)
            account = Account.open(person.id)
            account.deposit(Money.of("12.50"))
            uow.people.add(person)
            uow.accounts.add(account)
            preview = uow.plan()
            uow.rollback()
        console.print(str(preview), markup=False, highlight=False, soft_wrap=True)
        console.print("nothing was written (the unit was rolled back)")
    finally:
        container.shutdown_resources()
