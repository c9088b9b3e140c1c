// The chat page, in plain JavaScript over the official client (`io` comes from the vendored
// socket.io.min.js). Everything from the network is shown with textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);

let socket = null;
let myNick = null;
// The page is in one room at a time, to stay small; the server allows several.
let room = null;
let members = new Set();
const typers = new Set();
let typingTimer = null;

function status(text, isError = false) {
  $("status").textContent = text;
  $("status").classList.toggle("error", isError);
}

function time(ts) {
  return new Date(ts).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

// Appends a line to the list: `kind` is its class (message, notice, private), `parts` pairs
// of [text, class].
function append(kind, parts, extraClass) {
  const li = document.createElement("li");
  li.className = extraClass ? `${kind} ${extraClass}` : kind;
  for (const [text, cls] of parts) {
    const span = document.createElement("span");
    span.textContent = text;
    if (cls) span.className = cls;
    li.append(span);
  }
  $("messages").append(li);
  li.scrollIntoView({ block: "nearest" });
}

function showLine(line, mine) {
  append("message", [[`${time(line.ts)} `, "time"], [line.nick, "nick"], [`: ${line.text}`]], mine ? "mine" : "");
}

function notice(text) {
  append("notice", [[text]]);
}

function showMembers() {
  $("members").textContent = room ? `In ${room}: ${[...members].sort().join(", ")}` : "";
}

function showTypers() {
  const names = [...typers].sort();
  $("typing").textContent =
    names.length === 0 ? "" : `${names.join(" and ")} ${names.length === 1 ? "is" : "are"} typing…`;
}

function setRoom(name) {
  room = name;
  typers.clear();
  showTypers();
  $("leave").disabled = !room;
  $("text").disabled = !room;
  $("send").querySelector("button").disabled = !room;
  $("text").placeholder = room ? `say something in ${room}` : "join a room, then say something";
}

// Stops announcing that we type: after a pause, or when the line is sent.
function stopTyping() {
  if (typingTimer === null) return;
  clearTimeout(typingTimer);
  typingTimer = null;
  if (room) socket.emit("typing", room, false);
}

function connect(nick) {
  if (socket) socket.disconnect();
  myNick = nick;
  status(`connecting as ${nick}…`);
  socket = io("/chat", { auth: { nick } });

  socket.on("connect", () => {
    status(`connected as ${nick}`);
    $("me").textContent = `You are ${nick}.`;
    $("login").hidden = true;
    $("chat").hidden = false;
    // After a reconnection the server has forgotten our room.
    if (room) join(room);
  });

  // A refusal carries the server's reason, e.g. that the nickname is taken.
  socket.on("connect_error", (err) => {
    status(`could not connect: ${err.message}`, true);
    $("login").hidden = false;
    $("chat").hidden = true;
  });

  socket.on("disconnect", (reason) => status(`disconnected: ${reason}`, true));

  socket.on("message", (line) => {
    if (line.room !== room) return;
    typers.delete(line.nick);
    showTypers();
    showLine(line, false);
  });

  socket.on("joined", ({ room: where, nick: who }) => {
    if (where !== room) return;
    members.add(who);
    showMembers();
    notice(`${who} joined ${where}`);
  });

  socket.on("left", ({ room: where, nick: who, reason }) => {
    if (where !== room) return;
    members.delete(who);
    typers.delete(who);
    showMembers();
    showTypers();
    notice(`${who} left ${where} (${reason})`);
  });

  socket.on("typing", ({ room: where, nick: who, typing }) => {
    if (where !== room) return;
    if (typing) typers.add(who);
    else typers.delete(who);
    showTypers();
  });

  socket.on("private", (msg) => {
    append("private", [[`${time(msg.ts)} `, "time"], [msg.from, "nick"], [` (privately): ${msg.text}`]]);
  });
}

function join(name) {
  socket.emit("join", name, (reply) => {
    if (reply.error) return status(reply.error, true);
    setRoom(reply.room);
    members = new Set(reply.members);
    showMembers();
    for (const line of reply.history) showLine(line, false);
    notice(`you joined ${reply.room}`);
  });
}

$("login").addEventListener("submit", (event) => {
  event.preventDefault();
  connect($("nick").value.trim());
});

$("join").addEventListener("submit", (event) => {
  event.preventDefault();
  const name = $("room").value.trim();
  if (name === room) return;
  if (room) socket.emit("leave", room);
  join(name);
});

$("leave").addEventListener("click", () => {
  if (!room) return;
  stopTyping();
  socket.emit("leave", room, () => {
    notice(`you left ${room}`);
    setRoom(null);
    members.clear();
    showMembers();
  });
});

$("text").addEventListener("input", () => {
  if (!room) return;
  if (typingTimer === null) socket.emit("typing", room, true);
  else clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, 3000);
});

$("send").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value.trim();
  if (!text || !room) return;
  stopTyping();
  socket.emit("message", { room, text }, (reply) => {
    if (reply.error) return status(reply.error, true);
    showLine({ ...reply, room, nick: myNick, text }, true);
  });
  $("text").value = "";
});

$("private").addEventListener("submit", (event) => {
  event.preventDefault();
  const to = $("to").value.trim();
  const text = $("private-text").value.trim();
  socket.emit("private", to, text, (reply) => {
    if (reply.error) return status(reply.error, true);
    append("private", [[`${time(reply.ts)} `, "time"], ["you", "nick"], [` → ${to} (privately): ${text}`]], "mine");
  });
  $("private-text").value = "";
});
