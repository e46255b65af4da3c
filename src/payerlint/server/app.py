"""The HTTP service: the claim path over HTTP, and the web workbench at `/`.

Every check goes through `payerlint.api` (a `Router`, or a `Checker` for one rulebook),
so a result over HTTP is the result of `payerlint check --format jsonl` for the same
claim, byte for byte but for `record` (`request`, `request[3]`, `request:7` here).
Checking is CPU-bound: it runs in the threadpool (`run_in_threadpool`), never on the
event loop, so a slow batch does not stall the health check or other requests.

Request bodies are parsed by the claim reader (`claims.reader`), so a body that is not
JSON is described as a claim file would be: line and column, never the content. FHIR
resources are converted and 837P files read as `payerlint check` does (`formats`,
`x12.records`): which a body is, the content type says (`application/fhir+json`,
`application/edi-x12`), or `?format=`, else the body itself (an ISA segment, a
`resourceType`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any, AsyncIterator, Callable, Iterable

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send
from starlette.staticfiles import StaticFiles

from payerlint import __version__
from payerlint.api import Checker, CompiledRulebook, Diagnostic, DiagnosticError, Loader, Registry, Result, Router
from payerlint.check import CHUNK, error_result, input_findings
from payerlint.formats import INPUTS, claim_records, is_x12
from payerlint.claims.reader import FILE_UNREADABLE, LineFeed, Record, parse_json, value_record
from payerlint.contract import SCHEMA_NAMES, load_schema
from payerlint.home import Home, resolve_home
from payerlint.server import openapi
from payerlint.server.middleware import AccessLog, BearerToken, BodyLimit, BodyTooLarge, SecurityHeaders
from payerlint.server.views import NotFound, payer_view, rulebook_ref, rulebook_view
from payerlint.source import Span
from payerlint.versions import report as _report
from payerlint.versions.diff import diff as _diff_untyped
from payerlint.versions.replay import Replay as _ReplayUntyped

# Content types that say what a check body is (`?format=` says it too, and wins).
FORMAT_OF_TYPE = {"application/fhir+json": "fhir", "application/fhir+ndjson": "fhir", "application/edi-x12": "x12",
                  "application/x12": "x12"}
DEFAULT_MAX_BODY = 16 << 20
"""16 MiB: thousands of claims in one request; a single claim is a few kilobytes."""
BODY = "request body"

# The boundary into the quarter diff (not held to mypy --strict): typed here, once.
_Replay: Callable[..., Any] = _ReplayUntyped
_diff: Callable[[CompiledRulebook, CompiledRulebook], Any] = _diff_untyped
_diff_json: Callable[[Any], dict[str, Any]] = _report.diff_json


@dataclass(frozen=True)
class Settings:
    home: Home
    token: str | None = None
    max_body: int = DEFAULT_MAX_BODY


class Problem(Exception):
    """A request the service refuses: its status and a message (and diagnostics)."""

    def __init__(self, status: int, message: str, diagnostics: Iterable[Diagnostic] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.diagnostics = tuple(diagnostics)

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.message}
        if self.diagnostics:
            body["diagnostics"] = [d.to_json() for d in self.diagnostics]
        return JSONResponse(body, status_code=self.status)


class Service:
    """What the routes share: the registry and compiled rulebooks, loaded once."""

    def __init__(self, home: Home):
        self.home = home
        self.router = Router(Registry.load(home), Loader(home))
        self._routers: dict[tuple[bool, bool], Router] = {(False, False): self.router}
        self._checkers: dict[tuple[str, bool, bool], Checker] = {}

    @property
    def registry(self) -> Registry:
        return self.router.registry

    def reload(self) -> None:
        """Read the payer files and the rule tree again (every router shares the routing)."""
        self.router.reload()
        self._checkers.clear()

    def compile(self, payer: str, quarter: str) -> CompiledRulebook:
        try:
            ref = rulebook_ref(self.registry, payer, quarter)
        except NotFound as exc:
            raise Problem(404, str(exc)) from None
        try:
            return self.router.loader.load(ref)
        except DiagnosticError as exc:
            raise Problem(422, f"rulebook {ref} does not compile", exc.diagnostics) from None

    def compile_ref(self, ref: str) -> CompiledRulebook:
        payer, at, quarter = ref.partition("@")
        if not at:
            raise Problem(404, f"'{ref}' is not a rulebook reference: write payer@quarter, like acme@2026Q2")
        return self.compile(payer, quarter)

    def checker(self, rulebook: str | None, explain: bool, strict: bool) -> Checker:
        if rulebook is None:
            key = (strict, explain)
            if key not in self._routers:
                self._routers[key] = self.router.with_options(strict=strict, explain=explain)
            return self._routers[key]
        compiled = self.compile_ref(rulebook)
        ckey = (compiled.id, strict, explain)
        checker = self._checkers.get(ckey)
        if checker is None or checker.rulebook is not compiled:
            checker = Checker(compiled, strict=strict, explain=explain, validator=self.router.validator)
            self._checkers[ckey] = checker
        return checker


def parse_body(raw: bytes) -> Any:
    """The JSON value of a request body, or a 400 naming line and column."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[raw.rfind(b"\n", 0, exc.start) + 1:exc.start].decode("utf-8", "replace")) + 1
        raise Problem(400, f"the request body is not UTF-8 text: line {line}, column {column}",
                      [_where(line, column, "this byte is not UTF-8")]) from None
    if not text.strip():
        raise Problem(400, "the request body is empty: send a claim (a JSON object) or an array of claims")
    value, problem = parse_json(text.removeprefix("\ufeff"))
    if problem is not None:
        message, line, column = problem
        if message == "Extra data":
            # The usual cause: JSON Lines sent to the endpoint for one document.
            message = ("more than one JSON value: send one claim or an array of claims here, or JSON Lines "
                       "(a claim per line) to /v1/check/jsonl")
        raise Problem(400, f"the request body is not JSON: line {line}, column {column}: {message}",
                      [_where(line, column, f"invalid JSON: {message}")])
    return value


