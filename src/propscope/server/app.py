"""The HTTP API and web page: one FastAPI app sharing one loaded model across requests.

Requests cost what their analysis costs, so the app bounds it: bodies are capped while they stream in,
texts are limited in characters and in word pieces, analyses run on worker threads (one by default)
behind a short queue (a full queue answers 503 with Retry-After), and URL fetches are asynchronous,
with one deadline each and a cap on how many run at once. The event loop itself never analyzes or
waits on a page, so ``/api/health`` answers at once however busy the workers are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

import propscope
from propscope.document import Article
from propscope.errors import PropScopeError
from propscope.pipeline.analyzer import Analyzer, load_analyzer
from propscope.server.fetch import FetchError, FetchPolicy, fetch_page, page_article
from propscope.server.gate import Busy, Gate, WorkQueue
from propscope.server.middleware import BodyLimit, HostCheck, SecurityHeaders, error_body
from propscope.techniques import TECHNIQUES

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class ServerSettings:
    model: str = "default"
    max_chars: int = 200_000
    max_word_pieces: int = 60_000  # at the sample article's 0.21 per character, 200,000 characters have 42,000
    analyses: int = 1  # at once; each already uses every core through ONNX Runtime's threads
    queue: int = 1  # analyses waiting for a worker; beyond, 503: an accepted one waits for at most one other
    fetches: int = 16  # URL fetches at once; they only wait on the network
    retry_after_seconds: int = 2
    allowed_hosts: tuple[str, ...] = LOCAL_HOSTS  # Host header names served; "*" for any
    fetch: FetchPolicy = field(default_factory=FetchPolicy)

    @property
    def max_body_bytes(self) -> int:
        return 4 * self.max_chars + 65_536  # room for the text in UTF-8 and the JSON around it


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _valid_unicode(value: str) -> str:
    """JSON can carry lone UTF-16 surrogates (``"\\ud800"``); no text or URL holds one."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"holds a lone surrogate ({value[err.start]!a} at character {err.start})") from None
    return value


Text = Annotated[str, AfterValidator(_valid_unicode)]


class ErrorAnswer(BaseModel):
    error: str = Field(description="What is wrong, in words.")
    status: int


class AnalyzeRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",  # a misspelt field ("titel") is named, not silently dropped
        json_schema_extra={"oneOf": [{"required": ["text"]}, {"required": ["url"]}]},
    )

    # text and url may be left out but are never null, so the schema's "one of them" is exact.
    text: Text = Field(None, description="The article text; give this or `url`, not both.")
    title: Text | None = Field(None, description="Optional title, kept in the analysis.")
    url: Text = Field(None, description="An http(s) URL to fetch the article from; give this or `text`.")

    @model_validator(mode="after")
    def one_source(self) -> AnalyzeRequest:
        if (self.text is None) == (self.url is None):
            raise ValueError("give exactly one of `text` or `url`")
        return self


class SpanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0, strict=True, description="Character (code point) offset where the span starts.")
    end: int = Field(gt=0, strict=True, description="Character (code point) offset just after the span.")


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text
    spans: list[SpanRequest] = Field(min_length=1, max_length=1000)


def _answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    meaning = {
        400: "The text cannot be analyzed (empty, or without any word the model reads).",
        413: "The body, the text's characters or its word pieces are over the server's limits.",
        415: "The body is not sent as application/json.",
        422: "The request does not match the schema, or the URL is refused or cannot be fetched.",
        503: "The server is busy; retry after the seconds in the Retry-After header.",
    }
    return {status: {"model": ErrorAnswer, "description": meaning[status]} for status in statuses}


def _problem(item: dict[str, Any]) -> str:
    """One validation problem in words, naming the field (``spans.0.end``) or the body's fault."""
    loc = item.get("loc", ())
    if item.get("type") == "json_invalid":
        return f"the body is not valid JSON ({item.get('ctx', {}).get('error', 'decode error')} at character {loc[-1]})"
    if loc == ("body",) and item.get("type") == "missing":
        return "the body is empty: send a JSON object"
    where = ".".join(str(part) for part in loc if part != "body")
    return f"{where}: {item.get('msg')}" if where else str(item.get("msg"))


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(status, message), status_code=status, headers=headers, media_type="application/json")


