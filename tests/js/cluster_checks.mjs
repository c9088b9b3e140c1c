// Cluster checks (docs/PROGRAMS.md, `cluster_node`): several server nodes on one message bus must behave as
// one server for the `/chat` contract of §1. Drives them with the official `socket.io-client`.
//
// Usage:
//   node tests/js/cluster_checks.mjs --nodes http://127.0.0.1:A,http://127.0.0.1:B[,…]
//        [--transport websocket|polling|default]      (default: websocket)
//        [--python-emit "<shell command>"]            (enables check 9)
//        [--python-emit-expect '<JSON array>']        (the args check 9 must receive)
//
// Prints `PASS <n> <name>` or `FAIL <n> <name>: <reason>` per check and a last line
// `N passed, M failed`; exits 0 only when every check passed. The whole run is bounded by a hard
// timeout. Clients are spread over the nodes, and most checks are repeated from every node, so a
// mixed cluster is exercised in both directions.
//
// Check 9 runs the `--python-emit` command through `sh -c` after replacing `{room}` with a room
// that members on every node joined (and `{marker}` with a unique string); the command is meant
// to be tests/python/bus_emit.py publishing `room-message` to that room on the bus. Every member
// must receive exactly one `room-message` (with the `--python-emit-expect` args when given, where
// `{marker}` is replaced too, and `{"$binary": "<hex>"}` stands for binary), non-members none.
//
// Synchronisation is by events only. A non-delivery is proven by ordering: after the message that
// must not arrive, the same sender sends a marker through the same path (same sending node, same
// bus, same receiving node) to a room the receiver is in, and the receiver checks what came before
// the marker. This relies on what §4 implies for any bus: one node's publications reach each other
// node in the order they were published, and a node acks `to-room` only after publishing. The
// sender's own copy would be queued on its node before the `to-room` ack, so it is checked after
// the ack.
//
// Room names are unique per run and every wait filters on what this run sent, so several runs may
// share one cluster.
//
// The package is resolved from the repository's node_modules (installed by scripts/test.sh).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { io } from "socket.io-client";

const HARD_TIMEOUT_MS = 300_000;
// One step (a connect, an ack, an event) on a slow debug build on a busy 2-core machine.
const STEP_TIMEOUT_MS = 8_000;
const CHECK_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 30_000;
const SECRET = "secret";

const TRANSPORTS = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
  default: {},
};

function usage(message) {
  process.stderr.write(
    `${message}\nusage: node cluster_checks.mjs --nodes URL,URL[,…] [--transport websocket|polling|default] ` +
      `[--python-emit "<command with {room}>"] [--python-emit-expect '<JSON array>']\n`,
  );
  process.exit(2);
}

function parseArgs(argv) {
  const options = { nodes: [], transport: "websocket", pythonEmit: undefined, pythonEmitExpect: undefined };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined) usage(`${flag} needs a value`);
    i += 1;
    if (flag === "--nodes") options.nodes = value.split(",").map((s) => s.trim()).filter(Boolean);
    else if (flag === "--transport") options.transport = value;
    else if (flag === "--python-emit") options.pythonEmit = value;
    else if (flag === "--python-emit-expect") options.pythonEmitExpect = value;
    else usage(`unknown option ${flag}`);
  }
  if (options.nodes.length === 0) usage("--nodes is required");
  if (!(options.transport in TRANSPORTS)) usage(`bad --transport ${options.transport}`);
  return options;
}

const options = parseArgs(process.argv.slice(2));
const NODES = options.nodes;
const N = NODES.length;
const runId = randomBytes(4).toString("hex");

setTimeout(() => {
  process.stdout.write(`FAIL 0 run: hard timeout of ${HARD_TIMEOUT_MS} ms reached\n`);
  process.exit(1);
}, HARD_TIMEOUT_MS).unref();

// ---------------------------------------------------------------------------------------------
// Values

