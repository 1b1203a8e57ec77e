"""The web API over the async services (FastAPI; docs at ``/docs``, schema at ``/openapi.json``).

Each request gets one unit of work (``request_scope``); errors become 4xx
responses that say what was wrong, in one documented shape (``http_errors``).
The docs' Swagger UI and ReDoc assets are served by the app itself (from
the ``fastapi-offline`` package), so /docs works without a network.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi_offline import FastAPIOffline

from . import http_errors
from .background import relay_events
from .container import Container, create_container
from .http_errors import documented
from .request_scope import RequestUnit, request_unit
from .schemas import Befriend, Deposit, MakeTransfer, OpenAccount, RegisterPerson
from .services import (
    AccountView,
    AsyncBankService,
    FriendshipView,
    PersonView,
    SuggestionView,
    TransferView,
)


def bank_service(
    request: Request, unit: Annotated[RequestUnit, Depends(request_unit)]
) -> AsyncBankService:
    """The service for this request, running on the request's unit of work."""
    container: Container = request.app.state.container
    service: AsyncBankService = container.async_bank_service(uow_factory=unit)
    return service


Service = Annotated[AsyncBankService, Depends(bank_service)]
# Every operation documents each error status it can answer (400: a body that is not UTF-8;
# 422: invalid input or a refused rule; 503: the database failed).
READ = documented(404, 422, 503)
LIST = documented(422, 503)
WRITE = documented(400, 404, 409, 422, 503)
REGISTER = documented(400, 409, 422, 503)
OPEN = documented(400, 404, 422, 503)

router = APIRouter()


@router.post("/people", status_code=201, tags=["people"], responses=REGISTER)
async def register_person(body: RegisterPerson, service: Service) -> PersonView:
    """Register a person (409 when the email is taken)."""
    return await service.register_person(body.name, body.email, body.age)


@router.get("/people", tags=["people"], responses=LIST)
async def list_people(
    service: Service,
    limit: Annotated[int, Query(ge=0, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[PersonView]:
    """People by name, a page at a time."""
    return await service.list_people(limit, offset)


@router.get("/people/{person_id}", tags=["people"], responses=READ)
async def get_person(person_id: UUID, service: Service) -> PersonView:
    return await service.get_person(person_id)


@router.post(
    "/people/{person_id}/friends",
    status_code=201,
    tags=["friends"],
    responses=WRITE,
)
async def befriend(person_id: UUID, body: Befriend, service: Service) -> FriendshipView:
    """Make two people friends (409 when they are already)."""
    return await service.befriend(person_id, body.friend_id)


@router.get("/people/{person_id}/friends", tags=["friends"], responses=READ)
async def friends(person_id: UUID, service: Service) -> list[PersonView]:
    return await service.friends(person_id)


@router.get("/people/{person_id}/recommendations", tags=["friends"], responses=READ)
async def recommend_friends(
    person_id: UUID, service: Service, limit: Annotated[int, Query(ge=0, le=100)] = 10
) -> list[SuggestionView]:
    """Friends of friends, most mutual friends first."""
    return await service.recommend_friends(person_id, limit)


@router.get("/people/{person_id}/path/{other_id}", tags=["friends"], responses=READ)
async def path_between(person_id: UUID, other_id: UUID, service: Service) -> list[PersonView]:
    """A shortest chain of friends from one person to the other, both included.

    Empty when they are not connected within six friendships.
    """
    return await service.path_between(person_id, other_id)


@router.post("/accounts", status_code=201, tags=["accounts"], responses=OPEN)
async def open_account(body: OpenAccount, service: Service) -> AccountView:
    """Open an empty account for an existing person."""
    return await service.open_account(body.owner_id, body.currency)


@router.get("/accounts/{account_id}", tags=["accounts"], responses=READ)
async def get_account(account_id: UUID, service: Service) -> AccountView:
    return await service.get_account(account_id)


@router.get("/accounts/{account_id}/reachable", tags=["accounts"], responses=READ)
async def reachable_accounts(account_id: UUID, service: Service) -> list[AccountView]:
    """Accounts money from this one reached through chains of up to six transfers, by id."""
    return await service.reachable_accounts(account_id)


@router.post("/accounts/{account_id}/deposits", tags=["accounts"], responses=WRITE)
async def deposit(account_id: UUID, body: Deposit, service: Service) -> AccountView:
    """Pay money into an account; returns the account."""
    return await service.deposit(account_id, body.amount, body.currency)


@router.post(
    "/transfers",
    status_code=201,
    tags=["transfers"],
    responses=WRITE,
)
async def transfer(body: MakeTransfer, service: Service) -> TransferView:
    """Move money between two accounts atomically (422 on insufficient funds)."""
    return await service.transfer(
        body.source_id, body.target_id, body.amount, body.currency, body.transfer_id
    )


@router.get("/transfers/{transfer_id}", tags=["transfers"], responses=READ)
async def get_transfer(transfer_id: UUID, service: Service) -> TransferView:
    return await service.get_transfer(transfer_id)


@router.get("/health", tags=["operations"])
async def health(request: Request) -> dict[str, str]:
    """Liveness: answers as long as the process serves requests."""
    container: Container = request.app.state.container
    return {"status": "ok", "graph": container.config.falkordb_graph()}


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start (or connect to) the database before serving; close everything after."""
    container: Container = app.state.container
    relaying: asyncio.Task[None] | None = None
    if not container.async_unit_of_work.overridden:
        container.graph()  # starts the embedded server if any, ensures the key constraints
        interval = container.config.app_relay_interval_s()
        if interval:
            relaying = asyncio.create_task(relay_events(container, interval))
    try:
        yield
    finally:
        if relaying is not None:
            relaying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relaying
        if container.database.initialized:
            await container.database().aclose()
        container.async_graph.reset()
        container.shutdown_resources()


def create_app(container: Container | None = None) -> FastAPI:
    """The FastAPI application; ``container`` defaults to one configured from the environment."""
    app = FastAPIOffline(
        title="FalkorDB bank example",
        summary="People, friendships, accounts and transfers on a FalkorDB unit of work.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.container = container or create_container()
    app.include_router(router)
    http_errors.install(app)
    return app
