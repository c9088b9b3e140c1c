"""Drive the conformance `/engine.io/` echo server with python-engineio's official client.

Usage: python tests/python/engine_client.py <url> <polling|websocket|upgrade>

Prints one JSON line per step on stdout. Exits 0 when every step passed; otherwise prints the
reason on stderr and exits 1. The whole run is bounded by a hard 15 s timeout.

Runs in the virtualenv that scripts/test.sh creates from tests/python/requirements.txt.
"""

import asyncio
import json
import os
import signal
import sys
import time

import engineio
from engineio import packet

HARD_TIMEOUT_S = 15
# Long enough for a slow debug build on a busy 2-core machine, short enough to fail fast.
STEP_TIMEOUT_S = 5.0
HEARTBEAT_MIN_S = 1.0
HEARTBEAT_MIN_PINGS = 2
ORDERED_COUNT = 20

# transports passed to connect(), the transport the session opens on, the one it must end on.
SCENARIOS = {
    "polling": (["polling"], "polling", "polling"),
    "websocket": (["websocket"], "websocket", "websocket"),
    # The client's default: open over polling, then upgrade to WebSocket inside connect().
    "upgrade": (None, "polling", "websocket"),
}


class StepFailed(Exception):
    """A check did not hold; the message says which and why."""


def report(step, **details):
    print(json.dumps({"step": step, "ok": True, **details}), flush=True)


def fail(reason):
    sys.stderr.write(f"FAIL: {reason}\n")
    sys.stderr.flush()
    # os._exit: a hung transport task must not keep the process alive.
    os._exit(1)


def describe(data):
    if isinstance(data, str):
        return f"text {json.dumps(data)}"
    if isinstance(data, (bytes, bytearray)):
        return f"binary {list(data)}"
    return f"{type(data).__name__} {data!r}"