function isBinary(value) {
  return ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

function bytesOf(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
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

/** JSON text standing for `value`, binary as `{"$binary":"<hex>"}`; keeps object key order. */
function canonical(value) {
  return JSON.stringify(toPlain(value)) ?? String(value);
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

function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Accepts event args whose first arg is `marker`. */
const first = (marker) => (args) => args[0] === marker;

// ---------------------------------------------------------------------------------------------
// Clients

/** Events of one socket, in arrival order; `take()` removes the first one that matches. */
class Inbox {
  constructor(owner) {
    this.owner = owner;
    this.items = [];
    this.waiters = [];
    this.dead = undefined; // why the socket went away unexpectedly
  }

  push(event, args) {
    this.items.push({ event, args });
    this.wake();
  }

  wake() {
    for (const wake of this.waiters.splice(0)) wake();
  }

  /** The first queued `event` whose args satisfy `accept`, removed; or undefined. */
  poll(event, accept = () => true) {
    const index = this.items.findIndex((item) => item.event === event && accept(item.args));
    if (index < 0) return undefined;
    return this.items.splice(index, 1)[0].args;
  }

  /** Every queued `event` whose args satisfy `accept`, removed. */
  pollAll(event, accept = () => true) {
    const out = [];
    for (let args = this.poll(event, accept); args !== undefined; args = this.poll(event, accept)) out.push(args);
    return out;
  }

  /** Like `poll`, but waits (with the step timeout) for the event to arrive. */
  take(event, what, accept = () => true) {
    return withTimeout(
      new Promise((resolve, reject) => {
        const attempt = () => {
          const args = this.poll(event, accept);
          if (args !== undefined) resolve(args);
          else if (this.dead !== undefined && event !== "$disconnect") {
            reject(new Error(`${this.owner} was disconnected (${this.dead}) while waiting for ${what}`));
          } else this.waiters.push(attempt);
        };
        attempt();
      }),
      `${this.owner} waiting for ${what}`,
    );
  }
}

/** One `/chat` socket on its own engine connection to node `node`. */
class ChatClient {
  constructor(node, name, auth = { token: SECRET }) {
    this.node = node;
    this.name = `${name}@node${node}`;
    this.inbox = new Inbox(this.name);
    this.leaving = false;
    this.socket = io(`${NODES[node]}/chat`, {
      path: "/socket.io/",
      forceNew: true,
      reconnection: false,
      timeout: STEP_TIMEOUT_MS,
      auth,
      ...TRANSPORTS[options.transport],
    });
    this.socket.onAny((event, ...args) => {
      // An event that wants an ack ends with its callback; the checks that answer acks listen
      // for that event themselves.
      if (args.length > 0 && typeof args[args.length - 1] === "function") args = args.slice(0, -1);
      this.inbox.push(event, args);
    });
    this.socket.on("disconnect", (reason) => {
      if (!this.leaving) this.inbox.dead = reason;
      this.inbox.push("$disconnect", [reason]);
    });
    this.socket.on("connect_error", (err) => this.inbox.push("$connect_error", [err]));
  }

  /** Resolves once the server accepted the connection (rejects on a refusal). */
  connected() {
    return withTimeout(
      new Promise((resolve, reject) => {
        if (this.socket.connected) resolve(this);
        this.socket.once("connect", () => resolve(this));
        this.socket.once("connect_error", (err) => reject(new Error(`${this.name}: connect_error ${err?.message ?? err}`)));
      }),
      `for ${this.name} to connect`,
    );
  }

  get id() {
    return this.socket.id;
  }

  /** Emits `event` with an ack; resolves with the ack's argument list. */
  ack(event, ...args) {
    return new Promise((resolve, reject) => {
      this.socket.timeout(STEP_TIMEOUT_MS).emit(event, ...args, (err, ...reply) => {
        if (!err) resolve(reply);
        else if (this.inbox.dead !== undefined) reject(new Error(`${this.name} was disconnected (${this.inbox.dead}) waiting for the ${event} ack`));
        else reject(new Error(`${this.name}: no ack for ${event} within ${STEP_TIMEOUT_MS} ms`));
      });
    });
  }

  async join(room) {
    expectSame(`${this.name} join ack`, await this.ack("join", room), [room]);
  }

  async leave(room) {
    expectSame(`${this.name} leave ack`, await this.ack("leave", room), [room]);
  }

  /** `to-room` (room, …args), expecting the ack `"ok"`. */
  async toRoom(room, ...args) {
    expectSame(`${this.name} to-room ack`, await this.ack("to-room", room, ...args), ["ok"]);
  }

  close() {
    this.leaving = true;
    this.socket.disconnect();
  }
}

/** The clients one check opened; all closed when the check ends. */
class Scope {
  constructor() {
    this.clients = [];
  }

  /** A connected `/chat` client on node `node % N`. */
  async client(node, name) {
    const client = new ChatClient(node % N, name);
    this.clients.push(client);
    return client.connected();
  }

  /** One connected client per node, named `name`. */
  perNode(name) {
    return Promise.all(NODES.map((_, node) => this.client(node, name)));
  }

  close() {
    for (const client of this.clients) client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Checks

const results = [];

async function check(n, name, body) {
  const scope = new Scope();
  try {
    await withTimeout(body(scope), `(check ${name} as a whole)`, CHECK_TIMEOUT_MS);
    results.push(true);
    process.stdout.write(`PASS ${n} ${name}\n`);
  } catch (err) {
    results.push(false);
    const reason = String(err?.message ?? err).replace(/\s+/g, " ");
    process.stdout.write(`FAIL ${n} ${name}: ${reason}\n`);
  } finally {
    scope.close();
  }
}

/** Sender nodes to repeat a check from: every node. */
const everyNode = NODES.map((_, node) => node);

async function chatAuth(scope) {
  for (const node of everyNode) {
    const auth = { token: SECRET, user: `u-${runId}`, n: [1, { deep: true }] };
    const good = new ChatClient(node, "auth", auth);
    scope.clients.push(good);
    await good.connected();
    const [got] = await good.inbox.take("auth", "the auth event");
    expectSame(`auth on /chat at node ${node}`, got, auth);

    const bad = new ChatClient(node, "intruder", { token: "wrong" });
    scope.clients.push(bad);
    const [err] = await bad.inbox.take("$connect_error", "the refusal of a wrong token");
    if (!(err instanceof Error) || err.message !== "unauthorized") {
      throw new Error(`node ${node}: wrong token: expected connect_error "unauthorized", got ${String(err?.message ?? err)}`);
    }
  }
}

async function toRoomAcrossNodes(scope) {
  for (const from of everyNode) {
    const room = `${runId}-b${from}`;
    const control = `${room}-ctl`;
    const sender = await scope.client(from, "sender");
    const members = await scope.perNode("member");
    const outsiders = await scope.perNode("outsider");
    await sender.join(room);
    await Promise.all(members.map(async (m) => {
      await m.join(room);
      await m.join(control);
    }));
    await Promise.all(outsiders.map((o) => o.join(control)));

    const marker = `b ${runId} from node ${from}`;
    const payload = [marker, { n: from, nested: { k: [1, "two", null] }, z: 0.5 }, "tail"];
    await sender.toRoom(room, ...payload);
    const end = `b-end ${runId} from node ${from}`;
    await sender.toRoom(control, end);

    await Promise.all(members.map(async (m) => {
      const got = await m.inbox.take("room-message", `room-message from node ${from}`, first(marker));
      expectSame(`room-message at ${m.name}`, got, payload);
      await m.inbox.take("room-message", "the control marker", first(end));
      if (m.inbox.poll("room-message", first(marker))) throw new Error(`${m.name} received the room-message twice`);
    }));
    await Promise.all(outsiders.map(async (o) => {
      await o.inbox.take("room-message", "the control marker", first(end));
      if (o.inbox.poll("room-message", first(marker))) throw new Error(`non-member ${o.name} received the room-message`);
    }));
    if (sender.inbox.poll("room-message", first(marker))) throw new Error(`the sender ${sender.name} received its own room-message`);
  }
}

async function joinLeave(scope) {
  const room = `${runId}-c`;
  const control = `${room}-ctl`;
  const sender = await scope.client(0, "sender");
  const leavers = await scope.perNode("leaver");
  const stayer = await scope.client(1, "stayer");
  await Promise.all(leavers.map(async (l) => {
    await l.join(room);
    await l.join(control);
  }));
  await stayer.join(room);

  const before = `c-before ${runId}`;
  await sender.toRoom(room, before);
  await Promise.all([...leavers, stayer].map((c) => c.inbox.take("room-message", "room-message after join", first(before))));

  await Promise.all(leavers.map((l) => l.leave(room)));
  const after = `c-after ${runId}`;
  await sender.toRoom(room, after);
  const end = `c-end ${runId}`;
  await sender.toRoom(control, end);
  await stayer.inbox.take("room-message", "room-message at the member that stayed", first(after));
  await Promise.all(leavers.map(async (l) => {
    await l.inbox.take("room-message", "the control marker", first(end));
    if (l.inbox.poll("room-message", first(after))) throw new Error(`${l.name} received a room-message after leave`);
  }));
}

async function sidRoom(scope) {
  const sender = await scope.client(0, "sender");
  const targets = await scope.perNode("target");
  const bystanders = await scope.perNode("bystander");
  const mine = (args) => typeof args[0] === "string" && args[0].startsWith(`d ${runId}`);
  for (const t of targets) {
    await sender.toRoom(t.id, `d ${runId} to ${t.id}`, { to: t.name });
  }
  const end = `d-end ${runId}`;
  for (const c of [...targets, ...bystanders]) await sender.toRoom(c.id, end);

  await Promise.all(targets.map(async (t) => {
    const got = await t.inbox.take("room-message", "the message to its sid", mine);
    expectSame(`room-message at ${t.name}`, got, [`d ${runId} to ${t.id}`, { to: t.name }]);
    await t.inbox.take("room-message", "the end marker", first(end));
    const extra = t.inbox.pollAll("room-message", mine);
    if (extra.length > 0) throw new Error(`${t.name} received more: ${short(extra)}`);
  }));
  await Promise.all(bystanders.map(async (b) => {
    await b.inbox.take("room-message", "the end marker", first(end));
    const extra = b.inbox.pollAll("room-message", mine);
    if (extra.length > 0) throw new Error(`${b.name} received messages for other sids: ${short(extra)}`);
  }));
}

async function requestAckTo(scope) {
  const pairs = [];
  for (const a of everyNode) for (const b of everyNode) if (a !== b || N === 1) pairs.push([a, b]);
  for (const [a, b] of pairs) {
    const requester = await scope.client(a, "requester");
    const target = await scope.client(b, "answerer");
    const request = [`e ${runId} ${a}->${b}`, { n: 1, bin: Buffer.from([1, 2, 3]) }, 7];
    const reply = [`reply ${runId} ${b}->${a}`, { ok: true, nested: { list: [1, "two", null] }, z: 0 }];
    const asked = new Promise((resolve) => {
      target.socket.once("ack-request", (...args) => {
        const callback = args.pop();
        if (typeof callback !== "function") {
          resolve({ args, error: "ack-request came without an ack id" });
          return;
        }
        callback(...reply);
        resolve({ args });
      });
    });
    requester.socket.emit("request-ack-to", target.id, ...request);
    const { args, error } = await withTimeout(asked, `${target.name} waiting for ack-request`);
    if (error) throw new Error(error);
    expectSame(`ack-request at ${target.name}`, args, request);
    const result = await requester.inbox.take("ack-result", `ack-result from node ${b}`);
    expectSame(`ack-result at ${requester.name}`, result, reply);
    if (target.inbox.poll("ack-result")) throw new Error(`the answerer ${target.name} received the ack-result`);
  }
}

async function peerLeft(scope, how) {
  const observers = await scope.perNode("observer");
  for (const node of everyNode) {
    const leaver = await scope.client(node, "leaver");
    const leaverId = leaver.id;
    leaver.leaving = true;
    if (how === "server") leaver.socket.emit("disconnect-me");
    else leaver.socket.disconnect();
    const [reason] = await leaver.inbox.take("$disconnect", "its disconnect");
    const expected = how === "server" ? "io server disconnect" : "io client disconnect";
    if (reason !== expected) throw new Error(`${leaver.name}: disconnect reason ${JSON.stringify(reason)}, expected "${expected}"`);
    await Promise.all(observers.map(async (o) => {
      const got = await o.inbox.take("peer-left", `peer-left for ${leaverId} (node ${node})`, first(leaverId));
      expectSame(`peer-left at ${o.name}`, got, [leaverId]);
    }));
  }
}

async function binaryBroadcast(scope) {
  for (const from of everyNode) {
    const room = `${runId}-h${from}`;
    const sender = await scope.client(from, "sender");
    const members = (await scope.perNode("member")).filter((m) => m.node !== from || N === 1);
    await Promise.all(members.map((m) => m.join(room)));
    const marker = `h ${runId} from node ${from}`;
    const payload = [
      marker,
      Buffer.from([0, 1, 2, 254, 255]),
      { z: "first key", bin: Buffer.from(`node ${from}`), list: [Buffer.alloc(0), { deep: Buffer.from([7]) }] },
    ];
    await sender.toRoom(room, ...payload);
    await Promise.all(members.map(async (m) => {
      const got = await m.inbox.take("room-message", `binary room-message from node ${from}`, first(marker));
      expectSame(`binary room-message at ${m.name}`, got, payload);
      if (!isBinary(got[1]) || !isBinary(got[2].bin) || !isBinary(got[2].list[1].deep)) {
        throw new Error(`${m.name}: binary arrived as ${short(got.map((v) => typeof v))}`);
      }
    }));
  }
}

function runCommand(command) {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => {
      output += d;
    });
    child.stderr.on("data", (d) => {
      output += d;
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the command did not finish within ${COMMAND_TIMEOUT_MS} ms: ${output.trim()}`));
    }, COMMAND_TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`the command exited with ${code ?? signal}: ${output.trim().slice(-500)}`));
    });
  });
}

/** `{"$binary": "<hex>"}` → Buffer, at any depth (the notation of bus_emit.py). */
function fromPlain(value) {
  if (Array.isArray(value)) return value.map(fromPlain);
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$binary" && typeof value.$binary === "string") return Buffer.from(value.$binary, "hex");
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromPlain(v);
    return out;
  }
  return value;
}

async function pythonEmit(scope) {
  const room = `${runId}-py`;
  const control = `${room}-ctl`;
  const marker = `py-${runId}`;
  const substitute = (text) => text.replaceAll("{room}", room).replaceAll("{marker}", marker);
  let expected;
  if (options.pythonEmitExpect !== undefined) {
    expected = fromPlain(JSON.parse(substitute(options.pythonEmitExpect)));
    if (!Array.isArray(expected)) throw new Error("--python-emit-expect must be a JSON array (the event's args)");
  }
  const sender = await scope.client(0, "sender");
  const members = await scope.perNode("member");
  const outsiders = await scope.perNode("outsider");
  await Promise.all(members.map(async (m) => {
    await m.join(room);
    await m.join(control);
  }));
  await Promise.all(outsiders.map((o) => o.join(control)));

  await runCommand(substitute(options.pythonEmit));
  // The command has published and exited: a marker published now comes after it on the bus.
  const end = `i-end ${runId}`;
  await sender.toRoom(control, end);
  const notEnd = (args) => args[0] !== end;

  await Promise.all(members.map(async (m) => {
    const got = await m.inbox.take("room-message", "the room-message of the python emitter", notEnd);
    if (expected !== undefined) expectSame(`room-message at ${m.name}`, got, expected);
    await m.inbox.take("room-message", "the control marker", first(end));
    const extra = m.inbox.pollAll("room-message", notEnd);
    if (extra.length > 0) throw new Error(`${m.name} received more: ${short(extra)}`);
  }));
  await Promise.all(outsiders.map(async (o) => {
    await o.inbox.take("room-message", "the control marker", first(end));
    const extra = o.inbox.pollAll("room-message", notEnd);
    if (extra.length > 0) throw new Error(`non-member ${o.name} received ${short(extra)}`);
  }));
}

async function run() {
  await check(1, "chat-auth-on-every-node", chatAuth);
  await check(2, "to-room-across-nodes", toRoomAcrossNodes);
  await check(3, "join-leave-across-nodes", joinLeave);
  await check(4, "sid-room-across-nodes", sidRoom);
  await check(5, "request-ack-to-across-nodes", requestAckTo);
  await check(6, "disconnect-me-peer-left", (scope) => peerLeft(scope, "server"));
  await check(7, "client-disconnect-peer-left", (scope) => peerLeft(scope, "client"));
  await check(8, "binary-to-room-across-nodes", binaryBroadcast);
  if (options.pythonEmit !== undefined) await check(9, "python-write-only-emit", pythonEmit);
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0;
}

run().then(
  (ok) => process.exit(ok ? 0 : 1),
  (err) => {
    process.stdout.write(`FAIL 0 run: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
