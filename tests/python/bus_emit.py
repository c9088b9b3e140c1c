"""Publish one message on a Socket.IO cluster's bus from outside any server (docs/PROGRAMS.md, `cluster_node`).

A write-only python-socketio manager, as an application would use one to reach the clients of a
cluster from a worker process:

    python tests/python/bus_emit.py --redis redis://127.0.0.1:6390/0 \\
        --namespace /chat --room R --event room-message --data '"hello"' --data '{"n":1}'
    python tests/python/bus_emit.py --amqp amqp://guest:guest@127.0.0.1:5672// --room R ...
    python tests/python/bus_emit.py --redis URL --method enter_room --sid SID --room R
    python tests/python/bus_emit.py --redis URL --method leave_room --sid SID --room R
    python tests/python/bus_emit.py --redis URL --method close_room --room R
    python tests/python/bus_emit.py --redis URL --method disconnect --sid SID

Options: `--channel` (default `socketio`: the Redis channel, or the AMQP exchange), `--namespace`
(default `/chat`), `--event` (default `room-message`), `--room` (omit it to emit to the whole
namespace), `--skip-sid SID`.

`--data JSON` is one argument of the event; repeat it for several (none: an event without
arguments). A JSON object that is exactly `{"$binary": "<hex>"}`, at any depth, becomes bytes, so
python-socketio publishes the message with `"binary": true`.

Redis uses `socketio.RedisManager(url, write_only=True)`; AMQP uses
`socketio.AsyncAioPikaManager(url, write_only=True)` (aio-pika, with publisher confirms, so the
message is on the broker when this exits). Prints `sent` and exits 0; exits 1 when publishing
failed (python-socketio's managers only log that, so this checks it).

`disconnect` is published as the raw bus message: python-socketio's write-only managers try to
run a local server's disconnect first and fail without one.
"""

import argparse
import asyncio
import inspect
import json
import sys

import socketio

METHODS = ("emit", "enter_room", "leave_room", "close_room", "disconnect")


def decode_arg(value):
    """JSON value → event argument, with `{"$binary": "<hex>"}` turned into bytes."""
    if isinstance(value, dict):
        if list(value) == ["$binary"] and isinstance(value["$binary"], str):
            return bytes.fromhex(value["$binary"])
        return {k: decode_arg(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_arg(v) for v in value]
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    bus = parser.add_mutually_exclusive_group(required=True)
    bus.add_argument("--redis", metavar="URL")
    bus.add_argument("--amqp", metavar="URL")
    parser.add_argument("--channel", default="socketio")
    parser.add_argument("--method", choices=METHODS, default="emit")
    parser.add_argument("--namespace", default="/chat")
    parser.add_argument("--room")
    parser.add_argument("--event", default="room-message")
    parser.add_argument("--data", action="append", default=[], metavar="JSON")
    parser.add_argument("--sid")
    parser.add_argument("--skip-sid")
    args = parser.parse_args(argv)
    try:
        args.data = tuple(decode_arg(json.loads(text)) for text in args.data)
    except ValueError as err:
        parser.error(f"--data is not JSON: {err}")
    if args.method in ("enter_room", "leave_room", "disconnect") and not args.sid:
        parser.error(f"--method {args.method} needs --sid")
    if args.method in ("enter_room", "leave_room", "close_room") and args.room is None:
        parser.error(f"--method {args.method} needs --room")
    return args


class Publishing:
    """Wraps a manager's `_publish` to learn whether it went through (it only logs failures)."""

    def __init__(self, manager):
        self.ok = False
        self.manager = manager
        inner = manager._publish

        if inspect.iscoroutinefunction(inner):

            async def publish(data):
                result = await inner(data)
                self.ok = self.ok or self.published(result)
                return result

        else:

            def publish(data):
                result = inner(data)
                self.ok = self.ok or self.published(result)
                return result

        manager._publish = publish

    @staticmethod
    def published(result):
        # RedisManager returns the number of subscribers (None when it gave up); the aio-pika
        # manager returns None either way and raises nothing, so it is judged by its logs:
        # see `send_amqp`.
        return result is not None


def perform(manager, args):
    """Runs the method on `manager`; returns what the manager call returned (maybe awaitable)."""
    ns = args.namespace
    if args.method == "emit":
        return manager.emit(args.event, args.data, namespace=ns, room=args.room, skip_sid=args.skip_sid)
    if args.method == "enter_room":
        return manager.enter_room(args.sid, ns, args.room)
    if args.method == "leave_room":
        return manager.leave_room(args.sid, ns, args.room)
    if args.method == "close_room":
        return manager.close_room(args.room, namespace=ns)
    return manager._publish(
        {"method": "disconnect", "sid": args.sid, "namespace": ns, "host_id": manager.host_id}
    )


def send_redis(args):
    manager = socketio.RedisManager(args.redis, channel=args.channel, write_only=True)
    publishing = Publishing(manager)
    perform(manager, args)
    return publishing.ok


async def send_amqp(args):
    manager = socketio.AsyncAioPikaManager(args.amqp, channel=args.channel, write_only=True)
    errors = []

    class Recorder:
        def error(self, message, *rest, **kwargs):
            errors.append(message % rest if rest else message)

        def __getattr__(self, name):
            return lambda *a, **k: None

    manager.logger = Recorder()
    await perform(manager, args)
    if manager.publisher_connection is not None:
        await manager.publisher_connection.close()
    for error in errors:
        sys.stderr.write(f"bus_emit: {error}\n")
    # Any logged error means at least one attempt failed; "giving up" means the message is lost.
    return manager.publisher_connection is not None and not any("giving up" in e for e in errors)


def main():
    args = parse_args(sys.argv[1:])
    try:
        ok = send_redis(args) if args.redis else asyncio.run(send_amqp(args))
    except Exception as err:  # noqa: BLE001 - report any failure as exit status 1
        sys.stderr.write(f"bus_emit: {err!r}\n")
        sys.exit(1)
    if not ok:
        sys.stderr.write("bus_emit: publishing failed\n")
        sys.exit(1)
    print("sent", flush=True)


if __name__ == "__main__":
    main()
