"""python-socketio's AsyncClient against the event middleware of tests/tests/macro_handlers.rs
(namespace /guarded of `event_middleware_sees_changes_and_refuses_events`).

Usage: python tests/python/pipeline_client.py <url>

Checks that the middleware's work reaches an official client: a renamed event whose argument
the middleware extended is answered by the new name's handler; a refused event with an ack gets
the error object as its ack; a refused event without an ack is answered by an `event_refused`
event naming it. Prints `PASS <check>` per check; exits 0 when all passed, else 1 with the
reason on stderr. Bounded by a hard 30 s timeout.
"""

import asyncio
import signal
import sys

import socketio

HARD_TIMEOUT_S = 30
STEP_TIMEOUT_S = 5.0
NAMESPACE = "/guarded"


def fail(reason):
    print(f"FAIL: {reason}", file=sys.stderr)
    sys.exit(1)


def expect(what, got, wanted):
    if got != wanted:
        fail(f"{what}: got {got!r}, wanted {wanted!r}")
    print(f"PASS {what}", flush=True)


async def main(url):
    client = socketio.AsyncClient(reconnection=False)
    refused = asyncio.get_running_loop().create_future()

    @client.on("event_refused", namespace=NAMESPACE)
    async def on_refused(data):
        if not refused.done():
            refused.set_result(data)

    await client.connect(url, namespaces=[NAMESPACE], wait_timeout=STEP_TIMEOUT_S)

    renamed = await client.call("old-name", "kept", namespace=NAMESPACE, timeout=STEP_TIMEOUT_S)
    expect("renamed event and changed argument", renamed, ("kept", "added"))

    refusal = await client.call("admin:wipe", namespace=NAMESPACE, timeout=STEP_TIMEOUT_S)
    expect("refusal as the ack", refusal, {"error": "admin:wipe is for admins"})

    await client.emit("admin:quiet", namespace=NAMESPACE)
    told = await asyncio.wait_for(refused, STEP_TIMEOUT_S)
    expect(
        "refusal as an event_refused event",
        told,
        {"event": "admin:quiet", "message": "admin:quiet is for admins"},
    )
    await client.disconnect()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: pipeline_client.py <url>")
    signal.signal(signal.SIGALRM, lambda *_: fail(f"hard timeout of {HARD_TIMEOUT_S}s"))
    signal.alarm(HARD_TIMEOUT_S)
    asyncio.run(main(sys.argv[1]))
