// What the standalone views (search.html, neural.html) share: one request at a time to their
// Python session's API, the reply's error (or none) shown in the page's #error line.

export async function request(state, endpoint, msg) {
  if (state.busy) return null;
  state.busy = true;
  let reply;
  try {
    const response = await fetch(endpoint, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(msg),
    });
    reply = await response.json();
  } catch (err) {
    reply = { type: "error", message: `no answer from the dynaplan server (${err})` };
  }
  state.busy = false;
  document.getElementById("error").textContent = reply.type === "error" ? reply.message : "";
  return reply;
}
