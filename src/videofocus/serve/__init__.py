"""`videofocus serve`: the perception loop behind an OpenAI-compatible API, with a web page that
shows each round. `create_app(backend, settings)` builds the app for any backend (a scripted one in
tests); `running_server(app)` runs it on a loopback port for as long as a `with` block lasts."""

from videofocus.serve.app import create_app
from videofocus.serve.server import running_server
from videofocus.serve.settings import ServeSettings

__all__ = ["ServeSettings", "create_app", "running_server"]
