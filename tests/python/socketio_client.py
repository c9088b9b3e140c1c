"""Drive a server implementing the `/socket.io/` contract with python-socketio's AsyncClient.

Usage: python tests/python/socketio_client.py <url> <polling|websocket|default>
    polling    transports=['polling']
    websocket  transports=['websocket']
    default    the client's default: open over polling, upgrade; must end on WebSocket

The server implements docs/PROGRAMS.md, `conformance` (namespaces `/`, `/custom`, `/chat`). Prints one JSON
line per step on stdout. Exits 0 when every step passed; otherwise prints the reason on stderr and
exits 1. The whole run is bounded by a hard 30 s timeout.

Room names are unique per run and every wait filters on what this run sent, so several runs may
share one server.

Differences from tests/js/socketio_client.mjs that come from python-socketio itself:

- An AsyncClient sends the same `auth` in the CONNECT of every namespace it joins, so the
  multiplexed client (`/` and `/chat` on one engine connection) gets `{"token":"secret"}` back on
  `/` too; `{}` on `/` is checked with a separate client that sends no auth (python-socketio then
  sends `40{}`, never a bare `40`).
- The client upgrades inside connect(), so in the default scenario the transport is already
  `websocket` when connect() returns; the transport it opened on is seen by the engine-level
  `connect` event.
- A refused namespace makes connect() raise ConnectionError; the CONNECT_ERROR payload reaches the
  `connect_error` handler as a dict.
- Disconnect reasons are python-socketio's: 'server disconnect' and 'client disconnect' (the Node
  client's "io server disconnect" / "io client disconnect").
- The client exposes no ping event; pings are counted in the engine's packet dispatcher.

Runs in the virtualenv that scripts/test.sh creates from tests/python/requirements.txt.
"""

import asyncio
import json
import os
import secrets
import signal
import sys
import time

import socketio
from engineio import packet as eio_packet

HARD_TIMEOUT_S = 30
# Long enough for a slow debug build on a busy 2-core machine, short enough to fail fast.
STEP_TIMEOUT_S = 5.0
ORDERED_COUNT = 50
# Over polling the client puts everything queued into one POST, and python-engineio servers refuse
# a payload of more than 16 packets (they also answer a GET with everything queued, which this
# client refuses past 16). Bursts of 10 leave room for a pong or a ping in the same batch. The
# same burst size is used on every transport to keep one code path.
ORDERED_BURST = 10
HEARTBEAT_MIN_S = 1.2
LARGE_TEXT_CHARS = 200_000
LARGE_BINARY_BYTES = 100_000
SECRET_AUTH = {"token": "secret"}

# transports passed to connect(), the transport the session opens on, the one it must end on.
SCENARIOS = {
    "polling": (["polling"], "polling", "polling"),
    "websocket": (["websocket"], "websocket", "websocket"),
    "default": (None, "polling", "websocket"),
}

current_step = "setup"
# Set once the run is over and the clients are being closed.
closing = False


class StepFailed(Exception):
    """A check did not hold; the message says which and why."""


def report(step, **details):
    print(json.dumps({"step": step, "ok": True, **details}), flush=True)


def fail(reason):
    sys.stderr.write(f"FAIL [{current_step}]: {reason}\n")
    sys.stderr.flush()
    # os._exit: a hung transport task must not keep the process alive.
    os._exit(1)


