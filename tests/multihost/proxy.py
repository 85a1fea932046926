"""A small round-robin TCP proxy in front of the web hosts: each client connection goes to the next host in turn.

gunicorn's sync workers close the connection after each response, so turn by connection is turn by request. It
passes bytes through untouched (no X-Forwarded-For), as a layer-4 load balancer does.

    python -m tests.multihost.proxy LISTEN_HOST:PORT UPSTREAM_HOST:PORT [UPSTREAM_HOST:PORT ...]
"""
from __future__ import annotations

import asyncio
import itertools
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def serve(listen: tuple[str, int], upstreams: list[tuple[str, int]]) -> None:
    turn = itertools.cycle(upstreams)

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            host_reader, host_writer = await asyncio.open_connection(*next(turn))
        except OSError:
            client_writer.close()  # the host is down: the client sees the connection close, as behind a real one
            return
        await asyncio.gather(_pipe(client_reader, host_writer), _pipe(host_reader, client_writer))

    server = await asyncio.start_server(handle, *listen, backlog=1024)
    async with server:
        await server.serve_forever()


def _address(text: str) -> tuple[str, int]:
    host, port = text.rsplit(":", 1)
    return host, int(port)


if __name__ == "__main__":
    asyncio.run(serve(_address(sys.argv[1]), [_address(a) for a in sys.argv[2:]]))
