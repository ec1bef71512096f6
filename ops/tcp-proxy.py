#!/usr/bin/env python3
"""A round-robin TCP proxy for tests: one listening port in front of several
API processes, as a load balancer would put them. Each new client connection
goes to the next backend in turn (an HTTP keep-alive connection stays with
its backend, as with any layer-4 balancer); a backend that refuses the
connection is skipped for that connection.

Prints `listening <port>` once bound, then one `backend <host:port>` line per
connection it forwarded, so a test can see that every backend served.

    ops/tcp-proxy.py --listen 127.0.0.1:0 --backend 127.0.0.1:8081 --backend 127.0.0.1:8082
"""

import argparse
import asyncio
import itertools
import signal
import sys


def address(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


async def pipe(reader, writer):
    """Copies until EOF, then half-closes: the other direction may still
    carry an answer."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=address, required=True)
    parser.add_argument("--backend", type=address, action="append", required=True)
    args = parser.parse_args()
    turn = itertools.cycle(range(len(args.backend)))

    async def serve(client_reader, client_writer):
        first = next(turn)
        for i in range(len(args.backend)):
            host, port = args.backend[(first + i) % len(args.backend)]
            try:
                reader, writer = await asyncio.open_connection(host, port)
            except OSError:
                continue
            print(f"backend {host}:{port}", flush=True)
            try:
                await asyncio.gather(pipe(client_reader, writer), pipe(reader, client_writer))
            except asyncio.CancelledError:
                pass  # the proxy is stopping
            writer.close()
            break
        client_writer.close()

    server = await asyncio.start_server(serve, *args.listen)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    # Connections still open end with the proxy, quietly.
    pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