def to_plain(value):
    """JSON-ready stand-in for `value`, with binary as {"$binary": "<hex>"}; keys keep their order."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$binary": bytes(value).hex()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


def canonical(value):
    return json.dumps(to_plain(value), separators=(",", ":"))


def short(value, limit=200):
    text = canonical(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} chars)"


def expect_same(what, got, expected):
    if canonical(got) != canonical(expected):
        raise StepFailed(f"{what}: expected {short(expected)}, got {short(got)}")


async def within(awaitable, what, timeout=STEP_TIMEOUT_S):
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except asyncio.TimeoutError:
        raise StepFailed(f"timed out after {timeout} s {what}") from None


class Inbox:
    """Events of one namespace, in arrival order; take() removes the first one that matches."""

    def __init__(self):
        self.items = []
        self.changed = asyncio.Event()

    def push(self, event, args):
        self.items.append((event, list(args)))
        self.changed.set()

    def poll(self, event, accept=lambda args: True):
        for index, (name, args) in enumerate(self.items):
            if name == event and accept(args):
                del self.items[index]
                return args
        return None

    async def take(self, event, what, accept=lambda args: True):
        async def wait():
            while True:
                args = self.poll(event, accept)
                if args is not None:
                    return args
                self.changed.clear()
                await self.changed.wait()

        return await within(wait(), f"waiting for {what}")


class PingCountingClient(socketio.AsyncClient):
    """An AsyncClient that counts PING packets and remembers the transport it opened on.

    python-engineio answers pings internally and exposes no event for them, so the one place to
    observe a heartbeat is the packet dispatcher shared by both transports.
    """

    def _engineio_client_class(self):
        base = super()._engineio_client_class()

        class Counting(base):
            pings = 0

            async def _receive_packet(self, pkt):
                if pkt.packet_type == eio_packet.PING:
                    self.pings += 1
                await super()._receive_packet(pkt)

        return Counting

    opened_on = None

    async def _handle_eio_connect(self):
        # The engine handshake is done and no upgrade has happened yet.
        self.opened_on = self.eio.transport()
        await super()._handle_eio_connect()


class Client:
    """One AsyncClient (one engine connection) with an inbox per namespace."""

    def __init__(self, name, namespaces, transports):
        self.name = name
        self.namespaces = namespaces
        self.transports = transports
        self.sio = PingCountingClient(
            reconnection=False, request_timeout=STEP_TIMEOUT_S, handle_sigint=False
        )
        self.inbox = {ns: Inbox() for ns in namespaces}
        self.connect_errors = {}
        # Namespaces this client is about to leave on purpose; any other disconnect fails the run.
        self.leaving = set()
        for ns in namespaces:
            self._register(ns)

    @property
    def opened_on(self):
        return self.sio.opened_on

    def _register(self, ns):
        inbox = self.inbox[ns]

        # Sync handlers: every message is handled in its own task and tasks start in creation
        # order, so the inbox sees events in arrival order.
        def any_event(event, *args):
            inbox.push(event, args)

        def on_disconnect(reason=None):
            if ns not in self.leaving and not closing:
                fail(f"{self.name} was disconnected from {ns}: {reason}")
            inbox.push("$disconnect", [reason])

        def on_connect_error(data=None):
            self.connect_errors[ns] = data
            inbox.push("$connect_error", [data])

        self.sio.on("*", any_event, namespace=ns)
        self.sio.on("disconnect", on_disconnect, namespace=ns)
        self.sio.on("connect_error", on_connect_error, namespace=ns)

    async def connect(self, auth=None):
        await within(
            self.sio.connect(
                URL,
                auth=auth,
                transports=self.transports,
                namespaces=self.namespaces,
                wait_timeout=STEP_TIMEOUT_S,
            ),
            f"for {self.name} to connect to {', '.join(self.namespaces)}",
            timeout=STEP_TIMEOUT_S * 2,
        )

    @property
    def transport(self):
        return self.sio.transport()

    @property
    def pings(self):
        return self.sio.eio.pings

    async def ack(self, event, *args, namespace="/chat"):
        """Emits `event` with an ack; returns the ack's argument list."""
        reply = asyncio.get_running_loop().create_future()

        def on_ack(*data):
            if not reply.done():
                reply.set_result(list(data))

        await self.sio.emit(event, args, namespace=namespace, callback=on_ack)
        return await within(reply, f"for the ack of {event}")

    async def close(self):
        try:
            await asyncio.wait_for(self.sio.disconnect(), STEP_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass


async def step(name, body):
    global current_step
    current_step = name
    details = await body()
    report(name, **(details or {}))


async def run(scenario):
    transports, first, last = SCENARIOS[scenario]
    run_id = secrets.token_hex(4)
    clients = []

    def new_client(name, namespaces):
        client = Client(name, namespaces, transports)
        clients.append(client)
        return client

    bare = new_client("bare", ["/"])

    async def connect_root():
        await bare.connect()
        (auth,) = await bare.inbox["/"].take("auth", "the auth event on /")
        expect_same("auth on / (no auth sent)", auth, {})
        if bare.opened_on != first:
            raise StepFailed(f"opened over {bare.opened_on}, expected {first}")
        return {"opened_on": bare.opened_on, "transport": bare.transport, "sid": bare.sio.get_sid("/")}

    await step("connect-root", connect_root)

    async def message_back():
        args = ("text", 7, {"z": 1, "a": [bytes([0, 1, 2, 255])]}, b"raw")
        await bare.sio.emit("message", args, namespace="/")
        back = await bare.inbox["/"].take("message-back", "message-back")
        expect_same("message-back", back, list(args))
        return {"args": len(args), "transport": bare.transport}

    await step("message-back", message_back)

    async def message_with_ack():
        args = (1, "two", {"three": [3, bytes([3])]}, None, False)
        reply = await bare.ack("message-with-ack", *args, namespace="/")
        expect_same("message-with-ack ack", reply, list(args))
        return {"args": len(args), "transport": bare.transport}

    await step("message-with-ack", message_with_ack)

    async def chat_refused():
        intruder = new_client("intruder", ["/chat"])
        try:
            await intruder.connect(auth={"token": "wrong"})
        except socketio.exceptions.ConnectionError as err:
            refusal = str(err)
        else:
            raise StepFailed("connected to /chat with a wrong token")
        error = intruder.connect_errors.get("/chat")
        expect_same("connect_error payload", error, {"message": "unauthorized"})
        # Over polling python-engineio can leave the refused session's last request unreleased;
        # aiohttp may then print "Unclosed connection" on stderr later in the run (harmless).
        await intruder.close()
        return {"error": error, "refusal": refusal}

    await step("chat-refused", chat_refused)

    main = new_client("main", ["/", "/chat"])
    root = main.inbox["/"]
    chat = main.inbox["/chat"]

    async def chat_auth():
        await main.connect(auth=SECRET_AUTH)
        (auth,) = await chat.take("auth", "the auth event on /chat")
        expect_same("auth on /chat", auth, SECRET_AUTH)
        # python-socketio sends the client's one auth to every namespace it joins.
        (root_auth,) = await root.take("auth", "the auth event on /")
        expect_same("auth on / (same client)", root_auth, SECRET_AUTH)
        return {"auth": auth, "sid": main.sio.get_sid("/chat")}

    await step("chat-auth", chat_auth)

    async def multiplex():
        connected = sorted(main.sio.namespaces)
        if connected != ["/", "/chat"]:
            raise StepFailed(f"connected namespaces {connected}, expected / and /chat")
        root_sid, chat_sid = main.sio.get_sid("/"), main.sio.get_sid("/chat")
        if not main.sio.eio.sid:
            raise StepFailed("no engine id")
        if root_sid == chat_sid:
            raise StepFailed(f"/ and /chat share the socket id {chat_sid}")
        return {"engine_id": main.sio.eio.sid, "namespaces": connected, "transport": main.transport}

    await step("multiplex", multiplex)

    if scenario == "default":

        async def upgrade():
            if main.opened_on != "polling" or main.transport != "websocket":
                raise StepFailed(f"opened on {main.opened_on}, transport now {main.transport}")
            return {"opened_on": main.opened_on, "transport": main.transport}

        await step("upgrade", upgrade)

    async def echo_ack():
        args = (
            "hello",
            42,
            {"z": "last key first", "nested": {"deep": [bytes([1, 2, 3]), "x"]}, "a": 1},
            [True, {"bin": bytes([255, 0, 128])}, [b""]],
            None,
            bytes([9, 8, 7]),
        )
        reply = await main.ack("echo-ack", *args)
        expect_same("echo-ack with nested binary", reply, list(args))
        none = await main.ack("echo-ack")
        expect_same("echo-ack with no args", none, [])
        return {"args": len(args), "binaries": 5, "transport": main.transport}

    await step("echo-ack", echo_ack)

    async def large():
        text = "x" * (LARGE_TEXT_CHARS - 6) + run_id[:6]
        blob = secrets.token_bytes(LARGE_BINARY_BYTES)
        reply = await main.ack("echo-ack", text, blob)
        if len(reply) != 2:
            raise StepFailed(f"expected 2 args back, got {len(reply)}")
        if reply[0] != text:
            raise StepFailed(f"the {len(text)}-char string came back altered")
        if not isinstance(reply[1], bytes) or reply[1] != blob:
            raise StepFailed(f"the {len(blob)}-byte binary came back altered")
        return {"text_chars": len(text), "binary_bytes": len(blob), "transport": main.transport}

    await step("large", large)

    async def in_order():
        for start in range(0, ORDERED_COUNT, ORDERED_BURST):
            end = min(start + ORDERED_BURST, ORDERED_COUNT)
            for i in range(start, end):
                await main.sio.emit("echo", (i, f"event {i}"), namespace="/chat")
            for i in range(start, end):
                got = await chat.take("echo", f"echo {i}")
                expect_same(f"echo at position {i}", got, [i, f"event {i}"])
        return {"count": ORDERED_COUNT, "burst": ORDERED_BURST, "transport": main.transport}

    await step("in-order", in_order)

    async def server_ack():
        reply_binary = bytes([0xDE, 0xAD, 0xBE, 0xEF])
        reply_text = f"reply {run_id}"
        asked = asyncio.get_running_loop().create_future()

        # An explicit handler wins over the catch-all; its return value is the ack.
        def on_ack_request(*args):
            if not asked.done():
                asked.set_result(list(args))
            return reply_binary, reply_text

        main.sio.on("ack-request", on_ack_request, namespace="/chat")
        request = ("please answer", {"n": 1, "bin": bytes([1])})
        await main.sio.emit("request-ack", request, namespace="/chat")
        args = await within(asked, "for ack-request")
        expect_same("ack-request args", args, list(request))
        result = await chat.take("ack-result", "ack-result")
        expect_same("ack-result args", result, [reply_binary, reply_text])
        return {"transport": main.transport}

    await step("server-ack", server_ack)

    # Rooms: `main` (sender, member), `member` (member), `outsider` (not a member).
    room = f"room-{run_id}"
    member = new_client("member", ["/chat"])
    outsider = new_client("outsider", ["/chat"])

    def ours(marker):
        return lambda args: bool(args) and args[0] == marker

    async def rooms():
        await asyncio.gather(member.connect(auth=SECRET_AUTH), outsider.connect(auth=SECRET_AUTH))
        expect_same("join ack (sender)", await main.ack("join", room), [room])
        expect_same("join ack (member)", await member.ack("join", room), [room])

        marker = f"to-room {run_id}"
        payload = (marker, {"bin": bytes([7, 7])}, 3)
        expect_same("to-room ack", await main.ack("to-room", room, *payload), ["ok"])
        got = await member.inbox["/chat"].take(
            "room-message", "room-message at the member", ours(marker)
        )
        expect_same("room-message at the member", got, list(payload))

        # The server queues the room messages before the ack, so the sender would have received
        # its copy before the ack it already has; the outsider's copy would come before an echo it
        # asks for now.
        probe = f"outsider {run_id}"
        await outsider.sio.emit("echo", probe, namespace="/chat")
        await outsider.inbox["/chat"].take("echo", "the outsider's echo", ours(probe))
        if chat.poll("room-message", ours(marker)) is not None:
            raise StepFailed("the sender received its own room-message")
        if outsider.inbox["/chat"].poll("room-message", ours(marker)) is not None:
            raise StepFailed("the non-member received the room-message")
        return {"room": room, "transport": main.transport}

    await step("rooms", rooms)

    async def leave():
        expect_same("leave ack", await member.ack("leave", room), [room])
        marker = f"after leave {run_id}"
        expect_same("to-room ack", await main.ack("to-room", room, marker), ["ok"])
        probe = f"member probe {run_id}"
        await member.sio.emit("echo", probe, namespace="/chat")
        await member.inbox["/chat"].take("echo", "the member's echo", ours(probe))
        if member.inbox["/chat"].poll("room-message", ours(marker)) is not None:
            raise StepFailed("room-message delivered after leave")
        return {"room": room, "transport": main.transport}

    await step("leave", leave)

    async def heartbeat():
        before = main.pings
        started = time.monotonic()

        async def wait():
            while time.monotonic() - started < HEARTBEAT_MIN_S or main.pings == before:
                await asyncio.sleep(0.05)

        await within(wait(), "for a ping")
        if sorted(main.sio.namespaces) != ["/", "/chat"]:
            raise StepFailed("disconnected during the heartbeats")
        return {
            "pings": main.pings - before,
            "elapsed_ms": round((time.monotonic() - started) * 1000),
            "transport": main.transport,
        }

    await step("heartbeat", heartbeat)

    async def server_disconnect():
        leaver_id = outsider.sio.get_sid("/chat")
        outsider.leaving.add("/chat")
        await outsider.sio.emit("disconnect-me", namespace="/chat")
        (reason,) = await outsider.inbox["/chat"].take("$disconnect", "the disconnect event")
        if reason != outsider.sio.reason.SERVER_DISCONNECT:
            raise StepFailed(f"disconnect reason: expected server disconnect, got {reason!r}")
        (left,) = await chat.take(
            "peer-left", f"peer-left for {leaver_id}", lambda args: args == [leaver_id]
        )
        return {"reason": reason, "peer_left": left}

    await step("server-disconnect", server_disconnect)

    async def client_disconnect():
        leaver_id = member.sio.get_sid("/chat")
        member.leaving.add("/chat")
        await within(member.sio.disconnect(), "for the client disconnect")
        (reason,) = await member.inbox["/chat"].take("$disconnect", "the disconnect event")
        if reason != member.sio.reason.CLIENT_DISCONNECT:
            raise StepFailed(f"disconnect reason: expected client disconnect, got {reason!r}")
        (left,) = await chat.take(
            "peer-left", f"peer-left for {leaver_id}", lambda args: args == [leaver_id]
        )
        return {"reason": reason, "peer_left": left}

    await step("client-disconnect", client_disconnect)

    async def transport():
        if main.transport != last:
            raise StepFailed(f"expected to end on {last}, ended on {main.transport}")
        if sorted(main.sio.namespaces) != ["/", "/chat"]:
            raise StepFailed("the main client is no longer connected")
        return {"transport": main.transport, "engine_id": main.sio.eio.sid}

    await step("transport", transport)

    global current_step, closing
    current_step = "close"
    closing = True
    await asyncio.gather(*(client.close() for client in clients))


URL = None


def main():
    global URL
    if len(sys.argv) != 3 or sys.argv[2] not in SCENARIOS:
        fail(f"usage: socketio_client.py <url> <{'|'.join(SCENARIOS)}>")
    URL, scenario = sys.argv[1], sys.argv[2]

    # A watchdog outside the event loop, so that even a blocked loop cannot outlive it.
    signal.signal(signal.SIGALRM, lambda *_: fail(f"hard timeout of {HARD_TIMEOUT_S} s reached"))
    signal.alarm(HARD_TIMEOUT_S)
    try:
        asyncio.run(run(scenario))
    except StepFailed as err:
        fail(str(err))
    except Exception as err:  # noqa: BLE001 - any error is a failed run, shown with its type
        fail(f"{type(err).__name__}: {err}")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
