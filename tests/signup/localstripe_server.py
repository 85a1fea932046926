"""Run localstripe (a stateful fake of Stripe's API) on 127.0.0.1:PORT, keeping its objects in memory.

Its own command listens on every interface and pickles its store to a fixed /tmp path after each write,
which concurrent test runs would share; this runs the same app on loopback only, in memory only.
"""
import sys

from aiohttp import web
from localstripe import resources
from localstripe.server import app

resources.Store.dump_to_disk = lambda self: None

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
