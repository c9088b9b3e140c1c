"""One node of a python-socketio cluster on a message bus (docs/PROGRAMS.md, `cluster_node`).

Usage:
    python tests/python/cluster_node.py --redis redis://127.0.0.1:6390/0 [--port 0] [--channel socketio]
    python tests/python/cluster_node.py --amqp amqp://guest:guest@127.0.0.1:5672// [--port 0] [--channel socketio]

`--port 0` picks a free port (the default is `$PORT`, else 0). Prints one line ending with
`listening on 127.0.0.1:<port>` once the node accepts connections *and* its bus subscription is
live, and exits with status 0 on SIGINT or SIGTERM.

The reference for our own cluster node: the `/`, `/custom` and `/chat` contract of `conformance` served by
`socketio.AsyncServer` with `socketio.AsyncRedisManager` or `socketio.AsyncAioPikaManager`, so
that any number of these processes (and ours) on one bus behave as one server. The `conformance` handlers are
those of tests/python/contract_server.py, imported and given the pub/sub manager (the same
`set_server` call that `AsyncServer.__init__` makes); they are already cluster-wide as `cluster_node` asks:

- every socket is in the room named by its sid (python-socketio does that on connect), so
  `to-room` with a sid as the room reaches that socket on whichever node it is;
- `to-room` is `emit("room-message", args, room=room, skip_sid=sid)`: published on the bus with
  `"skip_sid": "<sender sid>"` (a string, not a list);
- `disconnect-me` disconnects locally (the socket is on this node);
- `peer-left` is `emit("peer-left", sid, skip_sid=sid)` to the whole namespace (`"room": null`).

Heartbeat: pings every 1 s as in contract_server.py, but a ping timeout of 5 s instead of `conformance`'s
200 ms (see `PING_TIMEOUT_S`).

This file adds `request-ack-to` (sid, …args): `emit("ack-request", args, to=sid, callback=…)`.
Across nodes python-socketio publishes the emit with `"callback": [sid, "/chat", id]`; the node
holding `sid` answers with a `{"method": "callback", "host_id": <this node>, …}` message, and the
callback here emits `ack-result` (…reply) to the requester. Callback arguments travel as plain
JSON (no placeholders): a reply with binary cannot cross nodes in python-socketio (the publish
fails on the bytes, is logged and dropped, and `ack-result` never comes).

Note that python-socketio publishes every emit, also one addressed to a single sid (`auth`,
`echo`, `message-back`, …): the other nodes receive it and find nobody in that room.

Readiness. python-socketio starts listening on the bus only when the first client connects, so a
node that has just got its first client can miss messages published in the next few
milliseconds. This node starts the listener at startup and prints its ready line only after one
of its own messages has come back through the bus: an `emit` to a room nobody is in
(`cluster-node-ready-<host id>…` on `/`), which every node delivers to nobody.
"""

import argparse
import asyncio
import os
import signal
import socket
import sys
import uuid
from importlib import metadata

import socketio
import uvicorn

# tests/python is on sys.path when this file is run as a script.
import contract_server as contract

HOST = contract.HOST
READY_TIMEOUT_S = 30.0
PROBE_EVERY_S = 0.5


def probed(manager_class):
    """`manager_class` whose bus listener reports when a message containing `probe_room` arrives."""

    class Probed(manager_class):
        probe_room = None
        probe_seen = None  # an asyncio.Event, made inside the running loop

        async def _listen(self):
            async for message in super()._listen():
                room = self.probe_room
                if room is not None and self.probe_seen is not None:
                    raw = message if isinstance(message, (bytes, bytearray)) else str(message).encode()
                    if room.encode() in raw:
                        self.probe_seen.set()
                yield message

    Probed.__name__ = f"Probed{manager_class.__name__}"
    return Probed


def make_manager(args):
    if args.redis:
        return probed(socketio.AsyncRedisManager)(args.redis, channel=args.channel), "redis"
    return probed(socketio.AsyncAioPikaManager)(args.amqp, channel=args.channel), "amqp"


sio = contract.sio
CHAT = contract.CHAT

