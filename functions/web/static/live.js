// Live updates for a page: one WebSocket (the session cookie authenticates it; no token in the URL),
// heartbeats, reconnect with exponential backoff and jitter, and a polling fallback with
// If-None-Match when WebSockets are blocked. Elements with data-live-src are re-read when a message
// names one of their data-live-topics; 304 means nothing changed.
(function () {
  "use strict";
  const body = document.body;
  const heartbeatMs = Number(body.dataset.heartbeatMs || 10000);
  const pollMs = Number(body.dataset.pollMs || 5000);
  const statusEl = document.getElementById("live-status");
  const etags = new WeakMap();
  const state = { mode: "connecting", messages: [], socket: null, failures: 0, pollTimer: null };
  window.coLive = state;

  function say(text, mode) {
    state.mode = mode;
    if (statusEl) statusEl.textContent = text;
  }

  function liveElements(topic) {
    return Array.from(document.querySelectorAll("[data-live-src]")).filter(
      (el) => !topic || (el.dataset.liveTopics || "").split(" ").includes(topic)
    );
  }

  function wantedTopics() {
    const topics = new Set();
    document.querySelectorAll("[data-live-topics]").forEach((el) =>
      (el.dataset.liveTopics || "").split(" ").forEach((t) => t && topics.add(t))
    );
    return Array.from(topics);
  }

  async function refresh(el) {
    const headers = { "X-Requested-With": "live" };
    const tag = etags.get(el);
    if (tag) headers["If-None-Match"] = tag;
    let response;
    try {
      response = await fetch(el.dataset.liveSrc, { headers: headers, credentials: "same-origin", cache: "no-store" });
    } catch (err) {
      el.setAttribute("aria-busy", "false");
      if (!el.querySelector(".error")) {
        el.insertAdjacentHTML("afterbegin", '<p class="error" role="alert">The server did not answer; retrying.</p>');
      }
      return;
    }
    if (response.status === 304) return;
    const text = await response.text();
    if (response.ok) etags.set(el, response.headers.get("ETag"));
    else etags.delete(el);
    el.innerHTML = text;
    if (window.htmx) window.htmx.process(el);
    el.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
  }

  function refreshTopic(topic) {
    liveElements(topic).forEach(refresh);
    document.dispatchEvent(new CustomEvent("live:" + topic));
  }

  function startPolling() {
    if (state.pollTimer) return;
    say("Updating every " + Math.round(pollMs / 1000) + " s", "polling");
    state.pollTimer = setInterval(() => {
      liveElements().forEach(refresh);
      document.dispatchEvent(new CustomEvent("live:poll"));
    }, pollMs);
  }

  function stopPolling() {
    if (state.pollTimer) clearInterval(state.pollTimer);
    state.pollTimer = null;
  }

  function connect() {
    if (typeof window.WebSocket !== "function") {
      startPolling();
      return;
    }
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/app/ws";
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (err) {
      startPolling();
      return;
    }
    state.socket = socket;
    let lastSeen = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastSeen > 2.5 * heartbeatMs) socket.close();
    }, heartbeatMs);
    socket.onopen = () => {
      socket.send(JSON.stringify({ subscribe: wantedTopics() }));
    };
    socket.onmessage = (event) => {
      lastSeen = Date.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (message.type === "subscribed") {
        const reconnected = state.failures > 0 || state.pollTimer;
        state.failures = 0;
        stopPolling();
        say("Live", "live");
        if (reconnected) liveElements().forEach(refresh); // catch up on what was missed
      } else if (message.type === "changed") {
        state.messages.push({ topic: message.topic, seq: message.seq, at: message.at, received: Date.now() });
        if (state.messages.length > 200) state.messages.shift();
        refreshTopic(message.topic);
      }
    };
    socket.onclose = (event) => {
      clearInterval(watchdog);
      state.socket = null;
      if (event.code === 4401 || event.code === 1008) {
        say("Signed out: reload the page to sign in", "closed");
        return;
      }
      state.failures += 1;
      if (state.failures >= 2) startPolling();
      else say("Reconnecting…", "reconnecting");
      const backoff = Math.min(30000, 500 * 2 ** Math.min(state.failures, 6));
      setTimeout(connect, backoff / 2 + Math.random() * (backoff / 2));
    };
  }

  function start() {
    if (!liveElements().length) { // nothing on this page changes (sign-in, errors)
      if (statusEl) statusEl.hidden = true;
      return;
    }
    liveElements().forEach(refresh);
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