def _where(line: int, column: int, message: str) -> Diagnostic:
    return Diagnostic("request_not_json", message, span=Span(BODY, line, column, line, column + 1), quote=False)


def _flag(request: Request, name: str) -> bool:
    value = request.query_params.get(name, "false").lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise Problem(400, f"query parameter {name} must be true or false")
    return value in ("true", "1", "yes")


def _checker(service: Service, request: Request) -> Checker:
    return service.checker(request.query_params.get("rulebook"), _flag(request, "explain"), _flag(request, "strict"))


def _body_format(request: Request) -> str:
    """What a check body is: `?format=`, else its content type, else `auto` (decided by
    the body: an ISA segment is an 837P, a `resourceType` FHIR)."""
    wanted = request.query_params.get("format")
    if wanted is not None:
        if wanted not in INPUTS:
            raise Problem(400, f"query parameter format must be one of {', '.join(INPUTS)}")
        return wanted
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return FORMAT_OF_TYPE.get(kind, "auto")


def _converted(service: Service, records: Iterable[Record], fmt: str) -> Iterable[Record]:
    """Records as claim records: FHIR resources converted, insurer ids matched against
    the payer registry (as `payerlint check` does)."""
    registry = service.registry
    return claim_records(records, "json" if fmt == "x12" else fmt, lambda key: registry.resolve(key) is not None)


def _check_all(checker: Checker, records: Iterable[Record]) -> list[Result]:
    # The records of a request body part are all there: a chunk at a time, stage by stage.
    return list(checker.check_records(records, chunk=CHUNK))


def _check_x12(service: Service, checker: Checker, raw: bytes) -> list[Result]:
    from payerlint.x12.records import records

    return _check_all(checker, records(raw, "request", service.registry))


