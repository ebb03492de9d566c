// The collaboration network on a canvas: positions come from the server (igraph layout), this
// file only draws, pans, zooms and selects. One path per frame for the edges keeps 1,000+ nodes
// and tens of thousands of ties interactive.
(function () {
  "use strict";
  const canvas = document.getElementById("network");
  if (!canvas) return;
  const ctx = canvas.getContext("2d");
  const info = document.getElementById("network-selection");
  const palette = ["#0b4f9c", "#a33c00", "#1d6b2f", "#5b2a86", "#7a5200", "#006d77", "#9c1f5b", "#3d5a00",
                   "#4a4a8c", "#8c4a00", "#00607a", "#6b3a3a"];
  const stateColour = { ok: "#1d6b2f", overloaded: "#a33c00", silo: "#5b2a86" };
  const view = { k: 1, tx: 0, ty: 0 };
  let data = null, etag = null, level = canvas.dataset.level || "teams", selected = -1, frame = 0;
  const margin = 30;

  function toScreen(n) {
    const w = canvas.width - 2 * margin, h = canvas.height - 2 * margin;
    return [(margin + n.x * w) * view.k + view.tx, (margin + n.y * h) * view.k + view.ty];
  }

  function radius(n) {
    return data.level === "teams" ? 4 + Math.sqrt(n.size) * 1.6 : 3;
  }

  function colour(n) {
    return data.level === "teams" ? stateColour[n.state] || "#0b4f9c" : palette[n.group % palette.length];
  }

  function draw() {
    frame = 0;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!data) return;
    const pts = data.nodes.map(toScreen);
    const maxW = data.edges.reduce((m, e) => Math.max(m, e[2]), 1);
    ctx.strokeStyle = data.level === "teams" ? "rgba(60,60,60,0.35)" : "rgba(60,60,60,0.08)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const e of data.edges) {
      const a = pts[e[0]], b = pts[e[1]];
      ctx.moveTo(a[0], a[1]);
      ctx.lineTo(b[0], b[1]);
    }
    ctx.stroke();
    if (data.level === "teams") {
      for (const e of data.edges) {  // heavier ties drawn thicker on the small team graph
        const a = pts[e[0]], b = pts[e[1]];
        ctx.lineWidth = 0.5 + 4 * (e[2] / maxW);
        ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]); ctx.stroke();
      }
    }
    if (selected >= 0) {
      ctx.strokeStyle = "rgba(255,140,0,0.9)";
      ctx.lineWidth = 2;
      ctx.beginPath();
      for (const e of data.edges) {
        if (e[0] === selected || e[1] === selected) {
          const a = pts[e[0]], b = pts[e[1]];
          ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0], b[1]);
        }
      }
      ctx.stroke();
    }
    data.nodes.forEach((n, i) => {
      const p = pts[i];
      ctx.fillStyle = colour(n);
      ctx.beginPath();
      ctx.arc(p[0], p[1], radius(n) * Math.sqrt(view.k), 0, 2 * Math.PI);
      ctx.fill();
      if (i === selected) {
        ctx.strokeStyle = "#000"; ctx.lineWidth = 3; ctx.stroke();
      }
    });
    if (data.level === "teams") {
      ctx.fillStyle = "#1b1b1b";
      ctx.font = "12px system-ui, sans-serif";
      data.nodes.forEach((n, i) => ctx.fillText(n.label, pts[i][0] + radius(n) + 2, pts[i][1] + 4));
    }
    if (!window.coNetwork) {
      performance.mark("co-network-drawn");
      window.coNetwork = { drawnAt: performance.now() };
    }
    window.coNetwork.nodes = data.nodes.length;
    window.coNetwork.level = data.level;
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(draw);
  }

  function describe(i) {
    if (i < 0 || !data) return "Nothing selected.";
    const n = data.nodes[i];
    const degree = data.edges.filter((e) => e[0] === i || e[1] === i).length;
    if (data.level === "teams") {
      return "Team " + n.label + ": " + n.size + " members, load index " + n.load_index.toFixed(2) +
        ", " + Math.round(n.cross_share * 100) + "% of ties cross teams, " + n.state + "; tied to " + degree + " teams.";
    }
    return "Person " + n.id + " (team " + n.team + "): interaction volume " + n.volume + ", " + degree + " ties.";
  }

  function select(i) {
    selected = i;
    info.textContent = describe(i);
    schedule();
  }

  async function load() {
    const headers = {};
    if (etag) headers["If-None-Match"] = etag;
    let response;
    try {
      response = await fetch(canvas.dataset.src + "?level=" + level, { headers: headers, credentials: "same-origin" });
    } catch (err) {
      info.textContent = "The network could not be loaded: the server did not answer.";
      return;
    }
    if (response.status === 304) return;
    if (!response.ok) {
      info.textContent = "The network could not be loaded (error " + response.status + ").";
      return;
    }
    etag = response.headers.get("ETag");
    const previous = data && data.level === level && selected >= 0 ? data.nodes[selected].id : null;
    data = await response.json();
    selected = previous === null ? -1 : data.nodes.findIndex((n) => n.id === previous);
    info.textContent = describe(selected);
    draw();
  }

  function canvasPoint(event) {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * (canvas.width / rect.width), (event.clientY - rect.top) * (canvas.height / rect.height)];
  }

  function nearest(x, y) {
    if (!data) return -1;
    let best = -1, bestD = 12 * 12;
    data.nodes.forEach((n, i) => {
      const p = toScreen(n);
      const d = (p[0] - x) ** 2 + (p[1] - y) ** 2;
      if (d < bestD) { bestD = d; best = i; }
    });
    return best;
  }

  function zoom(factor, cx, cy) {
    const k = Math.min(40, Math.max(0.3, view.k * factor));
    const f = k / view.k;
    view.tx = cx - (cx - view.tx) * f;
    view.ty = cy - (cy - view.ty) * f;
    view.k = k;
    schedule();
  }

  let drag = null;
  canvas.addEventListener("pointerdown", (event) => {
    const [x, y] = canvasPoint(event);
    drag = { x: x, y: y, tx: view.tx, ty: view.ty, moved: false };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const [x, y] = canvasPoint(event);
    if (Math.abs(x - drag.x) + Math.abs(y - drag.y) > 3) drag.moved = true;
    view.tx = drag.tx + (x - drag.x);
    view.ty = drag.ty + (y - drag.y);
    schedule();
  });
  canvas.addEventListener("pointerup", (event) => {
    const [x, y] = canvasPoint(event);
    if (drag && !drag.moved) select(nearest(x, y));
    drag = null;
  });
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const [x, y] = canvasPoint(event);
    zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2, x, y);
  }, { passive: false });
  canvas.addEventListener("keydown", (event) => {
    const step = 40;
    const keys = {
      ArrowLeft: () => { view.tx += step; }, ArrowRight: () => { view.tx -= step; },
      ArrowUp: () => { view.ty += step; }, ArrowDown: () => { view.ty -= step; },
      "+": () => zoom(1.25, canvas.width / 2, canvas.height / 2), "=": () => zoom(1.25, canvas.width / 2, canvas.height / 2),
      "-": () => zoom(0.8, canvas.width / 2, canvas.height / 2),
      "0": () => { view.k = 1; view.tx = 0; view.ty = 0; },
      n: () => data && select((selected + 1) % data.nodes.length),
      p: () => data && select((selected - 1 + data.nodes.length) % data.nodes.length),
      Escape: () => select(-1),
    };
    const action = keys[event.key];
    if (action) { event.preventDefault(); action(); schedule(); }
  });
  document.querySelectorAll(".toggle button[data-level]").forEach((button) => {
    button.addEventListener("click", () => {
      level = button.dataset.level;
      document.querySelectorAll(".toggle button[data-level]").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      etag = null; selected = -1; view.k = 1; view.tx = 0; view.ty = 0;
      load();
    });
  });
  document.addEventListener("live:graph", load);
  document.addEventListener("live:poll", load);
  load();
})();
