"""Run localstripe (a stateful fake of Stripe's API) on 127.0.0.1:PORT, keeping its objects in memory.

Its own command listens on every interface and pickles its store to a fixed /tmp path after each write,
which concurrent test runs would share; this runs the same app on loopback only, in memory only.

localstripe ignores the `Idempotency-Key` header. Stripe answers a request that repeats a key with the first
request's answer instead of doing it again, and FlowTrack's promises of "charged once" rest on that, so this
server keeps that behaviour (per key, the first answer that was not a server error, as Stripe documents).
"""
import sys

from aiohttp import web
from localstripe import resources
from localstripe.server import app

resources.Store.dump_to_disk = lambda self: None

_first_answers: dict[str, tuple[int, bytes]] = {}


@web.middleware
async def idempotency(request, handler):
    key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or not key:
        return await handler(request)
    if key in _first_answers:
        status, body = _first_answers[key]
        return web.Response(status=status, body=body, content_type="application/json")
    response = await handler(request)
    if response.status < 500:
        _first_answers[key] = (response.status, response.body)
    return response


app.middlewares.insert(0, idempotency)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
