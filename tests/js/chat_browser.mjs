// Drives the chat example's web page in real headless Chromium (Debian's /usr/bin/chromium,
// through playwright-core): two people join a room, type, talk, whisper, leave, and one
// closes the page; a third is refused a nickname that is taken.
//
// Usage: node tests/js/chat_browser.mjs <url of the running chat example>
//
// Prints one line per check on stdout. Exits 0 when every check passed; otherwise prints the
// reason, the pages' console and their visible state on stderr and exits 1. Every wait is on
// a DOM condition, bounded by a per-step timeout; the whole run by a hard timeout.
import { chromium } from "playwright-core";

const CHROMIUM = "/usr/bin/chromium";
const HARD_TIMEOUT_MS = 90_000;
const STEP_TIMEOUT_MS = 15_000;

const url = process.argv[2];
let currentCheck = "setup";
let browser = null;
const pages = new Map(); // nick -> page
const diagnostics = [];

async function report() {
  for (const line of diagnostics) process.stderr.write(`${line}\n`);
  for (const [nick, page] of pages) {
    if (page.isClosed()) continue;
    const state = await page
      .evaluate(() => ({
        status: document.getElementById("status").textContent,
        members: document.getElementById("members").textContent,
        typing: document.getElementById("typing").textContent,
        messages: [...document.querySelectorAll("#messages li")].map((li) => `${li.className}: ${li.textContent}`),
      }))
      .catch((err) => ({ unreadable: String(err) }));
    process.stderr.write(`--- page of ${nick} ---\n${JSON.stringify(state, null, 2)}\n`);
  }
}

async function fail(reason) {
  process.stderr.write(`FAIL [${currentCheck}]: ${reason}\n`);
  await Promise.race([report(), new Promise((resolve) => setTimeout(resolve, 5_000))]);
  if (browser) await browser.close().catch(() => {});
  process.exit(1);
}

if (!url) {
  await fail("usage: node chat_browser.mjs <url>");
}
setTimeout(() => fail(`hard timeout of ${HARD_TIMEOUT_MS} ms reached`), HARD_TIMEOUT_MS).unref();

async function check(name, body) {
  currentCheck = name;
  await body();
  console.log(`ok - ${name}`);
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

// Resolves once an element matching `selector` has text containing `text`.
async function seeText(page, selector, text) {
  await page.locator(selector, { hasText: text }).first().waitFor();
}

// Resolves once exactly `count` elements matching `selector` contain `text`.
async function seeCount(page, selector, text, count) {
  await page.waitForFunction(
    ([sel, t, n]) => [...document.querySelectorAll(sel)].filter((e) => e.textContent.includes(t)).length === n,
    [selector, text, count],
  );
}

// Resolves once the element's whole text is `text`.
async function textIs(page, selector, text) {
  await page.waitForFunction(
    ([sel, t]) => document.querySelector(sel)?.textContent === t,
    [selector, text],
  );
}

// A page in its own browser context (own cookies and storage), like a second person.
async function openPage(nick) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
  pages.set(nick, page);
  page.on("console", (msg) => diagnostics.push(`[${nick}] console.${msg.type()}: ${msg.text()}`));
  page.on("pageerror", (err) => diagnostics.push(`[${nick}] page error: ${err.message}`));
  // The page must work offline: everything it loads comes from the example itself.
  page.on("request", (request) => {
    if (!request.url().startsWith(url)) {
      diagnostics.push(`[${nick}] request to another origin: ${request.url()}`);
    }
  });
  await page.goto(url);
  return page;
}

async function logIn(page, nick) {
  await page.fill("#nick", nick);
  await page.click("#login button");
}

async function join(page, room) {
  await page.fill("#room", room);
  await page.click("#join button:not(#leave)");
  await seeText(page, "#messages li.notice", `you joined ${room}`);
}

