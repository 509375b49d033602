"""``sentinelkit serve`` over stdio on asyncio pipes, where it can.

The mcp SDK's stdio transport reads every line of stdin, and writes and flushes every answer, in a worker
thread (anyio's ``AsyncFile``): three thread hand-offs a tool call, ~0.5 ms of the server's CPU and ~0.7 ms
of latency each (``benchmarks/overhead.py``). When stdin and stdout are pipes (how MCP clients start a
server) on a POSIX system, the same SDK transport, which still frames and parses the messages, is given
asyncio pipe streams instead. Like the SDK, the wire first moves to private descriptors: fd 0 then reads the
null device and fd 1 writes to stderr, so a library's stray ``print`` or a child process cannot corrupt the
protocol. Elsewhere (Windows; stdin or stdout a file, a terminal or a socket) the SDK's own transport serves.

When stdin ends (the client's way to stop a server), requests already read are answered first, for up to
``EOF_GRACE`` seconds: ``printf '...' | sentinelkit serve`` gets its answers. (The SDK's threads made that a
race: the end of a pipe usually arrived after a quick answer.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import sys
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from .log import enabled, logger

#: longest line read (the SDK's transport has none; a tool's arguments may carry a whole workbook)
LINE_LIMIT = 256 << 20
#: seconds that requests read before stdin ended may take to be answered
EOF_GRACE = 30.0


def usable() -> bool:
    """Whether stdin and stdout are pipes on a POSIX system. (A socket is left to the SDK: asyncio takes data
    arriving on a socket it writes to for the peer closing it.)"""
    if sys.platform == "win32":
        return False
    try:
        return all(stat.S_ISFIFO(os.fstat(fd).st_mode) for fd in (0, 1))
    except OSError:
        return False


def run(mcp: Any) -> None:
    """Serve ``mcp`` over stdio until stdin closes: on asyncio pipes when ``usable``, else as FastMCP does."""
    import fastmcp.server.mixins.transport as fastmcp_transport
    from mcp.server.stdio import stdio_server

    fast = usable() and getattr(fastmcp_transport, "stdio_server", None) is stdio_server
    if enabled(logging.DEBUG):  # structlog is not imported at start-up otherwise
        logger().debug("stdio_transport", transport="asyncio pipes" if fast else "mcp SDK (threads)")
    if not fast:
        mcp.run(transport="stdio", show_banner=False)
        return
    # FastMCP's own stdio run (lifespan, logging, session), with these streams under it
    fastmcp_transport.stdio_server = pipe_stdio  # type: ignore[attr-defined,assignment]
    try:
        mcp.run(transport="stdio", show_banner=False)
    finally:
        fastmcp_transport.stdio_server = stdio_server  # type: ignore[attr-defined]


@asynccontextmanager
async def pipe_stdio() -> AsyncIterator[Any]:
    """The SDK's ``stdio_server`` (read and write streams of messages) on asyncio pipes to the wire."""
    import fcntl

    from mcp.server.stdio import stdio_server

    def private(fd: int) -> int:  # a duplicate above the standard descriptors, not inherited by children
        return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)

    loop = asyncio.get_running_loop()
    saved: dict[int, int] = {}  # std fd -> the wire, put back at the end
    transports: list[asyncio.WriteTransport | asyncio.ReadTransport] = []
    writer: asyncio.StreamWriter | None = None
    try:
        for fd in (0, 1):
            saved[fd] = private(fd)
        _divert(0, os.O_RDONLY, None)
        _divert(1, os.O_WRONLY, 2)
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                         os.fdopen(private(saved[0]), "rb", buffering=0))
        transports.append(read_transport)
        write_transport, write_protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader()),
            os.fdopen(private(saved[1]), "wb", buffering=0))
        transports.append(write_transport)
        write_transport.set_write_buffer_limits(high=0)  # a flush waits until the answer is in the pipe
        writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
        pending = _Pending()
        async with stdio_server(_Lines(reader, pending), _Out(writer, pending)) as streams:  # type: ignore[arg-type]
            yield streams
    finally:
        if writer is not None:  # what is still buffered goes out before the wire is handed back
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 5)
            except BaseException:  # failed or cancelled: the descriptors are put back all the same
                pass
        for transport in transports:
            transport.close()
        for fd, wire in saved.items():
            with suppress(OSError):  # blocking again: asyncio made the wire non-blocking; a parent may share it
                os.dup2(wire, fd)
                os.set_blocking(fd, True)
            os.close(wire)


def _divert(fd: int, mode: int, to: int | None) -> None:
    """Point ``fd`` at descriptor ``to`` (the null device when it is None or closed)."""
    if to is not None:
        with suppress(OSError):
            os.dup2(to, fd)
            return
    null = os.open(os.devnull, mode)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


class _Pending:
    """Requests read and not answered yet, by id (``_Lines`` counts them in, ``_Out`` out)."""

    def __init__(self) -> None:
        self.ids: Counter[int | str] = Counter()
        self.answered = asyncio.Event()

    def read(self, line: bytes) -> None:
        """Count a request the SDK will answer: JSON-RPC 2.0, a method, an int or string id, object params.
        A cancelled one is never answered (MCP: the receiver does not respond)."""
        try:
            message = json.loads(line)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" \
                or not isinstance(message.get("method"), str) or not isinstance(message.get("params", {}), dict):
            return
        if message["method"] == "notifications/cancelled":
            self._settle(message.get("params", {}).get("requestId"))
        elif type(message.get("id")) in (int, str):
            self.ids[message["id"]] += 1

    def written(self, text: str) -> None:
        """The SDK writes an answer as ``{"jsonrpc":"2.0","id":<id>,"result"|"error":...}``."""
        if not text.startswith(_HEAD):
            return
        try:
            value, end = _DECODER.raw_decode(text, len(_HEAD))
        except ValueError:
            return
        if text.startswith((',"result":', ',"error":'), end):
            self._settle(value)

    def _settle(self, request_id: Any) -> None:
        if type(request_id) in (int, str) and self.ids[request_id] > 0:
            self.ids[request_id] -= 1
            if not self.ids[request_id]:
                del self.ids[request_id]
            self.answered.set()

    async def drained(self) -> None:
        """Once every request read is answered, or ``EOF_GRACE`` seconds have passed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + EOF_GRACE
        while self.ids and loop.time() < deadline:
            self.answered.clear()
            try:
                await asyncio.wait_for(self.answered.wait(), deadline - loop.time())
            except TimeoutError:
                return


_HEAD = '{"jsonrpc":"2.0","id":'
_DECODER = json.JSONDecoder()


class _Lines:
    """stdin as the SDK reads it: ``async for line in stdin`` (text, one JSON-RPC message a line)."""

    def __init__(self, reader: asyncio.StreamReader, pending: _Pending) -> None:
        self._reader = reader
        self._pending = pending

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._reader.readline()
        except ValueError:  # longer than LINE_LIMIT: dropped, and the SDK logs a parse error
            return "\n"
        if not line:
            await self._pending.drained()
            raise StopAsyncIteration
        self._pending.read(line)
        return line.decode("utf-8", errors="replace")


class _Out:
    """stdout as the SDK writes it: ``write`` a message and its newline, then ``flush``, which waits until it
    is in the pipe (as the SDK's flush does)."""

    def __init__(self, writer: asyncio.StreamWriter, pending: _Pending) -> None:
        self._writer = writer
        self._pending = pending

    async def write(self, text: str) -> None:
        if self._pending.ids:
            self._pending.written(text)
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()
