// Opens N WebSocket clients to a bench_server, joins each to `/` with a raw `40`, then sends
// one `broadcast` from the first client and checks that every client gets the `bcast` once.
//
//   node tests/js/bench_clients.mjs <url> <clients>
//
// Prints one JSON line per step; exits 0 only when every client received the broadcast.
import WebSocket from "ws";

const [url, countText] = process.argv.slice(2);
const clients = Number.parseInt(countText ?? "1000", 10);
const wsUrl = `${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
const hardLimit = setTimeout(() => fail("timed out after 60 s"), 60_000);

function fail(reason) {
  console.error(`FAIL: ${reason}`);
  process.exit(1);
}

let received = 0;
const seen = new Set();

function connect(index) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl);
    ws.on("message", (data) => {
      const text = String(data);
      if (text.startsWith("0")) ws.send("40");
      else if (text.startsWith("40")) resolve(ws);
      else if (text === "2") ws.send("3");
      else if (text.startsWith('42["bcast"')) {
        if (seen.has(index)) fail(`client ${index} got the broadcast twice`);
        seen.add(index);
        received += 1;
      }
    });
    ws.on("error", reject);
  });
}

const sockets = [];
for (let start = 0; start < clients; start += 200) {
  const batch = [];
  for (let i = start; i < Math.min(clients, start + 200); i++) batch.push(connect(i));
  sockets.push(...(await Promise.all(batch)));
}
console.log(JSON.stringify({ step: "connect", ok: true, clients: sockets.length }));

sockets[0].send('42["broadcast",{"s":1,"t":1,"p":"x"}]');
while (received < clients) await new Promise((resolve) => setTimeout(resolve, 20));
console.log(JSON.stringify({ step: "broadcast", ok: true, received }));
clearTimeout(hardLimit);
for (const ws of sockets) ws.terminate();
process.exit(0);
