// Drives a server implementing the `/socket.io/` contract (docs/PROGRAMS.md, `conformance`: namespaces `/`,
// `/custom`, `/chat`) with the official `socket.io-client`.
//
// Usage: node tests/js/socketio_client.mjs <url> <polling|websocket|default>
//   polling    only HTTP long-polling
//   websocket  only WebSocket, opened directly
//   default    the client's defaults: open over polling, upgrade; must end on WebSocket
//
// Prints one JSON line per step on stdout. Exits 0 when every step passed; otherwise prints the
// reason on stderr and exits 1. The whole run is bounded by a hard 30 s timeout.
//
// Room names are unique per run and every wait filters on what this run sent, so several runs
// may share one server.
//
// The package is resolved from the repository's node_modules (installed by scripts/test.sh).
import { randomBytes } from "node:crypto";
import { Manager } from "socket.io-client";

const HARD_TIMEOUT_MS = 30_000;
// Long enough for a slow debug build on a busy 2-core machine, short enough to fail fast.
const STEP_TIMEOUT_MS = 5_000;
const ORDERED_COUNT = 50;
// Over polling the client puts everything queued into one POST, and python-engineio servers refuse
// a payload of more than 16 packets (they also answer a GET with everything queued, which a
// Python client refuses past 16). Bursts of 10 leave room for a pong or a ping in the same batch.
// The same burst size is used on every transport to keep one code path.
const ORDERED_BURST = 10;
const HEARTBEAT_MIN_MS = 1_200;
const LARGE_TEXT_CHARS = 200_000;
const LARGE_BINARY_BYTES = 100_000;
const SECRET_AUTH = { token: "secret" };

const SCENARIOS = {
  polling: { transports: ["polling"] },
  websocket: { transports: ["websocket"] },
  default: {},
};

let currentStep = "setup";
// Set once the run is over and the clients are being closed.
let closing = false;

function fail(reason) {
  process.stderr.write(`FAIL [${currentStep}]: ${reason}\n`);
  process.exit(1);
}

function report(step, details = {}) {
  process.stdout.write(`${JSON.stringify({ step, ok: true, ...details })}\n`);
}

const [url, scenario] = process.argv.slice(2);
if (!url || !(scenario in SCENARIOS)) {
  fail(`usage: node socketio_client.mjs <url> <${Object.keys(SCENARIOS).join("|")}>`);
}

setTimeout(() => fail(`hard timeout of ${HARD_TIMEOUT_MS} ms reached`), HARD_TIMEOUT_MS).unref();

function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function isBinary(value) {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

function bytesOf(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * A JSON text that stands for `value`, binary included (as `{"$binary": "<hex>"}`). Object keys
 * keep their order, so comparing two of these also checks that the key order survived.
 */
function canonical(value) {
  return JSON.stringify(toPlain(value)) ?? String(value);
}

// Converted before JSON.stringify sees it, which would turn a Buffer into {type, data}.
function toPlain(value) {
  if (isBinary(value)) return { $binary: Buffer.from(bytesOf(value)).toString("hex") };
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v);
    return out;
  }
  return value;
}

function short(value, max = 200) {
  const text = canonical(value);
  return text.length > max ? `${text.slice(0, max)}… (${text.length} chars)` : text;
}

function expectSame(what, got, expected) {
  const a = canonical(got);
  const b = canonical(expected);
  if (a !== b) throw new Error(`${what}: expected ${short(expected)}, got ${short(got)}`);
}

/** Events of one socket, in arrival order; `take()` removes the first one that matches. */
class Inbox {
  constructor() {
    this.items = [];
    this.waiters = [];
  }

  push(event, args) {
    this.items.push({ event, args });
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** The first queued event named `event` whose args satisfy `accept`, removed; or undefined. */
  poll(event, accept = () => true) {
    const index = this.items.findIndex((item) => item.event === event && accept(item.args));
    if (index < 0) return undefined;
    return this.items.splice(index, 1)[0].args;
  }

  /** Like `poll`, but waits (with the step timeout) for the event to arrive. */
  take(event, what, accept = () => true) {
    return withTimeout(
      new Promise((resolve) => {
        const attempt = () => {
          const args = this.poll(event, accept);
          if (args === undefined) this.waiters.push(attempt);
          else resolve(args);
        };
        attempt();
      }),
      `waiting for ${what}`,
    );
  }
}

/** One socket.io-client Manager (one engine connection) and the namespace sockets on it. */
class Client {
  constructor(name) {
    this.name = name;
    this.manager = new Manager(url, {
      path: "/socket.io/",
      reconnection: false,
      timeout: STEP_TIMEOUT_MS,
      ...SCENARIOS[scenario],
    });
    // Namespaces this client is about to leave on purpose; any other disconnect fails the run.
    this.leaving = new Set();
    this.pings = 0;
    this.manager.on("ping", () => {
      this.pings += 1;
    });
    this.openedOn = undefined;
    this.manager.engine.once("open", () => {
      this.openedOn = this.manager.engine.transport.name;
    });
    this.upgraded = new Promise((resolve) => {
      this.manager.engine.once("upgrade", (transport) => resolve(transport.name));
    });
  }

