"""Open a Snakemake HTML report in headless Chromium and show every result in the page.

Drives Chromium over its DevTools protocol (websocket-client; no Selenium): loads the report,
opens every category and subcategory of the navigation as a user's clicks would, then shows
every result the way its eye button does, and records what the page displayed and every
JavaScript exception thrown on the way.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")

# For each result: show it as result_view_button.js does, then describe what the content pane holds.
SHOW_EVERY_RESULT = """
(async () => {
  const pause = () => new Promise(r => setTimeout(r, 150));
  const seen = {};
  for (const category of Object.keys(categories)) {
    app.showCategory(category);
    await pause();
    for (const subcategory of Object.keys(categories[category])) {
      app.setView({navbarMode: "subcategory", category: category, subcategory: subcategory});
      await pause();
    }
  }
  for (const [path, result] of Object.entries(results)) {
    const mime = result.mime_type || "";
    const content = mime.startsWith("image/") && mime !== "image/svg+xml" ? "img"
                  : mime === "text/html" ? "html" : mime === "application/pdf" ? "pdf" : "download";
    if (content !== "download") {
      app.setView({content: content, contentPath: result.data_uri, resultPath: path});
      await pause();
    }
    const img = Array.from(document.images).find(i => i.src === result.data_uri);
    const frame = document.querySelector("#app iframe");
    let text = "";
    if (frame && frame.src && frame.src.startsWith("data:text/html")) {
      const encoded = frame.src.split(",", 2)[1];
      text = frame.src.includes(";base64,") ? atob(encoded) : decodeURIComponent(encoded);
    }
    seen[path] = {mime: mime, shown: content, img: !!(img && img.naturalWidth > 0), iframe: !!frame,
                  text: new TextDecoder().decode(Uint8Array.from(text, c => c.charCodeAt(0)))};
  }
  return JSON.stringify(seen);
})()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Page:
    def __init__(self, websocket_url: str):
        import websocket

        self.ws = websocket.create_connection(websocket_url, timeout=60)
        self.next_id = 0
        self.exceptions: list[str] = []

    def call(self, method: str, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("method") == "Runtime.exceptionThrown":
                details = message["params"]["exceptionDetails"]
                self.exceptions.append(details.get("exception", {}).get("description") or details.get("text", ""))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})


def show_every_result(report: Path) -> tuple[dict, list[str]]:
    """{result path: what the page showed} and the JavaScript exceptions thrown."""
    if CHROMIUM is None:
        raise FileNotFoundError("chromium is not installed")
    port = _free_port()
    profile = tempfile.mkdtemp(prefix="tvseg-chromium-")
    browser = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--remote-debugging-port={port}", f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.time() + 30
        while True:
            try:
                targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=2).read())
                page = next(t for t in targets if t.get("type") == "page")
                break
            except (OSError, StopIteration):
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        tab = _Page(page["webSocketDebuggerUrl"])
        tab.call("Runtime.enable")
        tab.call("Page.enable")
        tab.call("Page.navigate", url=Path(report).resolve().as_uri())
        for _ in range(100):  # the report is one large file: wait until its app has rendered
            # window.app is the #app element until the React app replaces the global: ask for its setView
            ready = tab.call(
                "Runtime.evaluate",
                expression="typeof categories !== 'undefined' && typeof app.setView === 'function'",
                returnByValue=True,
            )
            if ready["result"].get("value"):
                break
            time.sleep(0.2)
        result = tab.call("Runtime.evaluate", expression=SHOW_EVERY_RESULT, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            tab.exceptions.append(str(result["exceptionDetails"]))
            return {}, tab.exceptions
        return json.loads(result["result"]["value"]), tab.exceptions
    finally:
        browser.kill()
        browser.wait()
        shutil.rmtree(profile, ignore_errors=True)