def create_app(settings: ServerSettings | None = None, analyzer: Analyzer | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    analyzer = analyzer or load_analyzer(settings.model)
    work = WorkQueue(settings.analyses, settings.queue, settings.retry_after_seconds)
    fetches = Gate(settings.fetches, "URL fetches", settings.retry_after_seconds)

    app = FastAPIOffline(  # serves the /docs assets itself: no CDN, works offline
        title="PropScope",
        version=propscope.__version__,
        description="Find and explain propaganda techniques in news articles. Offsets count code points.",
    )
    # The last added runs first: security headers on every answer, then the Host check, then the body cap.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HostCheck, allowed=settings.allowed_hosts)
    app.add_middleware(SecurityHeaders)

    def checked_text(text: str) -> str:
        """Limits that cost nothing to check: run on the event loop, before a request takes a place."""
        if len(text) > settings.max_chars:
            raise ApiError(413, f"text has {len(text)} characters; the limit is {settings.max_chars}")
        if not text.strip():
            raise ApiError(400, "text is empty")
        return text

    def check_word_pieces(text: str) -> None:
        pieces = analyzer.word_pieces(text)
        if pieces > settings.max_word_pieces:
            raise ApiError(413, f"text has {pieces} word pieces; the limit is {settings.max_word_pieces}")

    async def analysis(job: Callable[[], dict[str, Any]], status: int) -> dict[str, Any]:
        """Runs ``job`` on a worker; a problem with the input becomes a ``status`` answer."""
        try:
            return await work.run(job)
        except PropScopeError as err:
            raise ApiError(status, str(err)) from None

    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> Response:
        return _error(err.status, err.message)

    @app.exception_handler(Busy)
    async def busy(_: Request, err: Busy) -> Response:
        return _error(503, str(err), {"Retry-After": str(err.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, err: RequestValidationError) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and kind != "application/json":
            return _error(415, f"send the body as application/json, not {kind or 'without a content type'}")
        return _error(422, "invalid request: " + "; ".join(_problem(item) for item in err.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> Response:
        return _error(err.status_code, str(err.detail), err.headers)  # keeps Allow on a 405

    @app.exception_handler(Exception)
    async def unexpected(_: Request, err: Exception) -> Response:
        return _error(500, f"internal error ({err.__class__.__name__}); the server goes on")

    @app.get("/api/health", summary="Liveness, the loaded model and the work in progress")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "version": propscope.__version__,
            "model": analyzer.model.name,
            "analyses": work.admitted,
            "fetches": fetches.admitted,
        }

    @app.get("/api/techniques", summary="The technique catalogue")
    async def techniques() -> list[dict[str, str]]:
        return [asdict(t) for t in TECHNIQUES]

    @app.post(
        "/api/analyze",
        summary="Analyze an article given as text or URL",
        responses=_answers(400, 413, 415, 422, 503),
    )
    async def analyze(request: AnalyzeRequest) -> dict[str, Any]:
        if request.url is None:
            article = Article(id="text", text=checked_text(request.text or ""), title=request.title or "")

            def read() -> Article:
                check_word_pieces(article.text)
                return article
        else:
            async with fetches.place():
                try:
                    page = await fetch_page(request.url, settings.fetch)
                except FetchError as err:
                    raise ApiError(422, str(err)) from None

            def read() -> Article:
                try:
                    fetched = page_article(page)
                except FetchError as err:
                    raise ApiError(422, str(err)) from None
                checked_text(fetched.text)
                check_word_pieces(fetched.text)
                return fetched

        return await analysis(lambda: analyzer.analyze(read()).to_dict(), 400)

    @app.post(
        "/api/classify",
        summary="Name the technique of given spans of a text",
        responses=_answers(400, 413, 415, 422, 503),
    )
    async def classify(request: ClassifyRequest) -> dict[str, Any]:
        text = checked_text(request.text)
        spans = [(s.start, s.end) for s in request.spans]
        names = analyzer.model.techniques

        def run() -> dict[str, Any]:
            check_word_pieces(text)
            probabilities = analyzer.technique_probabilities(text, spans)
            return {
                "spans": [
                    {
                        "start": start,
                        "end": end,
                        "text": text[start:end],
                        "technique": names[int(p.argmax())],
                        "probabilities": {name: round(float(v), 4) for name, v in zip(names, p, strict=True)},
                    }
                    for (start, end), p in zip(spans, probabilities, strict=True)
                ]
            }

        return await analysis(run, 422)

    static = resources.files("propscope.server") / "static"

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((static / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        types = {"app.js": "text/javascript", "style.css": "text/css"}
        if name not in types:
            raise ApiError(404, f"no asset {name!r}")
        return Response((static / name).read_text(encoding="utf-8"), media_type=types[name])

    return app
