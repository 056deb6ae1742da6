"""The HTTP API and web page: one FastAPI app sharing one loaded model across requests.

ONNX Runtime sessions are safe to call from several threads, so FastAPI's worker threads share the
analyzer without a lock.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib import resources
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, Field, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

import propscope
from propscope.document import Article
from propscope.errors import InputError, PropScopeError
from propscope.pipeline.analyzer import Analyzer, load_analyzer
from propscope.server.fetch import FetchError, FetchPolicy, fetch_article
from propscope.techniques import TECHNIQUES


@dataclass(frozen=True)
class ServerSettings:
    model: str = "default"
    max_chars: int = 200_000
    fetch: FetchPolicy = field(default_factory=FetchPolicy)


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class AnalyzeRequest(BaseModel):
    text: str | None = Field(None, description="The article text; give this or `url`.")
    title: str | None = Field(None, description="Optional title, kept in the analysis.")
    url: str | None = Field(None, description="An http(s) URL to fetch the article from.")

    @model_validator(mode="after")
    def one_source(self) -> AnalyzeRequest:
        if (self.text is None) == (self.url is None):
            raise ValueError("give exactly one of `text` or `url`")
        return self


class SpanRequest(BaseModel):
    start: int = Field(ge=0)
    end: int = Field(gt=0)


class ClassifyRequest(BaseModel):
    text: str
    spans: list[SpanRequest] = Field(min_length=1, max_length=1000)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message, "status": status})


def create_app(settings: ServerSettings | None = None, analyzer: Analyzer | None = None) -> FastAPI:
    settings = settings or ServerSettings()
    app = FastAPIOffline(  # serves the /docs assets itself: no CDN, works offline
        title="PropScope",
        version=propscope.__version__,
        description="Find and explain propaganda techniques in news articles.",
    )
    state: dict[str, Analyzer] = {}

    def get_analyzer() -> Analyzer:
        if "analyzer" not in state:
            state["analyzer"] = analyzer or load_analyzer(settings.model)
        return state["analyzer"]

    def checked_text(text: str) -> str:
        if len(text) > settings.max_chars:
            raise ApiError(413, f"text has {len(text)} characters; the limit is {settings.max_chars}")
        if not text.strip():
            raise ApiError(400, "text is empty")
        return text

    @app.exception_handler(ApiError)
    async def api_error(_: Request, err: ApiError) -> JSONResponse:
        return _error(err.status, err.message)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, err: RequestValidationError) -> JSONResponse:
        problems = []
        for item in err.errors():
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            problems.append(f"{where}: {item.get('msg')}" if where else str(item.get("msg")))
        return _error(422, "invalid request: " + "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, err: StarletteHTTPException) -> JSONResponse:
        return _error(err.status_code, str(err.detail))

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > 4 * settings.max_chars + 65_536:
            return _error(413, f"request body of {length} bytes is over the limit")
        return await call_next(request)

    @app.get("/api/health", summary="Liveness and the loaded model")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": propscope.__version__, "model": get_analyzer().model.name}

    @app.get("/api/techniques", summary="The technique catalogue")
    def techniques() -> list[dict[str, str]]:
        return [asdict(t) for t in TECHNIQUES]

    @app.post("/api/analyze", summary="Analyze an article given as text or URL")
    def analyze(request: Annotated[AnalyzeRequest, Body()]) -> dict[str, Any]:
        if request.url is not None:
            try:
                article = fetch_article(request.url, settings.fetch)
            except FetchError as err:
                raise ApiError(422, str(err)) from None
            checked_text(article.text)
        else:
            article = Article(id="text", text=checked_text(request.text or ""), title=request.title or "")
        try:
            return get_analyzer().analyze(article).to_dict()
        except PropScopeError as err:
            raise ApiError(400, str(err)) from None

    @app.post("/api/classify", summary="Name the technique of given spans of a text")
    def classify(request: ClassifyRequest) -> dict[str, Any]:
        text = checked_text(request.text)
        spans = [(s.start, s.end) for s in request.spans]
        analyzer = get_analyzer()
        try:
            probabilities = analyzer.technique_probabilities(text, spans)
        except InputError as err:
            raise ApiError(422, str(err)) from None
        names = analyzer.model.techniques
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

    static = resources.files("propscope.server") / "static"

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((static / "index.html").read_text(encoding="utf-8"))

    @app.get("/static/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        types = {"app.js": "text/javascript", "style.css": "text/css"}
        if name not in types:
            raise ApiError(404, f"no asset {name!r}")
        return Response((static / name).read_text(encoding="utf-8"), media_type=types[name])

    return app
