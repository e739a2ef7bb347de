"use strict";
// The tokensmith console: the admin API (/admin/v1) called with the session cookie,
// every write carrying the session's CSRF token. Text is always set with
// textContent, never parsed as HTML.
(function () {
  var csrf = "";
  var $ = function (id) { return document.getElementById(id); };
  var notice = $("notice");
  var clientCursor = null, auditCursor = null, editing = null, editingEtag = null;

  function say(text, bad) { notice.textContent = text; notice.className = bad ? "error" : ""; }
  function words(text) { return text.split(/\s+/).filter(Boolean); }
  function when(seconds) { return seconds ? new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19) : ""; }

  function api(method, path, body, headers) {
    var init = { method: method, credentials: "same-origin", headers: headers || {} };
    if (method !== "GET") { init.headers["X-CSRF-Token"] = csrf; }
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (response) {
      if (response.status === 401) { window.location.replace("/console/login"); throw new Error("logged out"); }
      if (response.status === 204) { return { response: response, body: null }; }
      return response.json().then(function (data) {
        if (!response.ok) { throw new Error(data.detail || response.statusText); }
        return { response: response, body: data };
      });
    });
  }
  function failed(error) { say(error.message, true); }

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text;
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }
  function button(label, onClick) {
    var b = document.createElement("button");
    b.type = "button"; b.textContent = label; b.addEventListener("click", onClick);
    return b;
  }

  // --- Sections ---------------------------------------------------------------------
  var loaders = {};
  function show(name) {
    document.querySelectorAll(".tab").forEach(function (tab) {
      var on = tab.dataset.section === name;
      tab.setAttribute("aria-selected", on ? "true" : "false");
      $(tab.dataset.section).hidden = !on;
    });
    loaders[name]();
  }
  document.querySelectorAll(".tab").forEach(function (tab) {
    tab.addEventListener("click", function () { show(tab.dataset.section); });
  });

  // --- Clients ----------------------------------------------------------------------
  function clientRow(client) {
    var row = document.createElement("tr");
    row.dataset.clientId = client.client_id;
    cell(row, client.client_id);
    cell(row, client.name);
    cell(row, client.scopes.join(" "));
    cell(row, client.enabled ? "enabled" : "disabled", client.enabled ? "state-enabled" : "state-disabled");
    cell(row, String(client.secrets.filter(function (s) { return s.live; }).length));
    var actions = cell(row, "");
    actions.appendChild(button("Edit", function () { openEditor(client.client_id); }));
    actions.appendChild(button(client.enabled ? "Disable" : "Enable", function () { setEnabled(client.client_id, !client.enabled); }));
    return row;
  }
  function loadClients(more) {
    var params = new URLSearchParams();
    var text = $("search-text").value.trim();
    if (text) { params.set("q", text); }
    if (more && clientCursor) { params.set("cursor", clientCursor); }
    return api("GET", "/admin/v1/clients?" + params).then(function (result) {
      var body = $("client-table").tBodies[0];
      if (!more) { body.replaceChildren(); }
      result.body.items.forEach(function (client) { body.appendChild(clientRow(client)); });
      clientCursor = result.body.next_cursor;
      $("more-clients").hidden = !clientCursor;
    }).catch(failed);
  }
  loaders.clients = function () { return loadClients(false); };
  $("client-search").addEventListener("submit", function (event) { event.preventDefault(); loadClients(false); });
  $("more-clients").addEventListener("click", function () { loadClients(true); });

  function showSecret(clientId, secret) {
    $("secret-client").textContent = clientId;
    $("secret-value").value = secret;
    $("secret-box").hidden = false;
    $("secret-value").focus();
    $("secret-value").select();
  }
  $("copy-secret").addEventListener("click", function () {
    var value = $("secret-value").value;
    var copied = navigator.clipboard ? navigator.clipboard.writeText(value) : Promise.reject(new Error("no clipboard"));
    copied.then(function () { say("Secret copied."); }, function () {
      $("secret-value").select(); say("Press Ctrl+C to copy the selected secret.");
    });
  });
  $("close-secret").addEventListener("click", function () { $("secret-value").value = ""; $("secret-box").hidden = true; });

  $("create-client").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var spec = { scopes: words(form.scopes.value) };
    if (form.client_id.value.trim()) { spec.client_id = form.client_id.value.trim(); }
    if (form.name.value.trim()) { spec.name = form.name.value.trim(); }
    if (form.audiences.value.trim()) { spec.audiences = words(form.audiences.value); }
    if (form.lifetime.value.trim()) { spec.lifetime = /^\d+$/.test(form.lifetime.value.trim()) ? Number(form.lifetime.value.trim()) : form.lifetime.value.trim(); }
    // One key per submitted form: a retried request cannot make a second client.
    var key = "console-" + Date.now() + "-" + Math.random().toString(36).slice(2);
    api("POST", "/admin/v1/clients", spec, { "Idempotency-Key": key }).then(function (result) {
      form.reset();
      say("Client " + result.body.client_id + " created.");
      if (result.body.client_secret) { showSecret(result.body.client_id, result.body.client_secret); }
      return loadClients(false);
    }).catch(failed);
  });

  function setEnabled(clientId, enabled) {
    api("PATCH", "/admin/v1/clients/" + encodeURIComponent(clientId), { enabled: enabled }).then(function () {
      say("Client " + clientId + (enabled ? " enabled." : " disabled."));
      return loadClients(false);
    }).catch(failed);
  }

  function fillEditor(client, etag) {
    editing = client.client_id; editingEtag = etag;
    $("edit-client").textContent = client.client_id;
    $("edit-name").value = client.name;
    $("edit-scopes").value = client.scopes.join(" ");
    $("edit-audiences").value = client.audiences.join(" ");
    $("edit-lifetime").value = client.lifetime;
    $("edit-rate-limit").value = client.rate_limit === null ? "" : String(client.rate_limit);
    $("edit-enabled").checked = client.enabled;
    var usesSecrets = client.auth_method === "client_secret_basic" || client.auth_method === "client_secret_post";
    $("edit-auth").textContent = "Method: " + client.auth_method + (client.jwks_uri ? ", keys at " + client.jwks_uri : "") +
      (client.token_binding && client.token_binding !== "none" ? "; tokens bound to " + client.token_binding : "");
    $("secret-part").hidden = !usesSecrets && client.secrets.length === 0;
    var list = $("secret-list");
    list.replaceChildren();
    client.secrets.forEach(function (secret) {
      var item = document.createElement("li");
      item.textContent = secret.secret_id + " — " + (secret.live ? "live" : "expired") + ", created " + when(secret.created_at) +
        (secret.expires_at ? ", expires " + when(secret.expires_at) : "") + lastUsed(secret) + " ";
      item.appendChild(button("Remove " + secret.secret_id, function () { removeSecret(client.client_id, secret.secret_id); }));
      list.appendChild(item);
    });
    $("key-part").hidden = client.auth_method !== "private_key_jwt";
    var keys = $("key-list");
    keys.replaceChildren();
    client.keys.forEach(function (key) {
      var item = document.createElement("li");
      item.textContent = key.kid + (key.algorithms ? " (" + key.algorithms.join(", ") + ")" : "") + lastUsed(key);
      keys.appendChild(item);
    });
    $("federation-part").hidden = client.auth_method !== "federated";
    var federations = $("federation-list");
    federations.replaceChildren();
    client.federations.forEach(function (federation) {
      var item = document.createElement("li");
      item.textContent = federation.federation_id + " — trust " + federation.trust + ", sub " + federation.subject +
        (federation.conditions.length ? ", where " + federation.conditions.join(", ") : "") + lastUsed(federation) + " ";
      item.appendChild(button("Remove " + federation.federation_id, function () { removeFederation(client.client_id, federation.federation_id); }));
      federations.appendChild(item);
    });
    $("editor").hidden = false;
  }
  function lastUsed(credential) {
    if (!("last_used_at" in credential)) { return ""; }
    return credential.last_used_at ? ", last used " + when(credential.last_used_at) : ", never used";
  }
  function openEditor(clientId) {
    return api("GET", "/admin/v1/clients/" + encodeURIComponent(clientId)).then(function (result) {
      fillEditor(result.body, result.response.headers.get("ETag"));
      $("edit-name").focus();
    }).catch(failed);
  }
  $("edit-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    var lifetime = form.lifetime.value.trim();
    var changes = {
      name: form.name.value.trim(), scopes: words(form.scopes.value), audiences: words(form.audiences.value),
      lifetime: /^\d+$/.test(lifetime) ? Number(lifetime) : lifetime,
      rate_limit: form.rate_limit.value.trim() ? Number(form.rate_limit.value.trim()) : null,
      enabled: form.enabled.checked
    };
    api("PATCH", "/admin/v1/clients/" + encodeURIComponent(editing), changes, { "If-Match": editingEtag }).then(function (result) {
      fillEditor(result.body, result.response.headers.get("ETag"));
      say("Client " + editing + " saved.");
      return loadClients(false);
    }).catch(failed);
  });
  $("add-secret").addEventListener("click", function () {
    var clientId = editing;
    api("POST", "/admin/v1/clients/" + encodeURIComponent(clientId) + "/secrets", {}).then(function (result) {
      showSecret(clientId, result.body.client_secret);
      say("New secret " + result.body.secret_id + " for " + clientId + "; remove the old one once every caller has the new one.");
      return openEditor(clientId);
    }).catch(failed);
  });
  function removeSecret(clientId, secretId) {
    api("DELETE", "/admin/v1/clients/" + encodeURIComponent(clientId) + "/secrets/" + encodeURIComponent(secretId)).then(function () {
      say("Secret " + secretId + " removed.");
      return openEditor(clientId);
    }).catch(failed);
  }
  $("add-federation").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target, clientId = editing;
    var spec = { trust: form.trust.value.trim(), subject: form.subject.value.trim(), conditions: words(form.conditions.value) };
    api("POST", "/admin/v1/clients/" + encodeURIComponent(clientId) + "/federations", spec).then(function (result) {
      form.reset();
      say("Federated credential " + result.body.federation_id + " added to " + clientId + ".");
      return openEditor(clientId);
    }).catch(failed);
  });
  function removeFederation(clientId, federationId) {
    api("DELETE", "/admin/v1/clients/" + encodeURIComponent(clientId) + "/federations/" + encodeURIComponent(federationId)).then(function () {
      say("Federated credential " + federationId + " removed.");
      return openEditor(clientId);
    }).catch(failed);
  }
  $("close-editor").addEventListener("click", function () { $("editor").hidden = true; editing = null; });

  // --- Trusts -----------------------------------------------------------------------
  loaders.trusts = function () {
    return api("GET", "/admin/v1/trusts").then(function (result) {
      var body = $("trust-table").tBodies[0];
      body.replaceChildren();
      result.body.items.forEach(function (trust) {
        var row = document.createElement("tr");
        var keys = trust.keys_from === "jwks" ? "inline (" + trust.jwks_kids.join(", ") + ")" : trust.keys_from === "jwks_uri" ? trust.jwks_uri : "discovery";
        [trust.name, trust.issuer, keys, trust.audience || "this server", trust.replay, trust.max_token_age + " s", String(trust.federated_credentials)]
          .forEach(function (text) { cell(row, text); });
        body.appendChild(row);
      });
    }).catch(failed);
  };

  // --- Keys -------------------------------------------------------------------------
  loaders.keys = function () {
    return api("GET", "/admin/v1/keys").then(function (result) {
      var body = $("key-table").tBodies[0];
      body.replaceChildren();
      result.body.items.forEach(function (key) {
        var row = document.createElement("tr");
        [key.kid, key.algorithm, key.state, when(key.created_at), when(key.activated_at), when(key.retired_at)].forEach(function (text) { cell(row, text); });
        body.appendChild(row);
      });
    }).catch(failed);
  };
  $("rotate-keys").addEventListener("click", function () {
    if (!window.confirm("Rotate the signing keys? The next key starts signing; the active one is retired.")) { return; }
    api("POST", "/admin/v1/keys/rotate", {}).then(function () { say("Keys rotated."); return loaders.keys(); }).catch(failed);
  });

  // --- Audit log --------------------------------------------------------------------
  function loadAudit(more) {
    var params = new URLSearchParams();
    var client = $("audit-client").value.trim(), actor = $("audit-actor").value.trim();
    if (client) { params.set("client", client); }
    if (actor) { params.set("actor", actor); }
    if (more && auditCursor) { params.set("cursor", String(auditCursor)); }
    return api("GET", "/admin/v1/audit?" + params).then(function (result) {
      var body = $("audit-table").tBodies[0];
      if (!more) { body.replaceChildren(); }
      result.body.items.forEach(function (event) {
        var row = document.createElement("tr");
        cell(row, when(event.occurred_at)); cell(row, event.action); cell(row, event.subject); cell(row, event.actor);
        cell(row, JSON.stringify(event.details), "details");
        body.appendChild(row);
      });
      auditCursor = result.body.next_cursor;
      $("more-audit").hidden = !auditCursor;
    }).catch(failed);
  }
  loaders.audit = function () { return loadAudit(false); };
  $("audit-filter").addEventListener("submit", function (event) { event.preventDefault(); loadAudit(false); });
  $("more-audit").addEventListener("click", function () { loadAudit(true); });

  // --- Activity charts (hand-drawn SVG line charts) ----------------------------------
  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = ["#1f5fbf", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#0b7285", "#5c940d", "#e67700"];
  var timer = null;
  function svg(name, attributes, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) { node.textContent = text; }
    return node;
  }
  function draw(chart, points, field) {
    var width = 640, height = 220, left = 40, right = 150, top = 10, bottom = 24;
    var now = Date.now() / 1000, start = now - 3600;
    var clients = {};
    points.forEach(function (p) { Object.keys(p[field]).forEach(function (c) { clients[c] = true; }); });
    var names = Object.keys(clients).sort();
    var peak = 1;
    points.forEach(function (p) { names.forEach(function (c) { peak = Math.max(peak, p[field][c] || 0); }); });
    var x = function (t) { return left + (width - left - right) * (t - start) / 3600; };
    var y = function (v) { return top + (height - top - bottom) * (1 - v / peak); };
    chart.replaceChildren();
    chart.appendChild(svg("line", { x1: left, y1: y(0), x2: width - right, y2: y(0), stroke: "#aab1bd" }));
    chart.appendChild(svg("line", { x1: left, y1: top, x2: left, y2: y(0), stroke: "#aab1bd" }));
    chart.appendChild(svg("text", { x: 4, y: top + 10 }, String(peak)));
    chart.appendChild(svg("text", { x: 4, y: y(0) }, "0"));
    chart.appendChild(svg("text", { x: left, y: height - 6 }, "−60 min"));
    chart.appendChild(svg("text", { x: width - right - 24, y: height - 6 }, "now"));
    if (!names.length) {
      chart.appendChild(svg("text", { x: left + 20, y: height / 2 }, "Nothing yet in the last hour."));
    }
    names.forEach(function (name, index) {
      var colour = COLOURS[index % COLOURS.length];
      var path = points.filter(function (p) { return p.at >= start; })
        .map(function (p) { return x(p.at).toFixed(1) + "," + y(p[field][name] || 0).toFixed(1); }).join(" ");
      chart.appendChild(svg("polyline", { points: path, fill: "none", stroke: colour, "stroke-width": 2 }));
      var label = name || "unidentified";
      chart.appendChild(svg("rect", { x: width - right + 10, y: top + index * 16, width: 10, height: 10, fill: colour }));
      chart.appendChild(svg("text", { x: width - right + 24, y: top + 9 + index * 16 }, label));
    });
    var summary = names.map(function (n) {
      return (n || "unidentified") + ": " + points.reduce(function (sum, p) { return sum + (p[field][n] || 0); }, 0);
    }).join(", ");
    chart.setAttribute("aria-description", summary ? "Totals over the hour — " + summary : "No events in the last hour");
  }
  function refreshCharts() {
    return api("GET", "/admin/v1/stats/tokens").then(function (result) {
      draw($("issued-chart"), result.body.points, "issued");
      draw($("failures-chart"), result.body.points, "failures");
    }).catch(failed);
  }
  loaders.activity = function () {
    if (timer === null) { timer = window.setInterval(function () { if (!$("activity").hidden) { refreshCharts(); } }, 10000); }
    return refreshCharts();
  };

  // --- Session ----------------------------------------------------------------------
  $("logout").addEventListener("click", function () {
    api("POST", "/console/logout").then(function () { window.location.replace("/console/login"); }).catch(failed);
  });
  fetch("/console/session", { credentials: "same-origin" }).then(function (response) {
    if (!response.ok) { window.location.replace("/console/login"); throw new Error("logged out"); }
    return response.json();
  }).then(function (session) {
    csrf = session.csrf_token;
    $("who").textContent = "Logged in as " + session.person;
    show("clients");
  }).catch(function () {});
})();