try {
  currentCheck = "launch chromium";
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });

  let alice;
  let bob;
  await check("the page loads the vendored client from the server", async () => {
    alice = await openPage("alice");
    assert((await alice.title()) === "socketio-rs chat", `title is ${await alice.title()}`);
    assert(await alice.evaluate(() => typeof io === "function"), "window.io is not the Socket.IO client");
  });

  await check("two people log in; the transport upgrades to WebSocket", async () => {
    await logIn(alice, "alice");
    bob = await openPage("bob");
    await logIn(bob, "bob");
    for (const [nick, page] of [["alice", alice], ["bob", bob]]) {
      await textIs(page, "#status", `connected as ${nick}`);
      await page.locator("#chat").waitFor({ state: "visible" });
      await page.locator("#login").waitFor({ state: "hidden" });
      await page.waitForFunction(() => socket.io.engine.transport.name === "websocket");
    }
  });

  await check("a nickname that is taken is refused with the server's reason; another works", async () => {
    const copycat = await openPage("copycat");
    await logIn(copycat, "Alice");
    await textIs(copycat, "#status.error", 'could not connect: the nickname "Alice" is taken');
    assert(await copycat.locator("#chat").isHidden(), "the chat shows after a refused connection");
    assert(await copycat.locator("#login").isVisible(), "the login form is gone after a refused connection");
    // The same page may try again with another name.
    await logIn(copycat, "carol");
    await textIs(copycat, "#status", "connected as carol");
    await copycat.locator("#chat").waitFor({ state: "visible" });
    await copycat.close();
    pages.delete("copycat");
  });

  await check("both join one room and see each other", async () => {
    await join(alice, "lobby");
    await textIs(alice, "#members", "In lobby: alice");
    await join(bob, "lobby");
    await textIs(bob, "#members", "In lobby: alice, bob");
    await seeText(alice, "#messages li.notice", "bob joined lobby");
    await textIs(alice, "#members", "In lobby: alice, bob");
  });

  await check("typing shows on the other page", async () => {
    await alice.fill("#text", "hello bob");
    await textIs(bob, "#typing", "alice is typing…");
    await textIs(alice, "#typing", "");
  });

  await check("a message reaches the other page, and the sender sees its own line", async () => {
    await alice.click("#send button");
    await seeText(bob, "#messages li.message", "alice: hello bob");
    await seeText(alice, "#messages li.message.mine", "alice: hello bob");
    await textIs(bob, "#typing", "");
  });

  await check("and the other way round", async () => {
    await bob.fill("#text", "hi alice");
    await bob.press("#text", "Enter");
    await seeText(alice, "#messages li.message", "bob: hi alice");
    await seeText(bob, "#messages li.message.mine", "bob: hi alice");
  });

  await check("a private message reaches only its addressee", async () => {
    await alice.fill("#to", "bob");
    await alice.fill("#private-text", "psst");
    await alice.click("#private button");
    await seeText(bob, "#messages li.private", "alice (privately): psst");
    await seeText(alice, "#messages li.private.mine", "you → bob (privately): psst");
    await seeCount(alice, "#messages li.private", "psst", 1);
  });

  await check("leaving a room is announced", async () => {
    await bob.click("#leave");
    await seeText(bob, "#messages li.notice", "you left lobby");
    await seeText(alice, "#messages li.notice", "bob left lobby (left the room)");
    await textIs(alice, "#members", "In lobby: alice");
  });

  await check("joining again brings the room's recent history", async () => {
    await join(bob, "lobby");
    // History lines come before the "you joined" notice; the two from earlier are there.
    await seeCount(bob, "#messages li.message", "alice: hello bob", 2);
    await seeCount(bob, "#messages li.message", "bob: hi alice", 2);
    await seeCount(alice, "#messages li.notice", "bob joined lobby", 2);
  });

  await check("closing a page is announced as leaving", async () => {
    await bob.close();
    pages.delete("bob");
    await seeText(alice, "#messages li.notice", "bob left lobby (transport close)");
    await textIs(alice, "#members", "In lobby: alice");
  });

  await check("no page errors and no requests to other origins", async () => {
    const problems = diagnostics.filter((line) => line.includes("page error") || line.includes("another origin"));
    assert(problems.length === 0, problems.join("\n"));
  });

  await browser.close();
  console.log("all chat browser checks passed");
  process.exit(0);
} catch (err) {
  await fail(err?.stack ?? String(err));
}
