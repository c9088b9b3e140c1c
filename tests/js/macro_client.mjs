// Drives the handlers of tests/tests/macro_handlers.rs (written with #[socketio::on] and
// #[socketio::namespace]) with the official socket.io-client.
//
// Usage: node tests/js/macro_client.mjs <url> <polling|websocket>
//
// Prints one line per check on stdout. Exits 0 when every check passed; otherwise prints the
// reason on stderr and exits 1. The whole run is bounded by a hard 30 s timeout.
import { Manager } from "socket.io-client";

const HARD_TIMEOUT_MS = 30_000;
const STEP_TIMEOUT_MS = 5_000;

let currentCheck = "setup";

function fail(reason) {
  process.stderr.write(`FAIL [${currentCheck}]: ${reason}\n`);
  process.exit(1);
}

const [url, transport] = process.argv.slice(2);
if (!url || !["polling", "websocket"].includes(transport)) {
  fail("usage: node macro_client.mjs <url> <polling|websocket>");
}
setTimeout(() => fail(`hard timeout of ${HARD_TIMEOUT_MS} ms reached`), HARD_TIMEOUT_MS).unref();

function withTimeout(promise, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), STEP_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Buffers become {"$binary": hex} so that comparisons see bytes, not Node's {type, data}.
function plain(value) {
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : value;
    return { $binary: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex") };
  }
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

function expectSame(what, got, expected) {
  const a = JSON.stringify(plain(got));
  const b = JSON.stringify(plain(expected));
  if (a !== b) throw new Error(`${what}: expected ${b}, got ${a}`);
}

const managers = [];

// One engine connection per socket: a Manager keeps one socket per namespace, and several
// clients of one namespace are needed here.
function open(namespace, auth) {
  const manager = new Manager(url, { transports: [transport], reconnection: false });
  managers.push(manager);
  return manager.socket(namespace, auth === undefined ? {} : { auth });
}

function connected(socket, what) {
  return withTimeout(
    new Promise((resolve, reject) => {
      if (socket.connected) resolve();
      socket.once("connect", resolve);
      socket.once("connect_error", (err) => reject(new Error(`${what} refused: ${err.message}`)));
    }),
    `${what} to connect`,
  );
}

function refused(socket, what) {
  return withTimeout(
    new Promise((resolve, reject) => {
      socket.once("connect", () => reject(new Error(`${what} was accepted`)));
      socket.once("connect_error", resolve);
    }),
    `${what} to be refused`,
  );
}

function next(socket, event) {
  return withTimeout(new Promise((resolve) => socket.once(event, (...args) => resolve(args))), event);
}

/** Emits with an ack and resolves with every argument of the ack. */
function call(socket, event, ...args) {
  return withTimeout(
    new Promise((resolve) => socket.emit(event, ...args, (...reply) => resolve(reply))),
    `the ack of ${event}`,
  );
}

const checks = [];
function check(name, body) {
  checks.push([name, body]);
}

check("typed connect refuses with message and data", async () => {
  const err = await refused(open("/typed", { token: "bad" }), "/typed with a bad token");
  expectSame("connect_error", [err.message, err.data], ["bad token", { hint: "not bad" }]);
});

check("a connect handler returning false refuses", async () => {
  const err = await refused(open("/bool"), "/bool without auth");
  expectSame("message", err.message, "Connection rejected by server");
  await connected(open("/bool", { any: 1 }), "/bool with auth");
});

let typed;
let watcher;
let stateless;

check("connections", async () => {
  typed = open("/typed", { token: "alice" });
  watcher = open("/watch");
  stateless = open("/stateless");
  await Promise.all([
    connected(typed, "/typed"),
    connected(watcher, "/watch"),
    connected(stateless, "/stateless"),
  ]);
});

check("tuple return: several ack arguments", async () => {
  expectSame("tuple", await call(typed, "tuple", "abc", 1), ["ABC", 2]);
});

check("single return: one ack argument", async () => {
  expectSame("single", await call(typed, "single", { x: [1, 2] }), [{ got: { x: [1, 2] } }]);
});

check("unit return: an ack without arguments", async () => {
  expectSame("unit", await call(typed, "unit"), []);
});

check("optional trailing argument", async () => {
  expectSame("absent", await call(typed, "optional", "a"), ["a", null]);
  expectSame("present", await call(typed, "optional", "a", 5), ["a", 5]);
});

check("rest of the arguments", async () => {
  expectSame("rest", await call(typed, "rest", "a", 1, { b: 2 }, [3]), ["a", 3]);
});

check("binary nested in a struct, both ways", async () => {
  const reply = await call(typed, "upload", { name: "f.bin", data: Buffer.from([1, 2, 3]) });
  expectSame("upload", reply, [{ name: "f.bin", reversed: Buffer.from([3, 2, 1]) }, 3]);
});

check("Result: the ok value or an error object", async () => {
  expectSame("ok", await call(typed, "fallible", 4), [40]);
  expectSame("err", await call(typed, "fallible", -1), [{ error: "-1 is negative" }]);
});

check("manual ack with AckSender", async () => {
  expectSame("manual", await call(typed, "manual", 21), [42, "by hand"]);
});

check("bad arguments: the handler does not run, the ack gets an error", async () => {
  const [reply, ...rest] = await call(typed, "tuple", 5, "x");
  if (rest.length !== 0 || typeof reply?.error !== "string" || !reply.error.startsWith("invalid arguments")) {
    throw new Error(`expected an invalid arguments error, got ${JSON.stringify(plain([reply, ...rest]))}`);
  }
  expectSame("still working", await call(typed, "tuple", "ok", 0), ["OK", 1]);
});

check("extractors: session, auth, handshake, state", async () => {
  expectSame("whoami", await call(typed, "whoami"), ["alice", { token: "alice" }, true]);
  expectSame("state", await call(typed, "state"), ["welcome"]);
});

check("a guard refuses with an error ack", async () => {
  expectSame("secret", await call(typed, "secret"), [{ error: "forbidden: admins only" }]);
  const admin = open("/typed", { token: "admin" });
  await connected(admin, "/typed as admin");
  expectSame("admin secret", await call(admin, "secret"), ["the secret"]);
});

check("catch-all event with its name and binary arguments", async () => {
  const caught = next(typed, "caught");
  typed.emit("anything", 1, Buffer.from([9]));
  expectSame("caught", await caught, ["anything", 1, Buffer.from([9])]);
  expectSame("catch-all ack", await call(typed, "other"), []);
});

check("registration by hand beside the macros", async () => {
  expectSame("by-hand", await call(typed, "by-hand", "x", 2), ["x", 2]);
});

check("the SocketIo extractor reaches another namespace", async () => {
  const relayed = next(stateless, "relayed");
  expectSame("relay", await call(typed, "relay", "hi"), [1]);
  expectSame("relayed", await relayed, ["hi"]);
});

check("catch-all namespace", async () => {
  const dynamic = open("/dyn-abc");
  await connected(dynamic, "/dyn-abc");
  expectSame("hello", await call(dynamic, "hello"), ["/dyn-abc"]);
});

check("a namespace impl block: guard on connect, methods, #[on] names", async () => {
  const err = await refused(open("/admin"), "/admin without token");
  expectSame("refusal", err.message, "forbidden: refused by a guard");
  const admin = open("/admin", { token: "admin" });
  await connected(admin, "/admin");
  expectSame("kick", await call(admin, "kick", "bob"), ["kicked:bob", 1]);
  expectSame("kick again", await call(admin, "kick", "eve"), ["kicked:eve", 2]);
  const [rooms] = await call(admin, "spaced name");
  if (!rooms.includes("admins") || !rooms.includes(admin.id)) {
    throw new Error(`expected rooms admins and ${admin.id}, got ${JSON.stringify(rooms)}`);
  }
});

check("a stateless impl block; a function wins over a method", async () => {
  expectSame("ping", await call(stateless, "ping"), ["pong"]);
  expectSame("overlap", await call(stateless, "overlap"), ["function"]);
});

check("the disconnect handler gets the reason", async () => {
  const leaving = open("/typed", { token: "leaver" });
  await connected(leaving, "/typed leaver");
  const id = leaving.id;
  const gone = next(watcher, "gone");
  leaving.disconnect();
  expectSame("gone", await gone, [id, "client namespace disconnect"]);
});

check("typed emits: an event struct, a tuple struct with binary, a tuple", async () => {
  const events = open("/events");
  await connected(events, "/events");
  const shouted = next(events, "shouted");
  const pair = next(events, "pair");
  const spread = next(events, "spread");
  expectSame("shout ack", await call(events, "shout", "hey"), ["queued"]);
  expectSame("shouted", await shouted, [{ text: "HEY", len: 3 }]);
  expectSame("pair", await pair, ["hey", Buffer.from("hey")]);
  expectSame("spread", await spread, ["hey", 1, [Buffer.from([1, 2])]]);
});

check("typed awaited acks: a tuple with binary, and a reply that does not decode", async () => {
  const events = open("/events");
  await connected(events, "/events");
  let asked = 0;
  events.on("question", (text, data, ack) => {
    asked += 1;
    if (asked === 1) {
      expectSame("first question", [text, data], ["6 x 7?", Buffer.from([6, 7])]);
      ack(42, Buffer.from([4, 2]));
    } else {
      ack("a word");
    }
  });
  expectSame("quiz", await call(events, "quiz"), [42, Buffer.from([4, 2]), "decode error"]);
});

check("typed broadcast acks from every socket of a room", async () => {
  const voters = [open("/events"), open("/events")];
  for (const voter of voters) await connected(voter, "/events voter");
  voters[0].on("vote", (question, ack) => ack(question === "lunch?"));
  voters[1].on("vote", (_question, ack) => ack(false));
  for (const voter of voters) await call(voter, "vote-here");
  const [votes] = await withTimeout(
    new Promise((resolve) => voters[0].emit("poll-room", (...reply) => resolve(reply))),
    "the ack of poll-room",
  );
  const expected = [voters[0].id, voters[1].id]
    .map((id, i) => [id, i === 0])
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([, vote]) => vote);
  expectSame("votes", votes, expected);
});

