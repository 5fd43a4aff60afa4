"""A WSGI application that leaks, for trying pyheap on a prefork server.

Run it under Debian's gunicorn with three workers (examples/gunicorn/README.md):

    gunicorn -w 3 --pid /tmp/app/master.pid -b 127.0.0.1:8000 \
        --chdir examples/gunicorn leaky_app:app

GET /leak    keeps a Session of the request in a module-level list that
             nothing ever trims: the leak, one Session (with its __dict__
             and a 1 KiB payload) per request, in whichever worker served
             it; answers "PID N": the worker's PID and how many it keeps
GET /ok      answers and keeps nothing
GET /pid     answers the PID of the worker that served it
GET /sleep?s=N  keeps its worker busy for N seconds (at most 30)
"""
import os
import time

SESSIONS = []


class Session:
    def __init__(self, environ):
        self.path = environ.get("PATH_INFO", "")
        self.client = environ.get("REMOTE_ADDR", "")
        self.started = time.time()
        self.payload = "s" * 1024


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    body = b"ok\n"
    if path == "/leak":
        SESSIONS.append(Session(environ))
        body = b"%d %d\n" % (os.getpid(), len(SESSIONS))
    elif path == "/pid":
        body = b"%d\n" % os.getpid()
    elif path == "/sleep":
        query = environ.get("QUERY_STRING", "")
        seconds = float(query[2:]) if query.startswith("s=") else 1.0
        time.sleep(max(0.0, min(seconds, 30.0)))
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
