"""Typed round trips between python-socketio's AsyncClient and the macro handlers of
tests/tests/macro_handlers.rs (namespaces /typed and /events).

Usage: python tests/python/macro_client.py <url> <polling|websocket>
    polling    transports=['polling']
    websocket  transports=['websocket']

What is checked, JSON and binary alike:

- the client's emits reach typed `#[socketio::on]` handlers, and the values those handlers
  return come back as the ack (a tuple becomes several ack arguments, `Bytes` inside a struct
  becomes a binary attachment, a `Result` error becomes an error object, arguments of the wrong
  type never reach the handler); a catch-all handler echoes the raw payload, which shows that
  this client's bytes arrive as attachments (typed `Bytes` would also read a list of numbers);
- the server's `emit_event` of event structs (an object struct; a tuple struct whose second
  field is binary) and of a plain tuple arrive here with exactly the values sent;
- the server's `emit_with_ack::<(u32, Bytes)>` to this client reads the reply this client's
  handler returns, and a reply of the wrong type is a decode error on the server;
- a typed broadcast ack (`emit_with_ack::<bool>` to a room) collects one reply per client.

Prints one line `PASS <check>` per check on stdout. Exits 0 when every check passed; otherwise
prints the reason on stderr and exits 1. The whole run is bounded by a hard 30 s timeout.

Runs in the virtualenv that scripts/test.sh creates from tests/python/requirements.txt.
"""

import asyncio
import json
import os
import signal
import sys

import socketio

HARD_TIMEOUT_S = 30
# Long enough for a debug build on a busy 2-core machine, short enough to fail fast.
STEP_TIMEOUT_S = 5.0
TRANSPORTS = ("polling", "websocket")

URL = None
TRANSPORT = None
current_check = "setup"


class CheckFailed(Exception):
    """A check did not hold; the message says what was expected and what came."""


def fail(reason):
    sys.stderr.write(f"FAIL [{current_check}]: {reason}\n")
    sys.stderr.flush()
    # os._exit: a transport task that hangs must not keep the process alive.
    os._exit(1)