// /by-hand: the same model for handlers registered by hand (closures and plain async fns).
check("by hand: connect with an Auth extractor refuses with message and data", async () => {
  const err = await refused(open("/by-hand", { token: "bad" }), "/by-hand with a bad token");
  expectSame("connect_error", [err.message, err.data], ["bad token", { hint: "not bad" }]);
});

check("by hand: typed arguments in, the return value is the ack", async () => {
  const hand = open("/by-hand", { token: "carol" });
  await connected(hand, "/by-hand");
  expectSame("tuple", await call(hand, "tuple", "abc", 1), ["ABC", 2]);
  expectSame("single", await call(hand, "single", { x: [1, 2] }), [{ got: { x: [1, 2] } }]);
  expectSame("unit", await call(hand, "unit"), []);
  expectSame("optional absent", await call(hand, "optional", "a"), ["a", null]);
  expectSame("optional present", await call(hand, "optional", "a", 5), ["a", 5]);
  expectSame("rest", await call(hand, "rest", "a", 1, { b: 2 }, [3]), ["a", 3]);
  expectSame("raw payload with binary", await call(hand, "raw", 1, Buffer.from([7])), [1, Buffer.from([7])]);
  expectSame("Args reads the event whole", await call(hand, "stamp", "abcd", Buffer.from([5])), [4, Buffer.from([5])]);
  expectSame("manual", await call(hand, "manual", 21), [42, "by hand"]);
  expectSame("whoami", await call(hand, "whoami"), ["carol", { token: "carol" }, true]);
  expectSame("state", await call(hand, "state"), ["welcome"]);
});

