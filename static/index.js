// Landing page: create a session with the server's API key and show its two links.
const form = document.getElementById("create");
const problem = document.getElementById("create-error");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  problem.textContent = "";
  let response;
  try {
    response = await fetch("/api/sessions", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${document.getElementById("api-key").value.trim()}`,
      },
      body: JSON.stringify({ title: document.getElementById("title").value }),
    });
  } catch {
    problem.textContent = "The server cannot be reached. Check that Circle is running.";
    return;
  }
  const body = await response.json();
  if (!response.ok) {
    problem.textContent = body.message || "The session could not be created.";
    return;
  }
  document.getElementById("facilitator-url").value = body.facilitator_url;
  document.getElementById("invite-url").value = body.invite_url;
  document.getElementById("open-facilitator").href = body.facilitator_url;
  document.getElementById("links").hidden = false;
});
