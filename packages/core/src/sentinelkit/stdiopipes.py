"""``sentinelkit serve`` over stdio on asyncio pipes, where it can.

The mcp SDK's stdio transport reads every line of stdin, and writes and flushes every answer, in a worker
thread (anyio's ``AsyncFile``): three thread hand-offs a tool call, ~0.5 ms of the server's CPU and ~0.7 ms
of latency each (``benchmarks/overhead.py``). When stdin and stdout are pipes or sockets (how MCP clients
start a server) on a POSIX system, the same SDK transport, which still frames and parses the messages, is
given asyncio pipe streams instead. Like the SDK, the wire first moves to private descriptors: fd 0 then
reads the null device and fd 1 writes to stderr, so a library's stray ``print`` or a child process cannot
corrupt the protocol. Elsewhere (Windows, stdin from a file or a terminal) the SDK's own transport serves.

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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from .log import enabled, logger

#: longest line read (the SDK's transport has no limit; a tool's arguments may be a whole workbook)
LINE_LIMIT = 1 << 30
#: seconds that requests read before stdin ended may take to be answered
EOF_GRACE = 30.0


def usable() -> bool:
    """Whether stdin and stdout are pipes or sockets on a POSIX system (what asyncio pipes can serve)."""
    if sys.platform == "win32":
        return False
    try:
        modes = [os.fstat(fd).st_mode for fd in (0, 1)]
    except OSError:
        return False
    return all(stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) for mode in modes)


def run(mcp: Any) -> None:
    """Serve ``mcp`` over stdio until stdin closes: on asyncio pipes when ``usable``, else as FastMCP does."""
    import fastmcp.server.mixins.transport as fastmcp_transport
    from mcp.server.stdio import stdio_server

    fast = usable() and getattr(fastmcp_transport, "stdio_server", None) is stdio_server
    if enabled(logging.DEBUG):  # structlog is not imported at start-up otherwise
        logger().debug("stdio_transport", transport="asyncio pipes" if fast else "mcp SDK (threads)")
    if fast:  # FastMCP's own stdio run (lifespan, logging, session), with these streams under it
        fastmcp_transport.stdio_server = pipe_stdio  # type: ignore[attr-defined,assignment]
    mcp.run(transport="stdio", show_banner=False)


@asynccontextmanager
async def pipe_stdio() -> AsyncIterator[Any]:
    """The SDK's ``stdio_server`` (read and write streams of messages) on asyncio pipes to the wire."""
    from mcp.server.stdio import stdio_server

    loop = asyncio.get_running_loop()
    saved_in, saved_out = os.dup(0), os.dup(1)  # the wire, put back on fd 0 and 1 at the end
    transports: list[asyncio.BaseTransport] = []
    try:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(2, 1)
        reader = asyncio.StreamReader(limit=LINE_LIMIT)
        read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                         os.fdopen(os.dup(saved_in), "rb", buffering=0))
        transports.append(read_transport)
        write_transport, write_protocol = await loop.connect_write_pipe(
            lambda: asyncio.StreamReaderProtocol(asyncio.StreamReader()),
            os.fdopen(os.dup(saved_out), "wb", buffering=0))
        transports.append(write_transport)
        writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
        pending = _Pending()
        async with stdio_server(_Lines(reader, pending), _Out(writer, pending)) as streams:  # type: ignore[arg-type]
            yield streams
    finally:
        for saved, fd in ((saved_in, 0), (saved_out, 1)):
            try:  # blocking again: asyncio made the wire non-blocking, and a parent shell may share it
                os.dup2(saved, fd)
                os.set_blocking(fd, True)
            except OSError:
                pass
            os.close(saved)
        for transport in transports:
            transport.close()


class _Pending:
    """Ids of the requests read and not answered yet (``_Lines`` adds, ``_Out`` removes)."""

    def __init__(self) -> None:
        self.ids: dict[str, None] = {}
        self.answered = asyncio.Event()

    def read(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            return
        if isinstance(message, dict) and "method" in message and message.get("id") is not None:
            self.ids[_RESPONSE_HEAD.format(json.dumps(message["id"], separators=(",", ":")))] = None

    def written(self, text: str) -> None:
        for head in self.ids:  # the SDK writes an answer as {"jsonrpc":"2.0","id":...,"result"|"error":...}
            if text.startswith(head) and text[len(head):len(head) + 9] in ('"result":', '"error":{'):
                del self.ids[head]
                self.answered.set()
                return

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


_RESPONSE_HEAD = '{{"jsonrpc":"2.0","id":{},'


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
        except ValueError:  # longer than LINE_LIMIT: dropped, and the SDK answers a parse error
            return "\n"
        if not line:
            await self._pending.drained()
            raise StopAsyncIteration
        self._pending.read(line)
        return line.decode("utf-8", errors="replace")


class _Out:
    """stdout as the SDK writes it: ``write`` a message and its newline, then ``flush`` (waits while the
    client is not reading, instead of buffering without bound)."""

    def __init__(self, writer: asyncio.StreamWriter, pending: _Pending) -> None:
        self._writer = writer
        self._pending = pending

    async def write(self, text: str) -> None:
        if self._pending.ids:
            self._pending.written(text)
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()