# `cluster_node` is about the bus, not heartbeats: `conformance`'s 200 ms ping timeout made busy machines (several
# nodes and check runs on two cores) drop clients with "ping timeout". Pings stay 1 s apart.
PING_TIMEOUT_S = 5
sio.eio.ping_timeout = PING_TIMEOUT_S


@sio.on("request-ack-to", namespace=CHAT)
async def chat_request_ack_to(sid, target=None, *args):
    async def on_reply(*reply):
        await sio.emit("ack-result", reply, to=sid, namespace=CHAT)

    if not isinstance(target, str):
        return  # nothing to address
    await sio.emit("ack-request", args, to=target, namespace=CHAT, callback=on_reply)


async def wait_for_bus(manager, serving):
    """Start the bus listener now and wait until one of our own messages comes back through it.

    Returns False when the web server stopped first (a signal during the wait)."""
    manager.probe_room = f"cluster-node-ready-{manager.host_id}-{uuid.uuid4().hex[:8]}"
    manager.probe_seen = asyncio.Event()
    sio.manager_initialized = True
    manager.initialize()  # starts the listening task
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    while not manager.probe_seen.is_set():
        if serving.done():
            return False
        if loop.time() > deadline:
            raise OSError(f"the bus did not deliver our own message within {READY_TIMEOUT_S:.0f} s")
        try:
            # Nobody is in this room: every node that reads it does nothing.
            await manager.emit("cluster-node-ready", (), namespace="/", room=manager.probe_room)
        except Exception as err:  # noqa: BLE001 - the bus is not up yet: try again until the deadline
            sys.stderr.write(f"cluster_node: publishing on the bus failed ({err!r}); retrying\n")
        try:
            await asyncio.wait_for(manager.probe_seen.wait(), PROBE_EVERY_S)
        except asyncio.TimeoutError:
            pass
    manager.probe_room = None
    return True


async def serve(args):
    manager, bus = make_manager(args)
    # What AsyncServer.__init__ does with a client_manager argument; no client has connected yet.
    sio.manager = manager
    manager.set_server(sio)

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, args.port))
    listener.listen(1024)
    bound = listener.getsockname()[1]

    config = uvicorn.Config(
        socketio.ASGIApp(sio, socketio_path="socket.io"),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=1,
    )
    server = contract.ContractUvicorn(config)
    serving = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        if not await wait_for_bus(manager, serving):
            return  # stopped by a signal before it was ready
    except BaseException:
        serving.cancel()
        raise
    while not server.started:
        if serving.done():
            serving.result()  # startup failed: raise its error
            raise OSError("uvicorn stopped during startup")
        await asyncio.sleep(0.01)

    version = metadata.version("python-socketio")
    print(
        f"cluster_node (python-socketio {version}, {bus} channel {args.channel!r}) "
        f"listening on {HOST}:{bound}",
        flush=True,
    )
    try:
        await serving
    finally:
        try:
            await asyncio.wait_for(sio.shutdown(), 1.0)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bus = parser.add_mutually_exclusive_group(required=True)
    bus.add_argument("--redis", metavar="URL", help="redis://HOST:PORT[/DB]")
    bus.add_argument("--amqp", metavar="URL", help="amqp://USER:PASS@HOST:PORT//")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 0),
        help="0 picks a free port (default: $PORT, else 0)",
    )
    parser.add_argument("--channel", default="socketio", help="Redis channel / AMQP exchange")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"bad --port {args.port}")
    return args


def main():
    args = parse_args(sys.argv[1:])
    # Until uvicorn installs its handlers (as soon as it starts serving), a signal still ends
    # the process with status 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: os._exit(0))
    # Not asyncio.run: on the way out it cancels and awaits every task, and the AMQP listener
    # (aio-pika's robust connection) can take long to wind down. Nothing is left to clean up.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(serve(args))
    except OSError as err:
        sys.stderr.write(f"cluster_node: {err}\n")
        sys.stdout.flush()
        os._exit(1)
    sys.stdout.flush()
    # Leftover transport and bus tasks must not keep the process alive past a signal.
    os._exit(0)


if __name__ == "__main__":
    main()
