// The official socket.io-client against a server built with registered_handlers(false)
// (tests/tests/macro_handlers.rs): the hand-registered handler of /typed answers, and /events,
// which only macro handlers served, does not exist.
//
// Usage: node tests/js/opt_out_client.mjs <url>
//
// Prints one PASS line per check; exits 1 with the reason on stderr otherwise.
import { Manager } from "socket.io-client";

const [url] = process.argv.slice(2);
function fail(reason) {
  process.stderr.write(`FAIL: ${reason}\n`);
  process.exit(1);
}
if (!url) fail("usage: node opt_out_client.mjs <url>");
setTimeout(() => fail("hard timeout of 15 s reached"), 15_000).unref();

const manager = new Manager(url, { transports: ["websocket"], reconnection: false });

const typed = manager.socket("/typed");
await new Promise((resolve, reject) => {
  typed.once("connect", resolve);
  typed.once("connect_error", (err) => reject(new Error(`/typed refused: ${err.message}`)));
}).catch((err) => fail(err.message));
const reply = await new Promise((resolve) => typed.emit("tuple", "abc", 41, (...args) => resolve(args)));
if (JSON.stringify(reply) !== JSON.stringify(["by hand", 2])) {
  fail(`tuple: expected ["by hand",2], got ${JSON.stringify(reply)}`);
}
process.stdout.write("PASS the hand-registered handler answers\n");

const events = manager.socket("/events");
const refusal = await new Promise((resolve, reject) => {
  events.once("connect", () => reject(new Error("/events was accepted")));
  events.once("connect_error", resolve);
}).catch((err) => fail(err.message));
if (refusal.message !== "Invalid namespace") {
  fail(`/events: expected "Invalid namespace", got ${JSON.stringify(refusal.message)}`);
}
process.stdout.write("PASS the namespace of the left-out macro handlers does not exist\n");
manager.engine?.close();
process.exit(0);