class StreamingBoth(StreamingResponse):
    """A streamed response whose body is produced while the request body is still being
    read. Starlette's StreamingResponse (before ASGI 2.4) also listens for the client's
    disconnect on `receive` meanwhile, which would take request chunks from under the
    reader; here the reader is the only one to call `receive` (it sees a disconnect too)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.stream_response(send)
        except OSError:
            raise ClientDisconnect() from None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings(resolve_home())
    service = Service(settings.home)
    # The document is built from the shipped schemas (openapi.py), not from Python types.
    app = FastAPI(title="payerlint", version=__version__, openapi_url=None, docs_url=None, redoc_url=None)
    document = openapi.document(__version__, token=settings.token is not None)
    static = resources.files("payerlint.server").joinpath("static")

    @app.exception_handler(Problem)
    async def problem(request: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/openapi.json")
    async def openapi_document() -> JSONResponse:
        return JSONResponse(document)

    @app.get("/v1/schemas/{name}")
    async def schema(name: str) -> JSONResponse:
        if name not in SCHEMA_NAMES:
            raise Problem(404, f"no schema '{name}'; the schemas are: {', '.join(SCHEMA_NAMES)}")
        return JSONResponse(load_schema(name))

    @app.post("/v1/check")
    async def check(request: Request) -> Response:
        checker = await run_in_threadpool(_checker, service, request)
        fmt = _body_format(request)
        raw = await request.body()
        if fmt == "x12" or (fmt == "auto" and is_x12(raw[:512])):
            # An 837P file: one result per claim (and per part that cannot be read), always an array.
            if not raw.strip():
                raise Problem(400, "the request body is empty: send an 837P file")
            results = await run_in_threadpool(_check_x12, service, checker, raw)
            return Response(_array(results), media_type="application/json")
        value = parse_body(raw)
        if isinstance(value, list):
            records = [value_record(f"request[{i}]", item) for i, item in enumerate(value)]
            results = await run_in_threadpool(_check_all, checker, _converted(service, records, fmt))
            return Response(_array(results), media_type="application/json")
        results = await run_in_threadpool(_check_all, checker, _converted(service, [value_record("request", value)],
                                                                          fmt))
        # One claim (payerlint's, or a FHIR Claim) gives one result; a FHIR Bundle an array.
        if len(results) == 1 and not (isinstance(value, dict) and value.get("resourceType") == "Bundle"):
            return Response(results[0].dumps().encode(), media_type="application/json")
        return Response(_array(results), media_type="application/json")

    @app.post("/v1/check/jsonl")
    async def check_jsonl(request: Request) -> StreamingBoth:
        checker = await run_in_threadpool(_checker, service, request)
        fmt = _body_format(request)
        if fmt == "x12":
            raise Problem(400, "an 837P file is not JSON Lines: send it to /v1/check")
        body = request.stream().__aiter__()
        first = b""
        try:
            # The first bytes decide before the response begins: an 837P sent here (by its
            # ISA segment) is refused whole, not answered with an error for every segment.
            # Until three visible bytes (an ISA segment's name) or 512 bytes have come.
            while len(first.lstrip()) < 3 and len(first) < 512:
                first += await body.__anext__()
        except StopAsyncIteration:
            pass
        if fmt == "auto" and is_x12(first.lstrip()[:512]):
            raise Problem(400, "this body is an 837P file (it starts with an ISA segment), not JSON Lines: "
                               "send it to /v1/check")

        async def chunks() -> AsyncIterator[bytes]:
            if first:
                yield first
            async for chunk in body:
                yield chunk

        async def results() -> AsyncIterator[bytes]:
            feed = LineFeed("request")
            try:
                async for chunk in chunks():
                    records = feed.feed(chunk)
                    if records:
                        done = await run_in_threadpool(_check_all, checker, _converted(service, records, fmt))
                        yield "".join(r.dumps() + "\n" for r in done).encode()
            except BodyTooLarge as exc:
                # The response has begun: say so in the stream, as one more error result.
                cut = Diagnostic(FILE_UNREADABLE, f"request: {exc}; lines after line {feed.number} were not read")
                yield (error_result(None, input_findings([cut]), "request").dumps() + "\n").encode()
                return
            records = feed.end()
            if records:
                done = await run_in_threadpool(_check_all, checker, _converted(service, records, fmt))
                yield "".join(r.dumps() + "\n" for r in done).encode()

        return StreamingBoth(results(), media_type="application/x-ndjson")

    @app.post("/v1/reload")
    async def reload() -> JSONResponse:
        try:
            await run_in_threadpool(service.reload)
        except DiagnosticError as exc:
            raise Problem(422, "the payer registry does not load; the service keeps the rules it had",
                          exc.diagnostics) from None
        registry = service.registry
        return JSONResponse({"payers": len(registry.payers),
                             "quarters": sum(len(registry.quarters(p)) for p in registry.payers.values())})

    @app.get("/v1/payers")
    async def payers() -> JSONResponse:
        registry = service.registry
        return JSONResponse([payer_view(registry, p) for p in registry.payers.values()])

    @app.get("/v1/rulebooks/{payer}/{quarter}")
    async def rulebook(payer: str, quarter: str) -> JSONResponse:
        compiled = await run_in_threadpool(service.compile, payer, quarter)
        return JSONResponse(await run_in_threadpool(rulebook_view, compiled, service.home))

    @app.post("/v1/diff")
    async def diff(request: Request) -> Response:
        body = parse_body(await request.body())
        if not isinstance(body, dict) or not isinstance(body.get("old"), str) or not isinstance(body.get("new"), str):
            raise Problem(400, 'expected {"old": "payer@quarter", "new": "payer@quarter", "claims": [...]}')
        claims = body.get("claims")
        if claims is not None and not isinstance(claims, list):
            raise Problem(400, "claims must be an array of claims")
        unknown = sorted(set(body) - {"old", "new", "claims"})
        if unknown:
            raise Problem(400, f"unknown field {', '.join(unknown)}: expected old, new and claims")
        return Response(orjson.dumps(await run_in_threadpool(_run_diff, service, body["old"], body["new"], claims)),
                        media_type="application/json")

    @app.post("/v1/remit")
    async def remit(request: Request) -> Response:
        fmt = request.query_params.get("format", "json")
        if fmt not in ("json", "html"):
            raise Problem(400, "query parameter format must be json or html")
        with_charts = request.query_params.get("charts") == "svg"
        remittances, claims = _remit_files(parse_body(await request.body()))
        report = await run_in_threadpool(_run_remit, service, remittances, claims)
        if fmt == "html":
            return Response(_remit_html(report), media_type="text/html; charset=utf-8")
        if with_charts:
            report = dict(report, charts=_remit_charts(report))
        return Response(orjson.dumps(report), media_type="application/json")

    @app.get("/")
    async def workbench() -> FileResponse:
        return FileResponse(str(static.joinpath("index.html")), media_type="text/html")

    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    # Outermost last: the log sees every answer, the token is checked before the body is read.
    app.add_middleware(BodyLimit, limit=settings.max_body)
    app.add_middleware(BearerToken, token=settings.token, open_paths=("/healthz", "/", "/favicon.ico"),
                       open_prefixes=("/static/",))
    app.add_middleware(AccessLog)
    app.add_middleware(SecurityHeaders)
    return app


def _array(results: list[Result]) -> bytes:
    return b"[" + b",".join(r.dumps().encode() for r in results) + b"]"


def _run_diff(service: Service, old_ref: str, new_ref: str, claims: list[Any] | None) -> dict[str, Any]:
    old, new = service.compile_ref(old_ref), service.compile_ref(new_ref)
    changes = _diff(old, new)
    out = _diff_json(changes)
    if claims is not None:
        replay = _Replay(changes, old, new)
        records = (value_record(f"claims[{i}]", claim) for i, claim in enumerate(claims))
        out["claims"] = [impact.to_json() for impact in replay.run(records)]
        out["summary"] = replay.summary.to_json()
    return out



def _remit_files(body: Any) -> tuple[list[tuple[str, bytes]], list[tuple[str, bytes]]]:
    """The uploaded files of a remit request: {"remittances": [{"name", "text"}], "claims": [...]}."""
    expected = ('expected {"remittances": [{"name": "june.835", "text": "ISA*..."}], "claims": [{"name": '
                '"claims.jsonl", "text": "..."}]}: 835 files, and claims (JSON, JSON Lines, 837P) or saved results')
    if not isinstance(body, dict) or set(body) - {"remittances", "claims"}:
        raise Problem(400, expected)
    out: list[list[tuple[str, bytes]]] = []
    for key in ("remittances", "claims"):
        files = body.get(key)
        if not isinstance(files, list) or not files:
            raise Problem(400, f"{key} must be a non-empty array of files; {expected}")
        found = []
        for i, item in enumerate(files):
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                raise Problem(400, f"{key}[{i}] must be an object with a text; {expected}")
            name = item.get("name")
            found.append((name if isinstance(name, str) and name else f"{key}[{i}]", item["text"].encode("utf-8")))
        out.append(found)
    return out[0], out[1]


def _run_remit(service: Service, remittances: list[tuple[str, bytes]],
               claims: list[tuple[str, bytes]]) -> dict[str, Any]:
    from payerlint.remit.run import build_report

    report: dict[str, Any] = build_report(remittances, claims, service.router, service.registry).report
    return report


def _remit_html(report: dict[str, Any]) -> str:
    from payerlint.remit.html import render

    return render(report)


def _remit_charts(report: dict[str, Any]) -> dict[str, str]:
    from payerlint.remit.html import charts

    return charts(report)
