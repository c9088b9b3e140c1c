// Drives the conformance `/engine.io/` echo server with the official `engine.io-client`.
//
// Usage: node tests/js/engine_client.mjs <url> <polling|websocket|upgrade>
//
// Prints one JSON line per step on stdout. Exits 0 when every step passed; otherwise prints
// the reason on stderr and exits 1. The whole run is bounded by a hard 15 s timeout.
//
// The package is resolved from the repository's node_modules (installed by scripts/test.sh).
import { Socket } from "engine.io-client";

const HARD_TIMEOUT_MS = 15_000;
// Long enough for a slow debug build on a busy 2-core machine, short enough to fail fast.
const STEP_TIMEOUT_MS = 5_000;
const HEARTBEAT_MIN_MS = 1_000;
const HEARTBEAT_MIN_PINGS = 2;
const ORDERED_COUNT = 20;

const SCENARIOS = {
  polling: { transports: ["polling"], upgrade: false },
  websocket: { transports: ["websocket"] },
  // The client's defaults: open over polling, then probe and upgrade to WebSocket.
  upgrade: {},
};

function fail(reason) {
  process.stderr.write(`FAIL: ${reason}\n`);
  process.exit(1);
}

function report(step, details = {}) {
  process.stdout.write(`${JSON.stringify({ step, ok: true, ...details })}\n`);
}

const [url, scenario] = process.argv.slice(2);
if (!url || !(scenario in SCENARIOS)) {
  fail(`usage: node engine_client.mjs <url> <${Object.keys(SCENARIOS).join("|")}>`);
}

setTimeout(() => fail(`hard timeout of ${HARD_TIMEOUT_MS} ms reached`), HARD_TIMEOUT_MS).unref();

/** Messages arrive here; `next()` hands them out in arrival order. */
class Inbox {
  constructor() {
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    const waiter = this.waiters.shift();
    if (waiter) waiter(item);
    else this.items.push(item);
  }

  next(what) {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    return withTimeout(
      new Promise((resolve) => this.waiters.push(resolve)),
      `waiting for ${what}`,
    );
  }
}

function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The bytes of a binary message (Buffer, typed array or ArrayBuffer); null for anything else. */
function bytesOf(data) {
  if (ArrayBuffer.isView(data)) return Array.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  if (data instanceof ArrayBuffer) return Array.from(new Uint8Array(data));
  return null;
}

function describe(data) {
  if (typeof data === "string") return `text ${JSON.stringify(data)}`;
  const bytes = bytesOf(data);
  return bytes === null ? `${typeof data} ${String(data)}` : `binary [${bytes.join(",")}]`;
}

async function run() {
  const options = { path: "/engine.io/", ...SCENARIOS[scenario] };
  const socket = new Socket(url, options);

  const inbox = new Inbox();
  let pings = 0;
  // Set once the test itself calls close(); any close before that is a failure.
  let closing = false;
  let closeSeen;
  const closed = new Promise((resolve) => {
    closeSeen = resolve;
  });

  const opened = withTimeout(
    new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", (err) => reject(new Error(`connection error: ${err?.message ?? err}`)));
    }),
    "for the open event",
  );
  // Registered before the connection opens so that an early upgrade is not missed.
  const upgraded = new Promise((resolve, reject) => {
    socket.once("upgrade", (transport) => resolve(transport.name));
    socket.once("upgradeError", (err) => reject(new Error(`upgrade failed: ${err?.message ?? err}`)));
  });
  // Keep an unhandled rejection from killing the process in scenarios that never upgrade.
  upgraded.catch(() => {});

  socket.on("message", (data) => inbox.push(data));
  socket.on("ping", () => {
    pings += 1;
  });
  socket.on("close", (reason, description) => {
    if (!closing) {
      const detail = description ? ` (${description?.message ?? JSON.stringify(description)})` : "";
      fail(`connection closed unexpectedly: ${reason}${detail}`);
    }
    closeSeen(reason);
  });

  await opened;
  report("open", { transport: socket.transport.name, sid: socket.id });
  const expectedFirst = scenario === "websocket" ? "websocket" : "polling";
  if (socket.transport.name !== expectedFirst) {
    throw new Error(`opened over ${socket.transport.name}, expected ${expectedFirst}`);
  }

  // In the upgrade scenario this message is written while the probe is starting, so the
  // server has to carry it across the transport switch.
  socket.send("hello");
  const echoed = await inbox.next("the text echo");
  if (echoed !== "hello") throw new Error(`text echo: expected text "hello", got ${describe(echoed)}`);
  report("text-echo", { transport: socket.transport.name });

  if (scenario === "upgrade") {
    const name = await withTimeout(upgraded, "for the upgrade event");
    if (name !== "websocket" || socket.transport.name !== "websocket") {
      throw new Error(`upgraded to ${name}, transport now ${socket.transport.name}`);
    }
    report("upgrade", { transport: socket.transport.name });
  }

  const sent = [1, 2, 3, 250];
  socket.send(new Uint8Array(sent));
  const binary = await inbox.next("the binary echo");
  const got = bytesOf(binary);
  if (got === null) throw new Error(`binary echo: expected binary, got ${describe(binary)}`);
  if (got.join(",") !== sent.join(",")) {
    throw new Error(`binary echo: expected [${sent}], got [${got}]`);
  }
  report("binary-echo", { bytes: got, transport: socket.transport.name });

  const outgoing = Array.from({ length: ORDERED_COUNT }, (_, i) => `message ${i}`);
  for (const text of outgoing) socket.send(text);
  for (let i = 0; i < outgoing.length; i += 1) {
    const message = await inbox.next(`ordered message ${i}`);
    if (message !== outgoing[i]) {
      throw new Error(`in-order echo: at ${i} expected ${JSON.stringify(outgoing[i])}, got ${describe(message)}`);
    }
  }
  report("in-order", { count: ORDERED_COUNT, transport: socket.transport.name });

  // Heartbeats: count pings from here; the session must survive them without closing.
  const pingsBefore = pings;
  const started = Date.now();
  await withTimeout(
    new Promise((resolve) => {
      const check = () => {
        const elapsed = Date.now() - started;
        if (elapsed >= HEARTBEAT_MIN_MS && pings - pingsBefore >= HEARTBEAT_MIN_PINGS) resolve();
        else setTimeout(check, 50);
      };
      check();
    }),
    `for ${HEARTBEAT_MIN_PINGS} pings (saw ${pings - pingsBefore})`,
  );
  if (socket.readyState !== "open") throw new Error(`after heartbeats the socket is ${socket.readyState}`);
  report("heartbeat", {
    pings: pings - pingsBefore,
    elapsed_ms: Date.now() - started,
    transport: socket.transport.name,
  });

  if (scenario !== "polling" && socket.transport.name !== "websocket") {
    throw new Error(`expected to end on websocket, ended on ${socket.transport.name}`);
  }
  if (scenario === "polling" && socket.transport.name !== "polling") {
    throw new Error(`expected to stay on polling, ended on ${socket.transport.name}`);
  }

  closing = true;
  socket.close();
  const reason = await withTimeout(closed, "for the close event");
  if (reason !== "forced close") throw new Error(`close reason: expected "forced close", got ${JSON.stringify(reason)}`);
  report("close", { reason });
}

run().then(
  () => process.exit(0),
  (err) => fail(err?.message ?? String(err)),
);