  /** Opens namespace `nsp`; resolves with the socket and its inbox once the server accepts. */
  open(nsp, auth, { expectRefusal = false } = {}) {
    const socket = this.manager.socket(nsp, auth === undefined ? {} : { auth });
    const inbox = new Inbox();
    socket.onAny((event, ...args) => {
      // The callback of an event that wants an ack is handled by a dedicated listener.
      if (args.length > 0 && typeof args[args.length - 1] === "function") args = args.slice(0, -1);
      inbox.push(event, args);
    });
    socket.on("disconnect", (reason, description) => {
      if (!this.leaving.has(nsp) && !closing) {
        const detail = description?.message ?? description?.description?.message ?? "";
        fail(`${this.name} was disconnected from ${nsp}: ${reason}${detail ? ` (${detail})` : ""}`);
      }
      inbox.push("$disconnect", [reason, description]);
    });
    socket.on("connect_error", (err) => inbox.push("$connect_error", [err]));
    const settled = withTimeout(
      new Promise((resolve, reject) => {
        socket.once("connect", () => {
          if (expectRefusal) reject(new Error(`${this.name} ${nsp}: connected, expected a refusal`));
          else resolve();
        });
        socket.once("connect_error", (err) => {
          if (expectRefusal) resolve();
          else reject(new Error(`${this.name} ${nsp}: connect_error ${err?.message ?? err}`));
        });
      }),
      `for ${this.name} to connect to ${nsp}`,
    );
    return settled.then(() => ({ socket, inbox }));
  }

  get transport() {
    return this.manager.engine?.transport?.name;
  }

  get engineId() {
    return this.manager.engine?.id;
  }

  close() {
    this.manager.engine?.close();
  }
}

/** Emits `event` with an ack; resolves with the ack's argument list. */
function ack(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(STEP_TIMEOUT_MS).emit(event, ...args, (err, ...reply) => {
      if (err) reject(new Error(`no ack for ${event} within ${STEP_TIMEOUT_MS} ms`));
      else resolve(reply);
    });
  });
}

async function step(name, body) {
  currentStep = name;
  const details = await body();
  report(name, details ?? {});
}

