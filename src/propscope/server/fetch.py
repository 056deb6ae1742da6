"""Fetching an article from a URL safely: http(s) only, public addresses only, bounded time and size.

Every redirect hop is checked again, so a public page cannot bounce the server to a private one. The
fetch is asynchronous and has one deadline for everything (resolving, connecting, redirects, reading),
so a server that drips bytes cannot hold it, and waiting fetches tie up no thread.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from propscope.document import Article
from propscope.errors import InputError


class FetchError(InputError):
    """A URL that is refused, cannot be fetched, or holds no article."""


@dataclass(frozen=True)
class FetchPolicy:
    timeout_seconds: float = 10.0  # for the whole fetch, redirects included
    max_bytes: int = 5_000_000  # of the page after decompression
    max_redirects: int = 5
    allow_private: bool = False


@dataclass(frozen=True)
class Page:
    """A fetched page: where it ended up after redirects, its body and its content type."""

    url: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Target:
    """A checked URL's parts: the host name to resolve and the port to connect to."""

    hostname: str
    port: int


def parse_url(url: str) -> Target:
    """The host and port an http(s) URL names, or a ``FetchError`` saying what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as err:  # "Invalid IPv6 URL", "Port out of range 0-65535", non-numeric ports
        raise FetchError(f"URL {url!r} is malformed: {err}") from None
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be fetched, not {parts.scheme or 'a bare path'!r}")
    if not parts.hostname:
        raise FetchError(f"URL {url!r} has no host")
    if "@" in parts.netloc:  # would be dropped when fetching, yet kept in the article's id and shown
        raise FetchError("URLs with a user name or password are refused: PropScope sends no credentials")
    if port == 0:
        raise FetchError(f"URL {url!r} names port 0")
    return Target(parts.hostname, port or (443 if parts.scheme == "https" else 80))


async def check_url(url: str, policy: FetchPolicy) -> str:
    """The address to connect to, after checking the URL and every address its host resolves to."""
    target = parse_url(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(target.hostname, target.port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError, ValueError):
        raise FetchError(f"cannot resolve host {target.hostname!r}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not policy.allow_private and (not address.is_global or address.is_multicast):
            raise FetchError(
                f"refusing {target.hostname!r}: it resolves to the non-public address {address} "
                "(start the server with --allow-private-urls to permit this)"
            )
    return str(addresses[0])


def _pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL aimed at the checked address, so a second DNS answer cannot redirect the connection.

    The Host header and the TLS server name keep the original host name.
    """
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = f"{host}:{parts.port}" if parts.port else host
    headers = {
        "Host": parts.netloc.rsplit("@", 1)[-1],
        "User-Agent": "PropScope/0.1 (article analysis)",
        "Accept-Encoding": "gzip, deflate",  # the encodings ``_Decoder`` can bound
    }
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" and parts.hostname else {}
    return parts._replace(netloc=netloc).geturl(), headers, extensions


class _Decoder:
    """Decompresses a body piece by piece, never producing more than the policy allows.

    httpx would inflate each network chunk whole, so a small gzip bomb could take hundreds of megabytes
    before any size check ran.
    """

    def __init__(self, encoding: str, url: str, max_bytes: int) -> None:
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise FetchError(f"{url} is sent with the unsupported content encoding {encoding!r}")
        self.url, self.max_bytes, self.body = url, max_bytes, bytearray()

    def feed(self, chunk: bytes) -> None:
        room = self.max_bytes - len(self.body)
        try:
            piece = chunk if self._zlib is None else self._zlib.decompress(chunk, room + 1)
        except zlib.error:
            raise FetchError(f"{self.url} sent a body that does not decompress") from None
        if len(piece) > room:
            raise FetchError(f"{self.url} is larger than {self.max_bytes} bytes")
        self.body.extend(piece)


def _redirect_target(url: str, location: str) -> str:
    try:
        return urljoin(url, location)
    except ValueError as err:
        raise FetchError(f"{url} redirects to the malformed URL {location!r}: {err}") from None


async def _download(url: str, policy: FetchPolicy) -> Page:
    """Follow redirects by hand, checking each hop."""
    async with httpx.AsyncClient(timeout=policy.timeout_seconds, follow_redirects=False) as client:
        for _ in range(policy.max_redirects + 1):
            target, headers, extensions = _pinned(url, await check_url(url, policy))
            async with client.stream("GET", target, headers=headers, extensions=extensions) as response:
                if response.is_redirect:
                    url = _redirect_target(url, response.headers.get("location", ""))
                    continue
                if response.status_code >= 400:
                    raise FetchError(f"{url} answered HTTP {response.status_code}")
                decoder = _Decoder(response.headers.get("content-encoding", ""), url, policy.max_bytes)
                async for chunk in response.aiter_raw():
                    decoder.feed(chunk)
                return Page(url, bytes(decoder.body), response.headers.get("content-type", ""))
    raise FetchError(f"{url}: more than {policy.max_redirects} redirects")


async def fetch_page(url: str, policy: FetchPolicy) -> Page:
    try:
        async with asyncio.timeout(policy.timeout_seconds):
            return await _download(url, policy)
    except TimeoutError:
        raise FetchError(f"{url} did not answer within {policy.timeout_seconds:g} seconds") from None
    except httpx.HTTPError as err:  # a bad Location header is one: httpx reads it even without following
        raise FetchError(f"cannot fetch {url}: {err.__class__.__name__} ({err})") from None


def page_article(page: Page) -> Article:
    """The article in a fetched page: plain text as it is, HTML through trafilatura's extraction."""
    if page.content_type.startswith("text/plain"):
        text = page.body.decode("utf-8", errors="replace")
        return Article(id=page.url, text=text, title=text.strip().split("\n", 1)[0][:300])
    import trafilatura

    document = trafilatura.bare_extraction(page.body, url=page.url, with_metadata=True, include_comments=False)
    text = (getattr(document, "text", None) or "").strip()
    if not text:
        raise FetchError(f"no article text found at {page.url}")
    title = (getattr(document, "title", None) or "").strip()
    return Article(id=page.url, text=f"{title}\n\n{text}" if title else text, title=title)