class CountingClient(engineio.AsyncClient):
    """An AsyncClient that counts the PING packets it receives.

    python-engineio answers pings internally and exposes no event for them, so the one place to
    observe a heartbeat is the packet dispatcher shared by both transports.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.pings = 0

    async def _receive_packet(self, pkt):
        if pkt.packet_type == packet.PING:
            self.pings += 1
        await super()._receive_packet(pkt)


class Session:
    """A client plus the events it has reported, awaited with timeouts."""

    def __init__(self):
        self.client = CountingClient(request_timeout=STEP_TIMEOUT_S, handle_sigint=False)
        self.inbox = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.disconnect_reasons = []
        self.closing = False
        self.transport_at_connect = None

        # Sync handlers: AsyncClient wraps each message in a task, and tasks start in the
        # order they were created, so the queue sees the messages in arrival order.
        self.client.on("connect", self._on_connect)
        self.client.on("message", self.inbox.put_nowait)
        self.client.on("disconnect", self._on_disconnect)

    def _on_connect(self):
        self.transport_at_connect = self.client.transport()

    def _on_disconnect(self, reason=None):
        self.disconnect_reasons.append(reason)
        self.disconnected.set()

    async def until(self, awaitable, what):
        """Await `awaitable`, failing on timeout or on a disconnect the test did not ask for."""
        main = asyncio.ensure_future(awaitable)
        gone = asyncio.ensure_future(self.disconnected.wait())
        try:
            done, _ = await asyncio.wait(
                {main, gone}, timeout=STEP_TIMEOUT_S, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            gone.cancel()
        if main in done:
            return main.result()
        main.cancel()
        if gone in done and not self.closing:
            raise StepFailed(f"disconnected ({self.disconnect_reasons[-1]}) while {what}")
        raise StepFailed(f"timed out after {STEP_TIMEOUT_S} s while {what}")

    async def next_message(self, what):
        return await self.until(self.inbox.get(), f"waiting for {what}")


async def run(url, scenario):
    transports, first, last = SCENARIOS[scenario]
    session = Session()
    client = session.client

    await asyncio.wait_for(
        client.connect(url, transports=transports, engineio_path="engine.io"), STEP_TIMEOUT_S
    )
    report("open", transport=session.transport_at_connect, sid=client.sid)
    if session.transport_at_connect != first:
        raise StepFailed(f"opened over {session.transport_at_connect}, expected {first}")
    if scenario == "upgrade":
        if client.transport() != "websocket":
            raise StepFailed(f"no upgrade: transport after connect is {client.transport()}")
        report("upgrade", transport=client.transport())

    await client.send("hello")
    echoed = await session.next_message("the text echo")
    if echoed != "hello":
        raise StepFailed(f'text echo: expected text "hello", got {describe(echoed)}')
    report("text-echo", transport=client.transport())

    sent = bytes([1, 2, 3, 250])
    await client.send(sent)
    got = await session.next_message("the binary echo")
    if not isinstance(got, bytes) or got != sent:
        raise StepFailed(f"binary echo: expected binary {list(sent)}, got {describe(got)}")
    report("binary-echo", bytes=list(got), transport=client.transport())

    # Over polling the client puts everything queued into one POST, and python-engineio
    # servers refuse a payload of more than 16 packets: send in bursts that stay below it.
    burst = 10 if client.transport() == "polling" else ORDERED_COUNT
    outgoing = [f"message {i}" for i in range(ORDERED_COUNT)]
    for start in range(0, ORDERED_COUNT, burst):
        chunk = outgoing[start : start + burst]
        for text in chunk:
            await client.send(text)
        for offset, expected in enumerate(chunk):
            index = start + offset
            message = await session.next_message(f"ordered message {index}")
            if message != expected:
                raise StepFailed(
                    f"in-order echo: at {index} expected {json.dumps(expected)}, "
                    f"got {describe(message)}"
                )
    report("in-order", count=ORDERED_COUNT, transport=client.transport())

    # Heartbeats: count pings from here; the session must survive them without closing.
    pings_before = client.pings
    started = time.monotonic()

    async def heartbeats():
        while (
            time.monotonic() - started < HEARTBEAT_MIN_S
            or client.pings - pings_before < HEARTBEAT_MIN_PINGS
        ):
            await asyncio.sleep(0.05)

    await session.until(heartbeats(), f"waiting for {HEARTBEAT_MIN_PINGS} pings")
    if client.state != "connected":
        raise StepFailed(f"after heartbeats the client is {client.state}")
    report(
        "heartbeat",
        pings=client.pings - pings_before,
        elapsed_ms=round((time.monotonic() - started) * 1000),
        transport=client.transport(),
    )

    if client.transport() != last:
        raise StepFailed(f"expected to end on {last}, ended on {client.transport()}")

    session.closing = True
    await asyncio.wait_for(client.disconnect(), STEP_TIMEOUT_S)
    await session.until(session.disconnected.wait(), "waiting for the disconnect event")
    reason = session.disconnect_reasons[0]
    if reason != client.reason.CLIENT_DISCONNECT:
        raise StepFailed(f"disconnect reason: expected client disconnect, got {reason!r}")
    if client.state != "disconnected":
        raise StepFailed(f"after disconnect the client is {client.state}")
    report("close", reason=reason)


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in SCENARIOS:
        fail(f"usage: engine_client.py <url> <{'|'.join(SCENARIOS)}>")
    url, scenario = sys.argv[1], sys.argv[2]

    # A watchdog outside the event loop, so that even a blocked loop cannot outlive it.
    signal.signal(signal.SIGALRM, lambda *_: fail(f"hard timeout of {HARD_TIMEOUT_S} s reached"))
    signal.alarm(HARD_TIMEOUT_S)
    try:
        asyncio.run(run(url, scenario))
    except StepFailed as err:
        fail(str(err))
    except Exception as err:  # noqa: BLE001 - any error is a failed run, shown with its type
        fail(f"{type(err).__name__}: {err}")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
