"""Preview the built site on localhost (``cegbench site --serve``)."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path


def serve(folder: Path, port: int, say=print) -> None:
    """Serve ``folder`` at http://127.0.0.1:``port``/ until Ctrl-C; ``say`` shows where."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
        say(f"serving {folder}/ at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