check("by hand: Result returns, with String and HandlerError errors", async () => {
  const hand = open("/by-hand", { token: "dave" });
  await connected(hand, "/by-hand");
  expectSame("ok", await call(hand, "fallible", 4), [40]);
  expectSame("string error", await call(hand, "fallible", -1), [{ error: "-1 is negative" }]);
  expectSame("parsed", await call(hand, "parse", "12"), [12]);
  expectSame("HandlerError::new", await call(hand, "parse", "0"), [{ error: "zero is not allowed" }]);
  expectSame("? on a std error", await call(hand, "parse", "x"), [{ error: "invalid digit found in string" }]);
  const [reply, ...rest] = await call(hand, "tuple", 5, "x");
  if (rest.length !== 0 || typeof reply?.error !== "string" || !reply.error.startsWith("invalid arguments")) {
    throw new Error(`expected an invalid arguments error, got ${JSON.stringify(plain([reply, ...rest]))}`);
  }
});

check("by hand: catch-all with the event name, and disconnect with the reason", async () => {
  const hand = open("/by-hand", { token: "erin" });
  await connected(hand, "/by-hand");
  const caught = next(hand, "caught");
  hand.emit("anything", 1, Buffer.from([9]));
  expectSame("caught", await caught, ["anything", 1, Buffer.from([9])]);
  expectSame("catch-all ack", await call(hand, "other"), []);
  const id = hand.id;
  const gone = next(watcher, "gone");
  hand.disconnect();
  expectSame("gone", await gone, [id, "client namespace disconnect"]);
});

check("disconnecting runs while the leaver is still in its rooms", async () => {
  const [stayer, leaver] = [open("/leaving"), open("/leaving")];
  await Promise.all([connected(stayer, "/leaving stayer"), connected(leaver, "/leaving leaver")]);
  for (const socket of [stayer, leaver]) expectSame("join", await call(socket, "join", "room-1"), [true]);
  const id = leaver.id;
  const told = next(stayer, "leaving");
  leaver.disconnect();
  const rooms = [id, "room-1"].sort();
  expectSame("leaving", await told, [id, rooms, true, "client namespace disconnect"]);
});

check("the outgoing catch-all sees each emit of the socket", async () => {
  const watched = open("/outgoing");
  await connected(watched, "/outgoing");
  const greeting = next(watched, "greeting");
  watched.once("question", (_text, ack) => ack("node"));
  expectSame("chatter", await call(watched, "chatter"), ["node"]);
  expectSame("greeting", await greeting, ["hi", 1]);
  expectSame("log", await call(watched, "log"), [[["greeting", "hi", 1], ["question", "name?"]]]);
});

for (const [name, body] of checks) {
  currentCheck = name;
  try {
    await body();
  } catch (err) {
    fail(err.message);
  }
  process.stdout.write(`PASS ${name}\n`);
}
for (const manager of managers) manager.engine?.close();
process.exit(0);
