// Facilitator sign-in: the server sets an HttpOnly cookie; this page only shows who is signed in.
const problem = document.getElementById("signin-error");

function showSignedIn(me) {
  const credentials = me.credentials ? `, ${me.credentials}` : "";
  document.getElementById("who").textContent = `${me.display_name}${credentials}`;
  document.getElementById("signin").hidden = true;
  document.getElementById("signed-in").hidden = false;
}

document.getElementById("signin").addEventListener("submit", async (event) => {
  event.preventDefault();
  problem.textContent = "";
  let response;
  try {
    response = await fetch("/api/auth/signin", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        email: document.getElementById("email").value,
        password: document.getElementById("password").value,
      }),
    });
  } catch {
    problem.textContent = "The server cannot be reached. Check your connection and try again.";
    return;
  }
  const body = await response.json();
  if (!response.ok) {
    problem.textContent = body.message || "Sign-in failed.";
    return;
  }
  showSignedIn(body);
});

document.getElementById("signout").addEventListener("click", async () => {
  await fetch("/api/auth/signout", { method: "POST" });
  location.reload();
});

fetch("/api/me").then((r) => (r.ok ? r.json().then(showSignedIn) : null));
