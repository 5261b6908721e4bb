"""gunicorn settings for production and for ``make bench`` (which serves its ceiling with them).

Override with the environment: WEB_CONCURRENCY (workers), GUNICORN_THREADS, BIND,
GUNICORN_TIMEOUT. See docs/operations.md.
"""

import multiprocessing
import os

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
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
# Behind a proxy (docs/operations.md): trust its X-Forwarded-* only from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
