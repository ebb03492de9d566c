"""Request validation: body size limit (413, chunked too), control characters, caps, one error shape."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ValidationError

from shared.platform.auth import Permission, Principal, require
from shared.platform.settings import Settings
from shared.platform.validation import CleanStr, CleanText, Identifier, clean_str
from tests.api.conftest import Mint, bearer, build_test_app, running


class Note(BaseModel):
    title: CleanStr
    body: CleanText = ""
    team: Identifier
    tag: clean_str(8, min_length=1) = "x"  # type: ignore[valid-type]


class Window(BaseModel):
    start: int | None = None


class Raw(BaseModel):
    text: str  # deliberately a plain str: the safety net is what is under test


def _router() -> APIRouter:
    router = APIRouter()

    @router.post("/v1/probe/notes")
    async def post_note(note: Note, _: Principal = Depends(require(Permission.WRITE_OUTCOMES))) -> Note:
        return note

    @router.get("/v1/probe/search")
    async def search(
        q: Annotated[CleanStr, Query()], _: Principal = Depends(require(Permission.READ_TEAM_AGGREGATES))
    ) -> dict[str, str]:
        return {"q": q}

    @router.get("/v1/probe/window")
    async def window(
        w: Annotated[Window, Query()], _: Principal = Depends(require(Permission.READ_TEAM_AGGREGATES))
    ) -> dict[str, int | None]:
        return {"start": w.start}

    return router


def test_clean_types_strip_and_cap() -> None:
    note = Note(title="  a\x00b\x1b[31mc\u202e\n ", body="line1\nline2\x07\r\n", team=" team-1 ")
    assert note.title == "ab[31mc"
    assert note.body == "line1\nline2"
    assert note.team == "team-1"
    with pytest.raises(ValidationError):
        Note(title="x" * 257, team="t")
    with pytest.raises(ValidationError):
        Note(title="ok", team="bad team")
    with pytest.raises(ValidationError):
        Note(title="ok", team="\x00\x01")  # nothing left after stripping: min_length 1
    with pytest.raises(ValidationError):
        Note(title="ok", team="t", tag="123456789")


@pytest.fixture(scope="module")
async def probe(api_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    small = api_settings.replace(**{"max_body_bytes": 1000})
    async with running(build_test_app(small, [_router()])) as client:
        yield client


async def test_body_over_limit_is_413_by_content_length(probe: httpx.AsyncClient, mint: Mint) -> None:
    r = await probe.post(
        "/v1/probe/notes", headers=bearer(mint("analyst")), content=b'{"title": "' + b"a" * 2000 + b'"}'
    )
    assert r.status_code == 413
    assert r.json() == {
        "error": {"code": "payload_too_large", "message": "request body exceeds 1000 bytes", "details": []}
    }


async def test_chunked_body_over_limit_is_413(probe: httpx.AsyncClient, mint: Mint) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "'
        for _ in range(20):
            yield b"a" * 100
        yield b'"}'

    r = await probe.post(
        "/v1/probe/notes",
        headers={**bearer(mint("analyst")), "Content-Type": "application/json"},
        content=chunks(),
    )
    assert r.status_code == 413


async def test_chunked_body_under_limit_passes(probe: httpx.AsyncClient, mint: Mint) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"title": "he'
        yield b'llo\\u0000", "team": "t1"}'

    r = await probe.post(
        "/v1/probe/notes",
        headers={**bearer(mint("analyst")), "Content-Type": "application/json"},
        content=chunks(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["title"] == "hello"


async def test_validation_errors_use_the_one_shape(probe: httpx.AsyncClient, mint: Mint) -> None:
    r = await probe.post("/v1/probe/notes", headers=bearer(mint("analyst")), json={"title": "x" * 300})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    assert {d["field"] for d in err["details"]} == {"title", "team"}
    assert all(set(d) == {"field", "problem"} for d in err["details"])
    assert "x" * 50 not in r.text  # inputs are not echoed back


async def test_query_strings_are_cleaned(probe: httpx.AsyncClient, mint: Mint) -> None:
    r = await probe.get("/v1/probe/search", params={"q": "abc\x00\x07def"}, headers=bearer(mint("viewer")))
    assert r.status_code == 200 and r.json() == {"q": "abcdef"}
    r = await probe.get("/v1/probe/search", params={"q": "z" * 300}, headers=bearer(mint("viewer")))
    assert r.status_code == 422


async def test_repeated_single_valued_query_parameter_is_422(probe: httpx.AsyncClient, mint: Mint) -> None:
    r = await probe.get("/v1/probe/search?q=a&q=b", headers=bearer(mint("viewer")))
    assert r.status_code == 422
    assert r.json()["error"]["details"] == [{"field": "q", "problem": "given more than once; expected a single value"}]


async def test_nul_reaching_postgres_is_422_not_500(api_settings: Settings, mint: Mint) -> None:
    """Safety net for string fields that are not CleanStr: the store refuses NUL, the client gets 422."""
    from shared.platform.http import create_app, resources_of
    from shared.platform.resources import Needs

    router = APIRouter()

    @router.post("/v1/probe/raw")
    async def store_raw(
        body: Raw, request: Request, _: Principal = Depends(require(Permission.WRITE_OUTCOMES))
    ) -> dict[str, str]:
        async with resources_of(request).pg.acquire() as conn:
            return {"stored": await conn.fetchval("SELECT $1::text", body.text)}

    app = create_app(title="raw", needs=Needs(pg=True, redis=True), routers=[router], settings=api_settings)
    async with running(app) as client:
        ok = await client.post("/v1/probe/raw", headers=bearer(mint("analyst")), json={"text": "fine"})
        assert ok.status_code == 200 and ok.json() == {"stored": "fine"}
        r = await client.post("/v1/probe/raw", headers=bearer(mint("analyst")), json={"text": "a\x00b"})
        assert r.status_code == 422
        assert r.json()["error"]["details"][0]["problem"].startswith("text contains characters")


async def test_unreachable_store_is_503_and_a_query_bug_is_500(api_settings: Settings, mint: Mint) -> None:
    from shared.adapters.graph.base import GraphStoreError
    from shared.platform.errors import dependency_unavailable
    from shared.platform.http import create_app
    from shared.platform.resources import Needs

    router = APIRouter()

    @router.get("/v1/probe/down")
    async def down(_: Principal = Depends(require(Permission.READ_TEAM_AGGREGATES))) -> dict[str, str]:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as exc:
            raise GraphStoreError("falkordb: connection refused") from exc

    @router.get("/v1/probe/bug")
    async def bug(_: Principal = Depends(require(Permission.READ_TEAM_AGGREGATES))) -> dict[str, str]:
        raise GraphStoreError("falkordb: Invalid input at line 1")

    assert dependency_unavailable(GraphStoreError("x").with_traceback(None)) is False
    app = create_app(title="down", needs=Needs(redis=True), routers=[router], settings=api_settings)
    async with running(app) as client:
        r = await client.get("/v1/probe/down", headers=bearer(mint("viewer")))
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert r.json()["error"]["code"] == "unavailable"
        r = await client.get("/v1/probe/bug", headers=bearer(mint("viewer")))
        assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"


def test_unreadable_csv_is_a_validation_problem() -> None:
    """Found by schemathesis: a bare CR inside a CSV field crashed the outcomes import with a 500."""
    from shared.domain.outcomes import CSV_COLUMNS, CsvProblem, parse_outcomes_csv

    with pytest.raises(CsvProblem) as caught:
        parse_outcomes_csv(",".join(CSV_COLUMNS) + "\nx\ry,2026-01,wellbeing,1")
    assert caught.value.details[0]["field"] == "body"
    assert caught.value.details[0]["problem"].startswith("not a readable CSV")


async def test_repeated_parameter_of_a_query_model_is_422(probe: httpx.AsyncClient, mint: Mint) -> None:
    ok = await probe.get("/v1/probe/window?start=1", headers=bearer(mint("viewer")))
    assert ok.status_code == 200 and ok.json() == {"start": 1}
    r = await probe.get("/v1/probe/window?start=1&start=2", headers=bearer(mint("viewer")))
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "start"
