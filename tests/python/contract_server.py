"""The `/socket.io/` half of the conformance contract (docs/PROGRAMS.md, `conformance`) on python-socketio.

Usage: PORT=3000 python tests/python/contract_server.py   (PORT=0 picks a free port)

Prints one line ending with `listening on 127.0.0.1:<port>` once it accepts connections, and exits
with status 0 on SIGINT or SIGTERM. A second stand-in server next to tests/js/contract_server.mjs:
the client probe (`client_probe`) and the interop clients run against both.

Runs `socketio.AsyncServer` in ASGI mode under uvicorn, in the virtualenv that scripts/test.sh
creates from tests/python/requirements.txt.

Where python-socketio 5.18 cannot do what the contract says, this file says so:

- Ping interval. python-engineio takes it in seconds and advertises
  `int(ping_interval) * 1000` in the handshake, so 0.3 s would be announced as `pingInterval: 0`
  and clients would time out. The closest value it advertises truthfully is 1 s; that is used.
  The ping timeout (0.2 s) is advertised as 200 ms, as the contract asks.
- Connect timeout. python-socketio has no such option; the `ContractServer` subclass below closes
  an engine session that has joined no namespace 1 s after it opened.
- Unknown namespaces. By default python-socketio refuses them with CONNECT_ERROR
  `"Unable to connect"` (a bare string); accepting every namespace and refusing the unknown ones
  in a catch-all connect handler gives the contract's `{"message":"Invalid namespace"}`.
- Emitting from a connect handler. With `always_connect=False` the CONNECT reply is sent after
  the handler returns, so the `auth` event is emitted by a task that waits for the namespace
  connection to be complete.
- `request-ack`. python-socketio's emit callbacks have no timeout; the server waits for the
  client's answer as long as the socket lives (the contract asks for at least 1 s).
- aiohttp mode is not used: python-engineio reads a long-polling POST body there with a single
  `StreamReader.read(length)`, which can return part of a large body (a 300 kB POST arrived cut
  off and failed to decode; python-socketio issue #368 reports the same). The ASGI driver reads
  the whole body.
- Polling responses. python-engineio puts every queued packet in one GET response (it does not
  cap them at 16); the test clients keep their bursts small enough for this not to matter.
"""

import asyncio
import contextlib
import os
import signal
import socket
import sys
from importlib import metadata

import socketio
import uvicorn

HOST = "127.0.0.1"
PING_INTERVAL_S = 1  # see the module docstring: 0.3 would be advertised as 0
PING_TIMEOUT_S = 0.2
MAX_PAYLOAD = 1_000_000
CONNECT_TIMEOUT_S = 1.0
# How long to wait for a just-accepted namespace connection to become complete.
CONNECTED_WAIT_S = 2.0


class ContractServer(socketio.AsyncServer):
    """An AsyncServer that closes engine sessions which never join a namespace."""

    async def _handle_eio_connect(self, eio_sid, environ):
        await super()._handle_eio_connect(eio_sid, environ)
        self.start_background_task(self._enforce_connect_timeout, eio_sid)

    async def _enforce_connect_timeout(self, eio_sid):
        await asyncio.sleep(CONNECT_TIMEOUT_S)
        if eio_sid not in self.environ:
            return  # the engine session is already gone
        joined = any(
            self.manager.sid_from_eio_sid(eio_sid, namespace) is not None
            for namespace in list(self.manager.get_namespaces())
        )
        if not joined:
            await self.eio.disconnect(eio_sid)


sio = ContractServer(
    async_mode="asgi",
    ping_interval=PING_INTERVAL_S,
    ping_timeout=PING_TIMEOUT_S,
    max_http_buffer_size=MAX_PAYLOAD,
    # Accept every namespace here and refuse unknown ones in the catch-all connect handler.
    namespaces="*",
    # Handle a client's events one after the other, in arrival order, like the Node server.
    # No handler waits for the client, so this cannot stall a connection.
    async_handlers=False,
    cors_allowed_origins="*",
)


def emit_once_connected(sid, namespace, event, data):
    """Emit `event` to `sid` as soon as its connection to `namespace` is complete."""

    async def emit_later():
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CONNECTED_WAIT_S
        await asyncio.sleep(0)
        while not sio.manager.is_connected(sid, namespace):
            if sio.manager.eio_sid_from_sid(sid, namespace) is None or loop.time() > deadline:
                return  # refused or already gone
            await asyncio.sleep(0.005)
        await sio.emit(event, data, to=sid, namespace=namespace)

    sio.start_background_task(emit_later)


