"""gunicorn settings for production and for ``make bench`` (which serves its ceiling with them).

Override with the environment: WEB_CONCURRENCY (workers), GUNICORN_THREADS, BIND,
GUNICORN_TIMEOUT. See docs/operations.md.
"""

import multiprocessing
import os
import re

from gunicorn.glogging import Logger

# A set-password link's token, in a request line or in the Referer of the page's own requests.
_SECRET_PATH = re.compile(r"(/account/setup/)[^/?#\s\"]+")


class RedactingLogger(Logger):
    """gunicorn's logger, with set-password tokens cut out of access-log lines."""

    def atoms(self, resp, req, environ, request_time):
        """The access-log fields, tokens replaced by an ellipsis."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: _SECRET_PATH.sub(r"\1…", value) if isinstance(value, str) else value
            for key, value in atoms.items()
        }


bind = os.environ.get("BIND", "127.0.0.1:8000")
# One sync worker a core: the app's work is CPU-bound (templates, signatures) plus short queries.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
keepalive = 5
# Each worker imports the app itself: no database connection is ever shared across a fork.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
logger_class = RedactingLogger
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
# Behind a proxy (docs/operations.md): trust its X-Forwarded-* only from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
