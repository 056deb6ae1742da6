"""The HTTP interface: a FastAPI app with a JSON API and an offline web page."""

from propscope.server.app import ServerSettings, create_app
from propscope.server.fetch import FetchPolicy

__all__ = ["FetchPolicy", "ServerSettings", "create_app"]
