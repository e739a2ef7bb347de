"use strict";
// The login link's code is in the URL's fragment (never sent to a server): post it
// once, then drop it from the address bar and history, and open the console.
(function () {
  var status = document.getElementById("login-status");
  var code = window.location.hash.slice(1);
  history.replaceState(null, "", window.location.pathname);
  if (!code) {
    status.textContent = "Open the login link you were given (it ends with #tkl_…).";
    return;
  }
  fetch("/console/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ code: code }),
    credentials: "same-origin"
  }).then(function (response) {
    if (response.status === 204) {
      status.textContent = "Logged in; opening the console…";
      window.location.replace("/console");
      return;
    }
    return response.json().then(function (problem) {
      status.textContent = "Login failed: " + (problem.detail || response.statusText);
      status.className = "error";
    });
  }).catch(function () {
    status.textContent = "Login failed: the server did not answer.";
    status.className = "error";
  });
})();