def serve_echo_namespace(namespace):
    """`/` and `/custom`: auth echo, `message` → `message-back`, `message-with-ack` → ack."""

    async def connect(sid, environ, auth):
        # python-socketio passes None when the CONNECT packet had no payload.
        emit_once_connected(sid, namespace, "auth", auth if auth is not None else {})

    async def message(sid, *args):
        await sio.emit("message-back", args, to=sid, namespace=namespace)

    async def message_with_ack(sid, *args):
        # A returned tuple becomes the ack's argument list (an empty one for no args).
        return args

    sio.on("connect", connect, namespace=namespace)
    sio.on("message", message, namespace=namespace)
    sio.on("message-with-ack", message_with_ack, namespace=namespace)


for name in ("/", "/custom"):
    serve_echo_namespace(name)


@sio.on("connect", namespace="*")
async def refuse_unknown_namespace(namespace, sid, environ, auth):
    raise socketio.exceptions.ConnectionRefusedError("Invalid namespace")


CHAT = "/chat"


@sio.on("connect", namespace=CHAT)
async def chat_connect(sid, environ, auth):
    if not isinstance(auth, dict) or auth.get("token") != "secret":
        # Becomes CONNECT_ERROR {"message":"unauthorized"}.
        raise socketio.exceptions.ConnectionRefusedError("unauthorized")
    emit_once_connected(sid, CHAT, "auth", auth)


@sio.on("echo", namespace=CHAT)
async def chat_echo(sid, *args):
    await sio.emit("echo", args, to=sid, namespace=CHAT)


@sio.on("echo-ack", namespace=CHAT)
async def chat_echo_ack(sid, *args):
    return args


@sio.on("join", namespace=CHAT)
async def chat_join(sid, room=None, *_):
    await sio.enter_room(sid, room, namespace=CHAT)
    return room


@sio.on("leave", namespace=CHAT)
async def chat_leave(sid, room=None, *_):
    await sio.leave_room(sid, room, namespace=CHAT)
    return room


@sio.on("to-room", namespace=CHAT)
async def chat_to_room(sid, room=None, *args):
    await sio.emit("room-message", args, room=room, skip_sid=sid, namespace=CHAT)
    return "ok"


@sio.on("request-ack", namespace=CHAT)
async def chat_request_ack(sid, *args):
    async def on_reply(*reply):
        await sio.emit("ack-result", reply, to=sid, namespace=CHAT)

    await sio.emit("ack-request", args, to=sid, namespace=CHAT, callback=on_reply)


@sio.on("disconnect-me", namespace=CHAT)
async def chat_disconnect_me(sid, *_):
    # Leaves only `/chat`; the engine connection and the client's other namespaces stay up.
    await sio.disconnect(sid, namespace=CHAT)


@sio.on("disconnect", namespace=CHAT)
async def chat_disconnect(sid, reason):
    await sio.emit("peer-left", sid, namespace=CHAT, skip_sid=sid)


class ContractUvicorn(uvicorn.Server):
    """A uvicorn server that stops on SIGINT/SIGTERM and then exits with status 0.

    uvicorn's own signal handling re-raises the signal once it has shut down, which would end the
    process with a signal status; this one only asks the serve loop to stop.
    """

    @contextlib.contextmanager
    def capture_signals(self):
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.begin_shutdown)
        yield

    def begin_shutdown(self):
        if getattr(self, "_closing", False):
            self.force_exit = True
            return
        self._closing = True
        sys.stderr.write("contract_server: shutting down\n")

        async def close_sessions():
            # Close every engine session first, so that no long-polling request or WebSocket
            # holds the shutdown; give up on that after a second.
            try:
                await asyncio.wait_for(sio.eio.disconnect(), 1.0)
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
            self.should_exit = True

        asyncio.get_running_loop().create_task(close_sessions())


async def serve(port):
    # Bind first, so that PORT=0 yields the chosen port before uvicorn starts.
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, port))
    listener.listen(1024)
    bound = listener.getsockname()[1]

    config = uvicorn.Config(
        socketio.ASGIApp(sio, socketio_path="socket.io"),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = ContractUvicorn(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    while not server.started:
        if serving.done():
            serving.result()  # startup failed: raise its error
            raise OSError("uvicorn stopped during startup")
        await asyncio.sleep(0.01)

    version = metadata.version("python-socketio")
    print(f"contract_server (python-socketio {version}) listening on {HOST}:{bound}", flush=True)
    try:
        await serving
    finally:
        await asyncio.wait_for(sio.shutdown(), 1.0)


def main():
    raw = os.environ.get("PORT", "3000")
    try:
        port = int(raw)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        sys.stderr.write(f"contract_server: bad PORT {raw!r}\n")
        sys.exit(2)
    try:
        asyncio.run(serve(port))
    except OSError as err:
        sys.stderr.write(f"contract_server: {err}\n")
        sys.exit(1)
    sys.stdout.flush()
    # Leftover transport tasks must not keep the process alive past a signal.
    os._exit(0)


if __name__ == "__main__":
    main()
