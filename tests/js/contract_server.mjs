// Reference implementation of the `/socket.io/` half of the conformance contract
// (docs/PROGRAMS.md, `conformance`) on top of the official Node `socket.io` server.
//
// Usage: PORT=3000 node tests/js/contract_server.mjs   (PORT=0 picks a free port)
//
// Prints one line ending with `listening on 127.0.0.1:<port>` once it accepts connections, and
// exits with status 0 on SIGINT or SIGTERM. It is the yardstick the Rust `conformance` example is
// compared with, and the Node target of the client probe (`client_probe`).
//
// The package is resolved from the repository's node_modules (installed by scripts/test.sh).
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { Server } from "socket.io";

const HOST = "127.0.0.1";
const port = Number.parseInt(process.env.PORT ?? "3000", 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`contract_server: bad PORT ${JSON.stringify(process.env.PORT)}\n`);
  process.exit(2);
}

// Time the client has to answer an `ack-request` before the server gives up on it.
const ACK_REQUEST_TIMEOUT_MS = 5_000;

const httpServer = createServer();
const io = new Server(httpServer, {
  path: "/socket.io/",
  serveClient: false,
  pingInterval: 300,
  pingTimeout: 200,
  maxHttpBufferSize: 1e6,
  // An engine session that joins no namespace within this delay is closed.
  connectTimeout: 1_000,
  // Connection state recovery stays off (the default): CONNECT replies carry only `sid`.
});

/** Splits the trailing acknowledgement callback, if the client asked for one, from the args. */
function splitAck(args) {
  if (args.length > 0 && typeof args[args.length - 1] === "function") {
    return [args.slice(0, -1), args[args.length - 1]];
  }
  return [args, null];
}

/** `/` and `/custom`: auth echo, `message` → `message-back`, `message-with-ack` → ack. */
function serveEchoNamespace(nsp) {
  nsp.on("connection", (socket) => {
    socket.emit("auth", socket.handshake.auth);

    socket.on("message", (...raw) => {
      const [args] = splitAck(raw);
      socket.emit("message-back", ...args);
    });

    socket.on("message-with-ack", (...raw) => {
      const [args, ack] = splitAck(raw);
      if (ack) ack(...args);
    });
  });
}

serveEchoNamespace(io.of("/"));
serveEchoNamespace(io.of("/custom"));

const chat = io.of("/chat");

// Refusing in a middleware makes the server answer with CONNECT_ERROR {"message": <error message>}.
chat.use((socket, next) => {
  if (socket.handshake.auth?.token === "secret") next();
  else next(new Error("unauthorized"));
});

chat.on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);

  socket.on("echo", (...raw) => {
    const [args] = splitAck(raw);
    socket.emit("echo", ...args);
  });

  socket.on("echo-ack", (...raw) => {
    const [args, ack] = splitAck(raw);
    if (ack) ack(...args);
  });

  socket.on("join", (room, ...rest) => {
    const [, ack] = splitAck(rest);
    socket.join(room);
    if (ack) ack(room);
  });

  socket.on("leave", (room, ...rest) => {
    const [, ack] = splitAck(rest);
    socket.leave(room);
    if (ack) ack(room);
  });

  socket.on("to-room", (room, ...rest) => {
    const [args, ack] = splitAck(rest);
    // `socket.to()` leaves the sender out even when it is a member of the room.
    socket.to(room).emit("room-message", ...args);
    if (ack) ack("ok");
  });

  socket.on("request-ack", (...raw) => {
    const [args] = splitAck(raw);
    socket.timeout(ACK_REQUEST_TIMEOUT_MS).emit("ack-request", ...args, (err, ...reply) => {
      if (!err) socket.emit("ack-result", ...reply);
    });
  });

  socket.on("disconnect-me", () => {
    // Leaves only `/chat`; the engine connection and the client's other namespaces stay up.
    socket.disconnect();
  });

  socket.on("disconnect", () => {
    // By now the socket has left every room, so a namespace-wide emit would not reach it either;
    // `broadcast` also excludes it explicitly.
    socket.broadcast.emit("peer-left", socket.id);
  });
});

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  // io.close() disconnects every client and closes the HTTP server; do not wait forever on it.
  setTimeout(() => process.exit(0), 2_000).unref();
  io.close(() => process.exit(0));
  process.stderr.write(`contract_server: ${signal}, shutting down\n`);
}
process.on("SIGINT", () => stop("SIGINT"));
process.on("SIGTERM", () => stop("SIGTERM"));

httpServer.on("error", (err) => {
  process.stderr.write(`contract_server: ${err.message}\n`);
  process.exit(1);
});

const { version } = createRequire(import.meta.url)("socket.io/package.json");
httpServer.listen(port, HOST, () => {
  const { port: bound } = httpServer.address();
  process.stdout.write(`contract_server (node socket.io ${version}) listening on ${HOST}:${bound}\n`);
});
