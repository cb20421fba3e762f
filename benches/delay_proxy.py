"""An HTTP/1.1 proxy for benchmarks that makes a loopback S3 server answer conditional writes as
slowly as AWS S3 does: each request carrying `If-None-Match` or `If-Match` (a Delta commit, a
claim) waits DELAY_MS before it is sent on; every other request passes at once.

    python3 delay_proxy.py LISTEN_PORT UPSTREAM_HOST:PORT DELAY_MS [REQUEST_LOG]

Prints `delay_proxy: listening on PORT` once ready, and on SIGTERM how many requests it
delayed. With REQUEST_LOG, appends each request's time and first line there (and
`conditional` when it was delayed), to count what an upload asks of the store. Bodies are
forwarded by Content-Length or chunked transfer coding; responses byte for byte.
"""

import asyncio
import signal
import socket
import sys
import time

delayed = 0
passed = 0
request_log = None


async def pipe(reader, writer, quick_ack=None):
    """Forwards `reader` to `writer`. With `quick_ack` (the reading socket), acknowledges
    each segment at once: a loopback server that writes a response's head and body apart
    without TCP_NODELAY (s3s-fs) otherwise waits out Linux's delayed ACK, 40 ms, for most
    responses of more than a few bytes, which AWS S3 does not make its clients wait."""
    # Linux only; elsewhere the proxy forwards as it is.
    quick = getattr(socket, "TCP_QUICKACK", None)
    try:
        while True:
            if quick_ack is not None and quick is not None:
                quick_ack.setsockopt(socket.IPPROTO_TCP, quick, 1)
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()


async def forward_body(head, reader, writer):
    """Sends on the request body `head` announces."""
    fields = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        fields[name.strip().lower()] = value.strip().lower()
    if fields.get(b"transfer-encoding") == b"chunked":
        while True:
            size_line = await reader.readuntil(b"\r\n")
            writer.write(size_line)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while (trailer := await reader.readuntil(b"\r\n")) != b"\r\n":
                    writer.write(trailer)
                writer.write(b"\r\n")
                return
            writer.write(await reader.readexactly(size + 2))
            await writer.drain()
    length = int(fields.get(b"content-length", b"0"))
    while length > 0:
        chunk = await reader.read(min(length, 65536))
        if not chunk:
            raise ConnectionError("client closed mid-body")
        writer.write(chunk)
        await writer.drain()
        length -= len(chunk)


async def requests(client, upstream, delay):
    global delayed, passed
    try:
        while True:
            head = await client.readuntil(b"\r\n\r\n")
            lowered = head.lower()
            conditional = b"\r\nif-none-match:" in lowered or b"\r\nif-match:" in lowered
            if request_log:
                line = head.split(b"\r\n", 1)[0].decode(errors="replace")
                mark = " conditional" if conditional else ""
                print(f"{time.time():.6f} {line}{mark}", file=request_log, flush=True)
            if conditional:
                delayed += 1
                await asyncio.sleep(delay)
            else:
                passed += 1
            upstream.write(head)
            await forward_body(head, client, upstream)
            await upstream.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
        pass
    finally:
        upstream.close()


async def serve(port, host, upstream_port, delay):
    async def connection(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(host, upstream_port)
        except OSError as error:
            print(f"delay_proxy: upstream {host}:{upstream_port}: {error}", flush=True)
            client_writer.close()
            return
        await asyncio.gather(
            requests(client_reader, up_writer, delay),
            pipe(up_reader, client_writer, up_writer.get_extra_info("socket")),
            return_exceptions=True,
        )

    server = await asyncio.start_server(connection, "127.0.0.1", port)
    print(f"delay_proxy: listening on {port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    async with server:
        await stop.wait()
    print(f"delay_proxy: delayed {delayed} requests, passed {passed}", flush=True)


def main():
    global request_log
    port, upstream, delay_ms = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    if len(sys.argv) > 4:
        request_log = open(sys.argv[4], "a")
    host, _, upstream_port = upstream.partition(":")
    asyncio.run(serve(port, host, int(upstream_port), delay_ms / 1000))


if __name__ == "__main__":
    main()