def plain(value):
    """A JSON-ready copy of `value` where bytes become {"$binary": "<hex>"}.

    Comparing these copies tells bytes from a list of numbers or a string, and keeps key order.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$binary": bytes(value).hex()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    return value


def as_text(value):
    return json.dumps(plain(value), separators=(",", ":"))


def expect_same(what, got, expected):
    if as_text(got) != as_text(expected):
        raise CheckFailed(f"{what}: expected {as_text(expected)}, got {as_text(got)}")


async def within(awaitable, what):
    try:
        return await asyncio.wait_for(awaitable, STEP_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise CheckFailed(f"timed out after {STEP_TIMEOUT_S} s waiting for {what}") from None


class Received:
    """Events that arrived on one namespace, in order; `next` waits for the first of a name."""

    def __init__(self):
        self.events = []
        self.arrived = asyncio.Event()

    def push(self, event, args):
        self.events.append((event, list(args)))
        self.arrived.set()

    async def next(self, event):
        async def wait():
            while True:
                for index, (name, args) in enumerate(self.events):
                    if name == event:
                        del self.events[index]
                        return args
                self.arrived.clear()
                await self.arrived.wait()

        return await within(wait(), f"the event {event!r}")


class Peer:
    """One AsyncClient: its own engine connection, joined to the namespaces given."""

    def __init__(self, name, namespaces):
        self.name = name
        self.namespaces = namespaces
        self.sio = socketio.AsyncClient(
            reconnection=False, request_timeout=STEP_TIMEOUT_S, handle_sigint=False
        )
        self.received = {namespace: Received() for namespace in namespaces}
        for namespace in namespaces:
            self._record(namespace)

    def _record(self, namespace):
        received = self.received[namespace]

        # A plain function: python-socketio runs it for every event that has no handler of
        # its own, in arrival order.
        def any_event(event, *args):
            received.push(event, args)

        def disconnected(reason=None):
            fail(f"{self.name} was disconnected from {namespace}: {reason}")

        self.sio.on("*", any_event, namespace=namespace)
        self.sio.on("disconnect", disconnected, namespace=namespace)

    async def connect(self, auth=None):
        await within(
            self.sio.connect(
                URL,
                auth=auth,
                transports=[TRANSPORT],
                namespaces=self.namespaces,
                wait_timeout=STEP_TIMEOUT_S,
            ),
            f"{self.name} to connect to {', '.join(self.namespaces)}",
        )
        if self.sio.transport() != TRANSPORT:
            raise CheckFailed(f"{self.name} is on {self.sio.transport()}, asked for {TRANSPORT}")

    async def call(self, namespace, event, *args):
        """Emits `event` asking for an ack; returns every argument of the ack as a list."""
        reply = asyncio.get_running_loop().create_future()

        def on_ack(*data):
            if not reply.done():
                reply.set_result(list(data))

        await self.sio.emit(event, args, namespace=namespace, callback=on_ack)
        return await within(reply, f"the ack of {event!r} on {namespace}")

    async def close(self):
        # Disconnecting is not a failure any more.
        for namespace in self.namespaces:
            self.sio.on("disconnect", lambda *_: None, namespace=namespace)
        try:
            await asyncio.wait_for(self.sio.disconnect(), STEP_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - leaving, whatever happens
            pass


async def run():
    global current_check
    peers = []

    def peer(name, namespaces):
        created = Peer(name, namespaces)
        peers.append(created)
        return created

    checks = []

    def check(name):
        def register(body):
            checks.append((name, body))
            return body

        return register

    main = peer("main", ["/typed", "/events"])

    # Answers the server's `question` (the quiz handler asks twice): the first time with the
    # tuple the server reads as (u32, Bytes), the second time with a word where it wants a
    # number. What was asked is kept for the check.
    questions = []

    def on_question(text, data):
        questions.append([text, data])
        if len(questions) == 1:
            return 42, bytes([4, 2])
        return "a word"

    main.sio.on("question", on_question, namespace="/events")

    @check("connect to /typed (typed auth) and /events")
    async def _():
        await main.connect(auth={"token": "py"})
        connected = sorted(main.sio.namespaces)
        if connected != ["/events", "/typed"]:
            raise CheckFailed(f"connected to {connected}")
        # The typed connect handler read the auth into its struct and saved the session.
        expect_same("whoami", await main.call("/typed", "whoami"), ["py", {"token": "py"}, True])

    @check("a tuple return is several ack arguments")
    async def _():
        expect_same("tuple", await main.call("/typed", "tuple", "abc", 41), ["ABC", 42])

    @check("binary in a struct both ways: the ack is (struct with Bytes, usize)")
    async def _():
        data = bytes([0, 1, 2, 254, 255])
        reply = await main.call("/typed", "upload", {"name": "blob.bin", "data": data})
        # Compared as text where bytes are {"$binary": hex}: a list of numbers would not match.
        expect_same("upload", reply, [{"name": "blob.bin", "reversed": data[::-1]}, len(data)])

    @check("the catch-all handler echoes the raw payload: binary stays an attachment")
    async def _():
        # Typed `Bytes` would also read a list of numbers; the raw echo shows what arrived.
        data = bytes([9, 0, 9])
        await main.sio.emit("not-handled", (1, {"deep": [data]}, data), namespace="/typed")
        caught = await main.received["/typed"].next("caught")
        expect_same("caught", caught, ["not-handled", 1, {"deep": [data]}, data])

    @check("a Result return: the value, or an error object")
    async def _():
        expect_same("ok", await main.call("/typed", "fallible", 7), [70])
        expect_same("err", await main.call("/typed", "fallible", -3), [{"error": "-3 is negative"}])

    @check("arguments of the wrong type never reach the handler")
    async def _():
        reply = await main.call("/typed", "tuple", 5, "five")
        error = reply[0].get("error") if len(reply) == 1 and isinstance(reply[0], dict) else None
        if not isinstance(error, str) or not error.startswith("invalid arguments"):
            raise CheckFailed(f"expected an invalid arguments error, got {as_text(reply)}")

    @check("event structs from the server: an object, a tuple struct with binary, a tuple")
    async def _():
        events = main.received["/events"]
        expect_same("shout ack", await main.call("/events", "shout", "hey"), ["queued"])
        # The server queued all three before it acked, so they are here already or on the way.
        expect_same("shouted", await events.next("shouted"), [{"text": "HEY", "len": 3}])
        expect_same("pair", await events.next("pair"), ["hey", b"hey"])
        expect_same("spread", await events.next("spread"), ["hey", 1, [bytes([1, 2])]])

    @check("the server's typed emit_with_ack reads this client's reply")
    async def _():
        reply = await main.call("/events", "quiz")
        # The quiz handler acks what it decoded from the first reply, then the kind of error
        # the second reply (a word for a u32) gave.
        expect_same("quiz", reply, [42, bytes([4, 2]), "decode error"])
        expect_same("questions", questions, [["6 x 7?", bytes([6, 7])], ["say a word", b""]])

    @check("a typed broadcast ack collects one reply per client of the room")
    async def _():
        voters = [peer("voter-a", ["/events"]), peer("voter-b", ["/events"])]
        votes = {}

        def voter(index):
            def on_vote(question):
                votes[index] = question
                return question == "lunch?" if index == 0 else False

            return on_vote

        for index, one in enumerate(voters):
            one.sio.on("vote", voter(index), namespace="/events")
        await asyncio.gather(*(one.connect() for one in voters))
        for one in voters:
            expect_same("vote-here ack", await one.call("/events", "vote-here"), [])
        (got,) = await voters[0].call("/events", "poll-room")
        sids = [one.sio.get_sid("/events") for one in voters]
        expected = [vote for _, vote in sorted(zip(sids, [True, False]))]
        expect_same("votes in sid order", got, expected)
        expect_same("questions", [votes.get(0), votes.get(1)], ["lunch?", "lunch?"])

    @check("every client stayed on the transport asked for")
    async def _():
        for one in peers:
            if one.sio.transport() != TRANSPORT:
                raise CheckFailed(f"{one.name} ended on {one.sio.transport()}")

    for name, body in checks:
        current_check = name
        await body()
        print(f"PASS {name}", flush=True)

    current_check = "close"
    await asyncio.gather(*(one.close() for one in peers))


def main():
    global URL, TRANSPORT
    if len(sys.argv) != 3 or sys.argv[2] not in TRANSPORTS:
        fail(f"usage: macro_client.py <url> <{'|'.join(TRANSPORTS)}>")
    URL, TRANSPORT = sys.argv[1], sys.argv[2]
    # A watchdog outside the event loop: even a blocked loop cannot outlive it.
    signal.signal(signal.SIGALRM, lambda *_: fail(f"hard timeout of {HARD_TIMEOUT_S} s reached"))
    signal.alarm(HARD_TIMEOUT_S)
    try:
        asyncio.run(run())
    except CheckFailed as err:
        fail(str(err))
    except Exception as err:  # noqa: BLE001 - any error fails the run, shown with its type
        fail(f"{type(err).__name__}: {err}")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
