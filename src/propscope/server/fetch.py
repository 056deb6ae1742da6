"""Fetching an article from a URL safely: http(s) only, public addresses only, bounded time and size.

Every redirect hop is checked again, so a public page cannot bounce the server to a private one.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from propscope.document import Article
from propscope.errors import InputError


class FetchError(InputError):
    """A URL that is refused, cannot be fetched, or holds no article."""


@dataclass(frozen=True)
class FetchPolicy:
    timeout_seconds: float = 10.0
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    allow_private: bool = False


def check_url(url: str, policy: FetchPolicy) -> str:
    """The address to connect to, after checking the scheme and every address the host resolves to."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be fetched, not {parts.scheme or 'a bare path'!r}")
    if not parts.hostname:
        raise FetchError(f"URL {url!r} has no host")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise FetchError(f"cannot resolve host {parts.hostname!r}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    for address in addresses:
        if not policy.allow_private and (not address.is_global or address.is_multicast):
            raise FetchError(
                f"refusing {parts.hostname!r}: it resolves to the non-public address {address} "
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
    headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": "PropScope/0.1 (article analysis)"}
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" and parts.hostname else {}
    return parts._replace(netloc=netloc).geturl(), headers, extensions


def _download(url: str, policy: FetchPolicy) -> tuple[str, bytes, str]:
    """Follow redirects by hand, checking each hop; return the final URL, body and content type."""
    with httpx.Client(timeout=policy.timeout_seconds, follow_redirects=False) as client:
        for _ in range(policy.max_redirects + 1):
            target, headers, extensions = _pinned(url, check_url(url, policy))
            with client.stream("GET", target, headers=headers, extensions=extensions) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers.get("location", ""))
                    continue
                if response.status_code >= 400:
                    raise FetchError(f"{url} answered HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > policy.max_bytes:
                        raise FetchError(f"{url} is larger than {policy.max_bytes} bytes")
                return url, bytes(body), response.headers.get("content-type", "")
    raise FetchError(f"{url}: more than {policy.max_redirects} redirects")


def fetch_article(url: str, policy: FetchPolicy) -> Article:
    try:
        final_url, body, content_type = _download(url, policy)
    except httpx.TimeoutException:
        raise FetchError(f"{url} did not answer within {policy.timeout_seconds:g} seconds") from None
    except httpx.HTTPError as err:
        raise FetchError(f"cannot fetch {url}: {err.__class__.__name__}") from None
    if content_type.startswith("text/plain"):
        text = body.decode("utf-8", errors="replace")
        return Article(id=final_url, text=text, title=text.strip().split("\n", 1)[0][:300])
    return extract_article(body, final_url)


def extract_article(html: bytes, url: str) -> Article:
    import trafilatura

    document = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    text = (getattr(document, "text", None) or "").strip()
    if not text:
        raise FetchError(f"no article text found at {url}")
    title = (getattr(document, "title", None) or "").strip()
    return Article(id=url, text=f"{title}\n\n{text}" if title else text, title=title)
