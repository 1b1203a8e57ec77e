"""Vector workloads: committing documents with embeddings, and nearest() against queryNodes.

- ``vectors: insert``: one unit adds ``n`` documents with ``dimension``-value
  embeddings (the vector index in place) against the raw client's one
  ``UNWIND ... CREATE ... vecf32(row.embedding)`` query;
- ``vectors: nearest``: ``queries`` nearest(k=10) calls, each in its own
  unit, over ``corpus`` stored documents, against the same number of raw
  ``db.idx.vector.queryNodes`` queries returning the nodes and their scores.

The corpus is stored once (untimed, in batches) and both sides query it.
``python -m bench.search_cases --corpus 100000`` runs the large case alone.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
import time
import uuid
from array import array
from dataclasses import dataclass
from typing import Any

from infrastructure.persistence import Registry, UnitOfWork, Vector, ensure_schema
from infrastructure.server import Database

from .harness import Bench, Result, Target, render, stock

DIMENSION = 384
K = 10


@dataclass
class Doc:
    id: uuid.UUID
    title: str
    embedding: list[float]


def doc_registry(dimension: int = DIMENSION) -> Registry:
    registry = Registry()
    registry.map(Doc, key="id", vectors={"embedding": Vector(dimension, "cosine")})
    return registry


def unit_vector(rng: random.Random, dimension: int) -> list[float]:
    values = [rng.gauss(0.0, 1.0) for _ in range(dimension)]
    norm = math.sqrt(sum(v * v for v in values))
    return array("f", [v / norm for v in values]).tolist()


def make_docs(n: int, dimension: int, seed: int = 7) -> list[Doc]:
    rng = random.Random(seed)
    return [
        Doc(uuid.UUID(int=rng.getrandbits(128)), f"doc {i}", unit_vector(rng, dimension))
        for i in range(n)
    ]


CREATE_DOCS = (
    "UNWIND $rows AS row CREATE (:Doc {id: row.id, title: row.title, "
    "embedding: vecf32(row.embedding)})"
)
QUERY_NODES = (
    "CALL db.idx.vector.queryNodes('Doc', 'embedding', $k, vecf32($q)) "
    "YIELD node, score RETURN node, score"
)


def store_corpus(graph: Any, n: int, dimension: int, batch: int = 2_000) -> None:
    """Store ``n`` random documents through the raw client, a batch at a time (memory stays low)."""
    for at in range(0, n, batch):
        docs = make_docs(min(batch, n - at), dimension, seed=at)
        rows = [{"id": str(d.id), "title": d.title, "embedding": d.embedding} for d in docs]
        graph.query(CREATE_DOCS, {"rows": rows})


def insert_result(bench: Bench, n: int, dimension: int) -> Result:
    docs = make_docs(n, dimension)
    registry = bench.registry

    def setup(graph: Any) -> list[Doc]:
        return docs

    def ours(graph: Any, docs: list[Doc]) -> None:
        with UnitOfWork(graph, registry) as uow:
            repo = uow.repository(Doc)
            for doc in docs:
                repo.add(doc)

    def raw(graph: Any, docs: list[Doc]) -> None:
        rows = [{"id": str(d.id), "title": d.title, "embedding": d.embedding} for d in docs]
        graph.query(CREATE_DOCS, {"rows": rows})

    best = bench.best_of("vectors_insert", setup, ours, raw)
    return Result(
        f"vectors: insert ({dimension}-dim), one commit",
        n,
        best["ours"],
        best["raw"],
        bench.reps,
        "one UNWIND CREATE with vecf32(row.embedding), the stock client's parameters",
        Target("ratio", 1.5),
    )


def nearest_result(db: Database, corpus: int, dimension: int, queries: int, reps: int) -> Result:
    registry = doc_registry(dimension)
    graph = db.graph(f"bench_nearest_{uuid.uuid4().hex[:6]}")
    try:
        ensure_schema(graph, registry)
        started = time.perf_counter()
        store_corpus(stock(graph), corpus, dimension)
        built_s = time.perf_counter() - started
        rng = random.Random(11)
        probes = [unit_vector(rng, dimension) for _ in range(queries)]
        raw_graph = stock(graph)

        def ours() -> None:
            for probe in probes:
                with UnitOfWork(graph, registry) as uow:
                    uow.repository(Doc).nearest("embedding", probe, k=K)

        def raw() -> None:
            for probe in probes:
                raw_graph.ro_query(QUERY_NODES, {"k": K, "q": probe}).result_set  # noqa: B018

        ours()  # warm: plan cache, index pages
        best = {"ours": float("inf"), "raw": float("inf")}
        for rep in range(reps):
            sides = [("ours", ours), ("raw", raw)]
            for name, run in sides[rep % 2 :] + sides[: rep % 2]:
                gc.collect()
                start = time.perf_counter()
                run()
                best[name] = min(best[name], (time.perf_counter() - start) * 1000)
    finally:
        graph.delete()
    return Result(
        f"vectors: nearest k={K} over {corpus:,}, {queries} queries, a unit each",
        corpus,
        best["ours"],
        best["raw"],
        reps,
        "db.idx.vector.queryNodes returning the nodes and scores, the stock client",
        Target("ratio", 1.2),
        extra={"note": f"corpus stored in {built_s:.0f} s", "index_build_s": round(built_s, 1)},
    )


def patient(db: Database, timeout_s: int = 600) -> Database:
    """A client of ``db``'s server whose replies may take ``timeout_s``.

    Inserting into an HNSW index costs the server about 1.5 ms per 384-value
    vector on the 2-core bench machine: a commit of 10,000 takes longer than
    the client's default 5 s socket timeout.
    """
    url = db.url
    return Database(f"{url}{'&' if '?' in url else '?'}socket_timeout={timeout_s}")


def run_search(
    db: Database, n: int, corpus: int, reps: int, dimension: int = DIMENSION
) -> list[Result]:
    with patient(db) as client:
        bench = Bench(client, doc_registry(dimension), reps)
        results = [insert_result(bench, n, dimension)] if n else []
        if corpus:
            results.append(nearest_result(client, corpus, dimension, queries=200, reps=reps))
    return results


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_cases", description=__doc__)
    parser.add_argument(
        "--n", type=int, default=10_000, help="documents committed (10000; 0 skips)"
    )
    parser.add_argument(
        "--corpus", type=int, default=100_000, help="documents nearest() searches (100000; 0 skips)"
    )
    parser.add_argument("--reps", type=int, default=5, help="repetitions per side (5)")
    parser.add_argument("--dimension", type=int, default=DIMENSION, help="vector size (384)")
    args = parser.parse_args(argv)
    with Database(appendfsync=None) as db:
        results = run_search(db, args.n, args.corpus, args.reps, args.dimension)
    print(render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
