// The official Node `socket.io` server that the Rust client's typed API is checked against
// (tests/tests/client/client_features.rs, `mod official_node`). Everything happens on `/`.
//
// Usage: PORT=0 node tests/js/typed_server.mjs   (PORT=0 picks a free port)
//
// Prints one line ending with `listening on 127.0.0.1:<port>` once it accepts connections. It
// exits by itself after 120 s, in case the test that started it could not stop it.
//
// Events (the client emits; "ack" is what the acknowledgement carries):
//   order {item, qty, note: binary}   no ack; the server emits `receipt` {item, qty, total}
//                                     and `stamp` (item, the note's bytes reversed)
//   price (item, qty)                 ack {item, qty, total}   (total = qty * 250)
//   reverse (label, binary)           ack (label in upper case, the bytes reversed, length)
//   inspect {name, parts: [binary]}   ack {name, sizes: [length of each part],
//                                          joined: the parts end to end, as binary}
//   quiz ()                           the server emits `question` ("6 x 7?", bytes 06 07)
//                                     with an ack callback, and acks (first reply argument,
//                                     second reply argument, whether the second is binary)
//   transport (wanted)                ack (the transport the connection opened on, the one
//                                     it is on now), sent once it is on `wanted`: a polling
//                                     connection that upgrades is answered after the upgrade
//
// Whatever does not have the expected shape is reported with a `problem` event (a sentence)
// instead of an answer, so the client sees why rather than waiting in vain.
import { createServer } from "node:http";
import { Server } from "socket.io";

const HOST = "127.0.0.1";
const LIFETIME_MS = 120_000;
const QUESTION_TIMEOUT_MS = 5_000;
const PRICE_CENTS = 250;

const port = Number.parseInt(process.env.PORT ?? "0", 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`typed_server: bad PORT ${JSON.stringify(process.env.PORT)}\n`);
  process.exit(2);
}
setTimeout(() => {
  process.stderr.write(`typed_server: still running after ${LIFETIME_MS} ms, exiting\n`);
  process.exit(1);
}, LIFETIME_MS).unref();

const httpServer = createServer();
const io = new Server(httpServer, { serveClient: false });

const isBinary = (value) => Buffer.isBuffer(value);
const reversed = (buffer) => Buffer.from(buffer).reverse();
const describe = (value) =>
  isBinary(value) ? `<${value.length} bytes>` : JSON.stringify(value) ?? String(value);

/** The listener's ack callback, when the client asked for one, and the other arguments. */
function splitAck(args) {
  const last = args[args.length - 1];
  return typeof last === "function" ? [args.slice(0, -1), last] : [args, null];
}

io.on("connection", (socket) => {
  const openedOn = socket.conn.transport.name;
  const problem = (text) => socket.emit("problem", text);

  /** `listener(ack, ...args)`, run only when the client asked for an ack. */
  function answer(event, listener) {
    socket.on(event, (...raw) => {
      const [args, ack] = splitAck(raw);
      if (!ack) {
        problem(`${event} came without an ack id`);
        return;
      }
      listener(ack, ...args);
    });
  }

  socket.on("order", (...raw) => {
    const [args, ack] = splitAck(raw);
    const [order] = args;
    if (ack || args.length !== 1) {
      problem(`order: expected one argument and no ack, got ${args.length} (ack: ${!!ack})`);
      return;
    }
    const { item, qty, note } = order ?? {};
    if (typeof item !== "string" || !Number.isInteger(qty) || !isBinary(note)) {
      problem(`order: expected {item: string, qty: integer, note: binary}, got ${describe(order)}`);
      return;
    }
    socket.emit("receipt", { item, qty, total: qty * PRICE_CENTS });
    socket.emit("stamp", item, reversed(note));
  });

  answer("price", (ack, item, qty, ...extra) => {
    if (typeof item !== "string" || !Number.isInteger(qty) || extra.length !== 0) {
      problem(`price: expected (string, integer), got ${describe([item, qty, ...extra])}`);
      return;
    }
    ack({ item, qty, total: qty * PRICE_CENTS });
  });

  answer("reverse", (ack, label, data) => {
    if (typeof label !== "string" || !isBinary(data)) {
      problem(`reverse: expected (string, binary), got (${describe(label)}, ${describe(data)})`);
      return;
    }
    ack(label.toUpperCase(), reversed(data), data.length);
  });

  answer("inspect", (ack, report) => {
    const { name, parts } = report ?? {};
    if (typeof name !== "string" || !Array.isArray(parts) || !parts.every(isBinary)) {
      problem(`inspect: expected {name: string, parts: [binary]}, got ${describe(report)}`);
      return;
    }
    ack({ name, sizes: parts.map((part) => part.length), joined: Buffer.concat(parts) });
  });

  // emitWithAck() resolves with the first argument of the reply only: the callback form
  // gets all of them.
  answer("quiz", (ack) => {
    socket
      .timeout(QUESTION_TIMEOUT_MS)
      .emit("question", "6 x 7?", Buffer.from([6, 7]), (err, ...reply) => {
        if (err) {
          problem(`quiz: the client did not answer the question: ${err.message}`);
          return;
        }
        ack(reply[0], reply[1], isBinary(reply[1]));
      });
  });

  answer("transport", (ack, wanted) => {
    const reply = () => ack(openedOn, socket.conn.transport.name);
    if (socket.conn.transport.name === wanted) reply();
    else socket.conn.once("upgrade", reply);
  });
});

httpServer.listen(port, HOST, () => {
  const { port: bound } = httpServer.address();
  process.stdout.write(`typed_server listening on ${HOST}:${bound}\n`);
});