async function run() {
  const runId = randomBytes(4).toString("hex");
  const clients = [];
  const newClient = (name) => {
    const client = new Client(name);
    clients.push(client);
    return client;
  };

  const main = newClient("main");
  let root;
  let chat;

  await step("connect-root", async () => {
    root = await main.open("/");
    const [auth] = await root.inbox.take("auth", "the auth event on /");
    expectSame("auth on / (no auth sent)", auth, {});
    const expected = scenario === "websocket" ? "websocket" : "polling";
    if (main.openedOn !== expected) throw new Error(`opened over ${main.openedOn}, expected ${expected}`);
    return { opened_on: main.openedOn, transport: main.transport, sid: root.socket.id };
  });

  await step("message-back", async () => {
    const args = ["text", 7, { z: 1, a: [Buffer.from([0, 1, 2, 255])] }, Buffer.from("raw")];
    root.socket.emit("message", ...args);
    const back = await root.inbox.take("message-back", "message-back");
    expectSame("message-back", back, args);
    return { args: args.length, transport: main.transport };
  });

  await step("message-with-ack", async () => {
    const args = [1, "two", { three: [3, Buffer.from([3])] }, null, false];
    const reply = await ack(root.socket, "message-with-ack", ...args);
    expectSame("message-with-ack ack", reply, args);
    return { args: args.length, transport: main.transport };
  });

  await step("chat-refused", async () => {
    const intruder = newClient("intruder");
    const { inbox } = await intruder.open("/chat", { token: "wrong" }, { expectRefusal: true });
    const [err] = inbox.poll("$connect_error");
    if (!(err instanceof Error) || err.message !== "unauthorized") {
      throw new Error(`connect_error: expected message "unauthorized", got ${String(err?.message ?? err)}`);
    }
    if (err.data !== undefined) throw new Error(`connect_error carries data ${short(err.data)}`);
    intruder.close();
    return { message: err.message };
  });

  await step("chat-auth", async () => {
    chat = await main.open("/chat", SECRET_AUTH);
    const [auth] = await chat.inbox.take("auth", "the auth event on /chat");
    expectSame("auth on /chat", auth, SECRET_AUTH);
    return { auth, sid: chat.socket.id };
  });

  await step("multiplex", async () => {
    if (root.socket.io !== chat.socket.io) throw new Error("/ and /chat are on different managers");
    if (!main.engineId) throw new Error("no engine id");
    if (!root.socket.connected || !chat.socket.connected) throw new Error("a namespace is not connected");
    if (root.socket.id === chat.socket.id) throw new Error(`/ and /chat share the socket id ${chat.socket.id}`);
    return { engine_id: main.engineId, namespaces: ["/", "/chat"], transport: main.transport };
  });

  if (scenario === "default") {
    await step("upgrade", async () => {
      const name = main.transport === "websocket" ? "websocket" : await withTimeout(main.upgraded, "for the upgrade");
      if (name !== "websocket" || main.transport !== "websocket") {
        throw new Error(`upgraded to ${name}, transport now ${main.transport}`);
      }
      return { transport: main.transport };
    });
  }

  await step("echo-ack", async () => {
    const args = [
      "hello",
      42,
      { z: "last key first", nested: { deep: [Buffer.from([1, 2, 3]), "x"] }, a: 1 },
      [true, { bin: Buffer.from([255, 0, 128]) }, [Buffer.alloc(0)]],
      null,
      Buffer.from([9, 8, 7]),
    ];
    const reply = await ack(chat.socket, "echo-ack", ...args);
    expectSame("echo-ack with nested binary", reply, args);
    const none = await ack(chat.socket, "echo-ack");
    expectSame("echo-ack with no args", none, []);
    return { args: args.length, binaries: 5, transport: main.transport };
  });

  await step("large", async () => {
    const text = "x".repeat(LARGE_TEXT_CHARS - 6) + runId.slice(0, 6);
    const blob = randomBytes(LARGE_BINARY_BYTES);
    const reply = await ack(chat.socket, "echo-ack", text, blob);
    if (reply.length !== 2) throw new Error(`expected 2 args back, got ${reply.length}`);
    if (reply[0] !== text) throw new Error(`the ${text.length}-char string came back altered (${String(reply[0]).length} chars)`);
    if (!isBinary(reply[1])) throw new Error(`the binary came back as ${typeof reply[1]}`);
    if (!Buffer.from(bytesOf(reply[1])).equals(blob)) throw new Error(`the ${blob.length}-byte binary came back altered`);
    return { text_chars: text.length, binary_bytes: blob.length, transport: main.transport };
  });

  await step("in-order", async () => {
    for (let start = 0; start < ORDERED_COUNT; start += ORDERED_BURST) {
      const end = Math.min(start + ORDERED_BURST, ORDERED_COUNT);
      for (let i = start; i < end; i += 1) chat.socket.emit("echo", i, `event ${i}`);
      for (let i = start; i < end; i += 1) {
        const got = await chat.inbox.take("echo", `echo ${i}`);
        expectSame(`echo at position ${i}`, got, [i, `event ${i}`]);
      }
    }
    return { count: ORDERED_COUNT, burst: ORDERED_BURST, transport: main.transport };
  });

  await step("server-ack", async () => {
    const replyBinary = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const replyText = `reply ${runId}`;
    const asked = new Promise((resolve) => {
      chat.socket.once("ack-request", (...args) => {
        const callback = args.pop();
        if (typeof callback !== "function") {
          resolve({ args, error: "ack-request came without an ack id" });
          return;
        }
        callback(replyBinary, replyText);
        resolve({ args });
      });
    });
    const request = ["please answer", { n: 1, bin: Buffer.from([1]) }];
    chat.socket.emit("request-ack", ...request);
    const { args, error } = await withTimeout(asked, "for ack-request");
    if (error) throw new Error(error);
    expectSame("ack-request args", args, request);
    const result = await chat.inbox.take("ack-result", "ack-result");
    expectSame("ack-result args", result, [replyBinary, replyText]);
    if (!isBinary(result[0])) throw new Error("ack-result lost the binary");
    return { transport: main.transport };
  });

  // Rooms: `main` (sender, member), `member` (member), `outsider` (not a member).
  const room = `room-${runId}`;
  const member = newClient("member");
  const outsider = newClient("outsider");
  let memberChat;
  let outsiderChat;
  const isOurs = (marker) => (args) => args[0] === marker;

  await step("rooms", async () => {
    [memberChat, outsiderChat] = await Promise.all([member.open("/chat", SECRET_AUTH), outsider.open("/chat", SECRET_AUTH)]);
    expectSame("join ack (sender)", await ack(chat.socket, "join", room), [room]);
    expectSame("join ack (member)", await ack(memberChat.socket, "join", room), [room]);

    const marker = `to-room ${runId}`;
    const payload = [marker, { bin: Buffer.from([7, 7]) }, 3];
    expectSame("to-room ack", await ack(chat.socket, "to-room", room, ...payload), ["ok"]);
    const got = await memberChat.inbox.take("room-message", "room-message at the member", isOurs(marker));
    expectSame("room-message at the member", got, payload);

    // The server queues the room messages before the ack, so the sender would have received its
    // copy before the ack it already has; the outsider's copy would come before an echo it asks
    // for now.
    const outsiderMarker = `outsider ${runId}`;
    outsiderChat.socket.emit("echo", outsiderMarker);
    await outsiderChat.inbox.take("echo", "the outsider's echo", isOurs(outsiderMarker));
    if (chat.inbox.poll("room-message", isOurs(marker))) throw new Error("the sender received its own room-message");
    if (outsiderChat.inbox.poll("room-message", isOurs(marker))) throw new Error("the non-member received the room-message");
    return { room, transport: main.transport };
  });

  await step("leave", async () => {
    expectSame("leave ack", await ack(memberChat.socket, "leave", room), [room]);
    const marker = `after leave ${runId}`;
    expectSame("to-room ack", await ack(chat.socket, "to-room", room, marker), ["ok"]);
    const probe = `member probe ${runId}`;
    memberChat.socket.emit("echo", probe);
    await memberChat.inbox.take("echo", "the member's echo", isOurs(probe));
    if (memberChat.inbox.poll("room-message", isOurs(marker))) throw new Error("room-message delivered after leave");
    return { room, transport: main.transport };
  });

  await step("heartbeat", async () => {
    const before = main.pings;
    const started = Date.now();
    await withTimeout(
      new Promise((resolve) => {
        const check = () => {
          if (Date.now() - started >= HEARTBEAT_MIN_MS && main.pings > before) resolve();
          else setTimeout(check, 50);
        };
        check();
      }),
      `for a ping (saw ${main.pings - before})`,
    );
    if (!root.socket.connected || !chat.socket.connected) throw new Error("disconnected during the heartbeats");
    return { pings: main.pings - before, elapsed_ms: Date.now() - started, transport: main.transport };
  });

  await step("server-disconnect", async () => {
    const leaverId = outsiderChat.socket.id;
    outsider.leaving.add("/chat");
    outsiderChat.socket.emit("disconnect-me");
    const [reason] = await outsiderChat.inbox.take("$disconnect", "the disconnect event");
    if (reason !== "io server disconnect") throw new Error(`disconnect reason: expected "io server disconnect", got ${JSON.stringify(reason)}`);
    const [left] = await chat.inbox.take("peer-left", `peer-left for ${leaverId}`, (args) => args[0] === leaverId);
    return { reason, peer_left: left };
  });

  await step("client-disconnect", async () => {
    const leaverId = memberChat.socket.id;
    member.leaving.add("/chat");
    memberChat.socket.disconnect();
    const [reason] = await memberChat.inbox.take("$disconnect", "the disconnect event");
    if (reason !== "io client disconnect") throw new Error(`disconnect reason: expected "io client disconnect", got ${JSON.stringify(reason)}`);
    const [left] = await chat.inbox.take("peer-left", `peer-left for ${leaverId}`, (args) => args[0] === leaverId);
    return { reason, peer_left: left };
  });

  await step("transport", async () => {
    const expected = scenario === "polling" ? "polling" : "websocket";
    if (main.transport !== expected) throw new Error(`expected to end on ${expected}, ended on ${main.transport}`);
    if (!root.socket.connected || !chat.socket.connected) throw new Error("the main client is no longer connected");
    return { transport: main.transport, engine_id: main.engineId };
  });

  currentStep = "close";
  closing = true;
  for (const client of clients) client.close();
}

run().then(
  () => process.exit(0),
  (err) => fail(err?.message ?? String(err)),
);
