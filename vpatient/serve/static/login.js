// Sign in, then go where the role works: students to the consultation page, the others to the web app.
"use strict";

const HOME = { student: "/", assessor: "/app#/sessions", faculty: "/app#/sessions", admin: "/app#/users" };

function safeNext() {
  // only a path on this server (never //host or a scheme): no open redirect
  const next = new URLSearchParams(location.search).get("next") || "";
  return /^\/(?!\/)[A-Za-z0-9_\-./#=?&%]*$/.test(next) && !next.startsWith("/login") ? next : null;
}

document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const err = document.getElementById("login-error");
  err.hidden = true;
  const res = await fetch("/api/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      username: document.getElementById("username").value,
      password: document.getElementById("password").value,
    }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    err.textContent = body.message || `the server said ${res.status}`;
    err.hidden = false;
    return;
  }
  location.href = safeNext() || HOME[body.user.role] || "/app";
});
