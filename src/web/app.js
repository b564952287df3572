// classchat in the browser: the PROTOCOL.md contract over WebSocket (/ws), one JSON object
// per text frame. No framework and no network access beyond this server.
//
// Safety: every name and message reaches the page through textContent, never as HTML.
"use strict";

(() => {
  const SERVER = "SERVER";
  const EVERYONE = "Everyone";
  const PAGE_SIZE = 50;                 // people per page of the online list
  const LIST_REFRESH_MS = 15000;        // the protocol has no join events: poll /list
  const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 15000];
  const MAX_LIST_PAGES = 400;           // a bound on one refresh's /list requests

  const $ = (id) => document.getElementById(id);
  const ui = {
    status: $("status"), join: $("join"), joinForm: $("join-form"), name: $("name"),
    joinButton: $("join-button"), joinError: $("join-error"), chat: $("chat"),
    conversations: $("conversations"), online: $("online"), onlineCount: $("online-count"),
    filter: $("filter"), prev: $("prev-page"), next: $("next-page"), page: $("online-page"),
    title: $("conversation-title"), messages: $("messages"), sendForm: $("send-form"),
    message: $("message"), sendButton: $("send-button"), toggle: $("people-toggle"),
    sidebar: $("sidebar"),
  };

  // --- state -------------------------------------------------------------------------------
  const state = {
    name: "",            // the name asked for, kept for rejoining
    joined: false,       // a welcome was received on this connection
    everJoined: false,   // a welcome was received once: failures now mean "rejoin"
    ws: null,
    attempt: 0,          // reconnect attempts since the last welcome
    retryTimer: 0,
    stopped: false,      // no more reconnects (kicked, or the name was refused)
    active: EVERYONE.toLowerCase(),
    conversations: new Map(),  // key (lower-case name) -> {title, items: [], unread}
    online: [],          // names of everyone else online, from /list
    onlinePage: 0,
    listQueue: [],       // for each /list sent: "auto" (refresh) or "user" (typed)
    refreshing: null,    // {names, page} while an automatic refresh is collecting pages
    refreshTimer: 0,
  };

  const keyOf = (name) => name.toLowerCase();

  function conversation(name) {
    const key = keyOf(name);
    let c = state.conversations.get(key);
    if (!c) {
      c = { title: name, items: [], unread: 0 };
      state.conversations.set(key, c);
    }
    return c;
  }
  conversation(EVERYONE);

  // --- connection status -------------------------------------------------------------------
  function setStatus(kind, text) {
    ui.status.dataset.state = kind;
    ui.status.textContent = text;
    const canSend = kind === "online";
    ui.sendButton.disabled = !canSend;
  }

  // --- the socket ------------------------------------------------------------------------
  function connect() {
    clearTimeout(state.retryTimer);
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
    setStatus("connecting", state.everJoined ? `Rejoining as ${state.name}…` : "Connecting…");
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.ws = ws;
    state.joined = false;
    state.listQueue = [];
    state.refreshing = null;
    // The first text frame is the bare name (PROTOCOL.md, "WebSocket").
    ws.onopen = () => ws.send(state.name);
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;  // the server only sends JSON objects
      }
      if (frame && frame.from && typeof frame.msg === "string") receive(frame);
    };
    ws.onclose = (event) => {
      if (state.ws !== ws) return;
      state.ws = null;
      const wasJoined = state.joined;
      state.joined = false;
      clearTimeout(state.refreshTimer);
      if (state.stopped) return;
      if (!state.everJoined) {
        // A refused first join: the reason is already next to the Name field.
        showJoin();
        setStatus("offline", "Not connected");
        return;
      }
      if (event.code === 1008 && wasJoined) {
        // Kicked, flooding or idle: the server said why; rejoining would be refused or rude.
        state.stopped = true;
        setStatus("offline", "Disconnected by the server");
        return;
      }
      scheduleReconnect();
    };
  }

  function scheduleReconnect() {
    const base = BACKOFF_MS[Math.min(state.attempt, BACKOFF_MS.length - 1)];
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    state.attempt++;
    let left = Math.ceil(delay / 1000);
    setStatus("reconnecting", `Connection lost. Rejoining as ${state.name} in ${left} s…`);
    state.retryTimer = setTimeout(connect, delay);
  }

  function sendJson(to, msg) {
    if (!state.ws || state.ws.readyState !== WebSocket.OPEN || !state.joined) return false;
    state.ws.send(JSON.stringify({ to, msg }));
    return true;
  }

  // --- what arrives ------------------------------------------------------------------------
  function receive(frame) {
    const from = String(frame.from.name || "");
    const to = String(frame.to || "");
    const msg = frame.msg;
    if (from === SERVER) {
      receiveFromServer(msg);
      return;
    }
    if (to === EVERYONE) {
      addItem(EVERYONE, { from, text: msg, kind: from === state.name ? "mine" : "" });
    } else {
      addItem(from, { from, text: msg, kind: "" });
    }
    if (!state.online.some((n) => keyOf(n) === keyOf(from)) && keyOf(from) !== keyOf(state.name)) {
      scheduleRefresh(500);  // someone new: the list is out of date
    }
  }

  const LIST_REPLY = /^Online users \((\d+)\): (.*?)(?: \(page (\d+)\/(\d+)(?:, .*)?\))?$/;

  function isListReply(msg) {
    return LIST_REPLY.test(msg) || msg === "You are the only active user!" ||
           /^Error: page \d+ does not exist/.test(msg);
  }

  function receiveFromServer(msg) {
    if (!state.joined) {
      if (msg.startsWith("Welcome ")) {
        welcomed(msg);
        return;
      }
      if (msg.startsWith("Error: ")) {
        refused(msg.slice(7));
        return;
      }
    }
    if (isListReply(msg) && state.listQueue.length > 0) {
      const origin = state.listQueue.shift();
      takeListPage(msg, origin);
      if (origin === "auto") return;
    }
    if (msg === "Server shutting down") setStatus("reconnecting", "The server is restarting…");
    addItem(state.active, { from: SERVER, text: msg, kind: msg.startsWith("Error") ? "server error" : "server" });
  }

  function welcomed(msg) {
    state.joined = true;
    state.everJoined = true;
    state.attempt = 0;
    ui.joinError.textContent = "";
    showChat();
    setStatus("online", `Connected as ${state.name}`);
    addItem(EVERYONE, { from: SERVER, text: msg, kind: "server" }, { quiet: true });
    refreshOnline();
  }

  function refused(reason) {
    if (!state.everJoined) {
      // The first join: show the reason next to the Name field; no retry.
      ui.joinError.textContent = reason;
      ui.name.setAttribute("aria-invalid", "true");
      ui.name.focus();
      return;
    }
    // Rejoining: the old connection may still hold the name for a moment; retry with
    // backoff unless the name itself is no longer allowed.
    if (/already taken/.test(reason)) {
      setStatus("reconnecting", `Waiting for the name ${state.name} to be free…`);
    } else {
      state.stopped = true;
      setStatus("offline", `Could not rejoin: ${reason}`);
    }
  }

  // --- the online list ---------------------------------------------------------------------
  function refreshOnline() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refreshOnline, LIST_REFRESH_MS);
    if (state.refreshing) return;
    state.refreshing = { names: [], page: 1 };
    requestList("auto", 1);
  }

  function scheduleRefresh(delay) {
    if (state.refreshing) return;
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refreshOnline, delay);
  }

  function requestList(origin, page) {
    if (sendJson("/list", page > 1 ? String(page) : "")) state.listQueue.push(origin);
    else if (origin === "auto") state.refreshing = null;
  }

  function takeListPage(msg, origin) {
    const match = LIST_REPLY.exec(msg);
    if (origin === "user") {
      // A typed /list shows its reply; a one-page answer also refreshes the list.
      if (match && !match[3]) setOnline(splitNames(match[2]));
      if (msg === "You are the only active user!") setOnline([]);
      return;
    }
    const r = state.refreshing;
    if (!r) return;
    if (!match) {
      state.refreshing = null;
      if (msg === "You are the only active user!") setOnline([]);
      return;
    }
    r.names.push(...splitNames(match[2]));
    const page = Number(match[3] || 1);
    const pages = Number(match[4] || 1);
    if (page < pages && page < MAX_LIST_PAGES) {
      r.page = page + 1;
      requestList("auto", r.page);
      return;
    }
    state.refreshing = null;
    setOnline(r.names);
  }

  function splitNames(text) {
    return text.split(", ").filter((n) => n.length > 0);
  }

  function setOnline(names) {
    state.online = names;
    renderOnline();
  }

  function filteredOnline() {
    const needle = ui.filter.value.trim().toLowerCase();
    const everyone = [state.name, ...state.online];
    return needle ? everyone.filter((n) => n.toLowerCase().includes(needle)) : everyone;
  }

  function renderOnline() {
    ui.onlineCount.textContent = `(${state.online.length + 1})`;
    const names = filteredOnline();
    const pages = Math.max(1, Math.ceil(names.length / PAGE_SIZE));
    state.onlinePage = Math.min(state.onlinePage, pages - 1);
    const first = state.onlinePage * PAGE_SIZE;
    const shown = names.slice(first, first + PAGE_SIZE);
    const items = shown.map((name) => {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      const label = document.createElement("span");
      label.className = "name";
      const isMe = keyOf(name) === keyOf(state.name);
      label.textContent = isMe ? `${name} (you)` : name;
      button.append(label);
      if (isMe) {
        button.disabled = true;
      } else {
        button.setAttribute("aria-label", `Message ${name}`);
        button.addEventListener("click", () => openConversation(name));
      }
      li.append(button);
      return li;
    });
    ui.online.replaceChildren(...items);
    ui.page.textContent = names.length === 0
      ? "nobody matches"
      : `${first + 1}–${first + shown.length} of ${names.length} · page ${state.onlinePage + 1}/${pages}`;
    ui.prev.disabled = state.onlinePage === 0;
    ui.next.disabled = state.onlinePage >= pages - 1;
  }

  // --- conversations -------------------------------------------------------------------------
  function timeText(date) {
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function addItem(name, item, options = {}) {
    const c = conversation(name);
    item.at = new Date();
    c.items.push(item);
    if (c.items.length > 1000) c.items.splice(0, c.items.length - 1000);
    const key = keyOf(name);
    if (key === state.active) {
      ui.messages.append(renderItem(item));
      ui.messages.scrollTop = ui.messages.scrollHeight;
      if (document.hidden && !options.quiet) {
        c.unread++;
        renderConversations();
      }
    } else if (!options.quiet && item.kind !== "mine" && item.kind !== "local") {
      c.unread++;
    }
    renderConversations();
  }

  function renderItem(item) {
    const li = document.createElement("li");
    li.className = item.kind || "";
    const meta = document.createElement("div");
    meta.className = "meta";
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = item.from === SERVER ? "Server" : item.kind === "mine" ? `${item.from} (you)` : item.from;
    const time = document.createElement("time");
    time.dateTime = item.at.toISOString();
    time.textContent = timeText(item.at);
    meta.append(from, time);
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = item.text;
    li.append(meta, text);
    return li;
  }

  function renderConversations() {
    const entries = [...state.conversations.entries()];
    // Everyone first, then the others by their last message.
    entries.sort(([ka, a], [kb, b]) => {
      if (ka === keyOf(EVERYONE)) return -1;
      if (kb === keyOf(EVERYONE)) return 1;
      const ta = a.items.length ? a.items[a.items.length - 1].at : 0;
      const tb = b.items.length ? b.items[b.items.length - 1].at : 0;
      return tb - ta;
    });
    let totalUnread = 0;
    const items = entries.map(([key, c]) => {
      totalUnread += c.unread;
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.key = key;
      if (key === state.active) button.setAttribute("aria-current", "true");
      const label = document.createElement("span");
      label.className = "name";
      label.textContent = c.title;
      button.append(label);
      if (c.unread > 0) {
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = String(c.unread);
        badge.setAttribute("aria-label", `${c.unread} unread`);
        button.append(badge);
      }
      button.addEventListener("click", () => openConversation(c.title));
      li.append(button);
      return li;
    });
    ui.conversations.replaceChildren(...items);
    document.title = totalUnread > 0 ? `(${totalUnread}) classchat` : "classchat";
  }

  function openConversation(name) {
    const c = conversation(name);
    state.active = keyOf(name);
    c.unread = 0;
    ui.title.textContent = c.title === EVERYONE ? "Everyone (shouts)" : c.title;
    ui.messages.replaceChildren(...c.items.map(renderItem));
    ui.messages.scrollTop = ui.messages.scrollHeight;
    renderConversations();
    closeSidebar();
    ui.message.focus();
  }

  // --- what is sent --------------------------------------------------------------------------
  function submitMessage() {
    const text = ui.message.value;
    if (text.trim() === "") return;
    if (!state.joined) return;  // Send is disabled; the text stays for after the rejoin
    const command = /^\/(\S+)\s*([\s\S]*)$/.exec(text.trim());
    const direct = /^@([A-Za-z0-9_.-]+)\s+([\s\S]+)$/.exec(text.trim());
    if (command) {
      const name = "/" + command[1].toLowerCase();
      const arg = command[2];
      if (name === "/shout") {
        if (!arg) return;
        if (!sendJson("/shout", arg)) return;
        addItem(EVERYONE, { from: state.name, text: arg, kind: "mine" });
        if (state.active !== keyOf(EVERYONE)) openConversation(EVERYONE);
      } else {
        if (!sendJson(name, arg)) return;
        if (name === "/list") state.listQueue.push("user");
        addItem(state.active, { from: state.name, text: text.trim(), kind: "local" });
      }
    } else if (direct) {
      const to = direct[1];
      if (!sendJson(to, direct[2])) return;
      addItem(to, { from: state.name, text: direct[2], kind: "mine" });
      openConversation(to);
    } else if (state.active === keyOf(EVERYONE)) {
      if (!sendJson("/shout", text)) return;
      addItem(EVERYONE, { from: state.name, text, kind: "mine" });
    } else {
      const to = conversation(state.active).title;
      if (!sendJson(to, text)) return;
      addItem(to, { from: state.name, text, kind: "mine" });
    }
    ui.message.value = "";
  }

  // --- views ---------------------------------------------------------------------------------
  function showJoin() {
    ui.join.hidden = false;
    ui.chat.hidden = true;
    ui.joinButton.disabled = false;
    ui.name.focus();
  }

  function showChat() {
    if (!ui.chat.hidden) return;
    ui.join.hidden = true;
    ui.chat.hidden = false;
    openConversation(state.active === keyOf(EVERYONE) ? EVERYONE : conversation(state.active).title);
    renderOnline();
  }

  function closeSidebar() {
    ui.sidebar.classList.remove("open");
    ui.toggle.setAttribute("aria-expanded", "false");
  }

  // --- events --------------------------------------------------------------------------------
  ui.joinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = ui.name.value.trim();
    ui.name.removeAttribute("aria-invalid");
    if (!name) {
      ui.joinError.textContent = "Type a name first.";
      ui.name.setAttribute("aria-invalid", "true");
      return;
    }
    ui.joinError.textContent = "";
    state.name = name;
    state.stopped = false;
    state.attempt = 0;
    ui.joinButton.disabled = true;
    connect();
    setTimeout(() => { ui.joinButton.disabled = false; }, 1000);
  });

  ui.sendForm.addEventListener("submit", (event) => {
    event.preventDefault();
    submitMessage();
  });

  for (const kind of ["input", "search"]) {
    ui.filter.addEventListener(kind, () => {
      state.onlinePage = 0;
      renderOnline();
    });
  }
  ui.prev.addEventListener("click", () => { state.onlinePage--; renderOnline(); });
  ui.next.addEventListener("click", () => { state.onlinePage++; renderOnline(); });
  ui.toggle.addEventListener("click", () => {
    const open = ui.sidebar.classList.toggle("open");
    ui.toggle.setAttribute("aria-expanded", String(open));
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      conversation(conversation(state.active).title).unread = 0;
      renderConversations();
    }
  });
  // Escape closes the people panel on a phone.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeSidebar();
  });

  setStatus("idle", "Not connected");
  ui.name.focus();
})();
