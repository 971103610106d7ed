"""Screenshot the MLflow UI's run list of the workbench's experiment (docs/screenshots/mlflow-runs.png) and one
run's artifacts with its reliability figure open (docs/screenshots/mlflow-run-artifacts.png).

    mlflow ui --backend-store-uri sqlite:////tmp/mlstore/mlflow.db --port 5055     # full mlflow, its own venv
    python packaging/mlflow_screenshot.py --url http://127.0.0.1:5055/#/experiments/1/runs
    python packaging/mlflow_screenshot.py --url http://127.0.0.1:5055/#/experiments/1/runs/RUN_ID/artifacts \
        --artifacts --size 1500x760 --out docs/screenshots/mlflow-run-artifacts.png

Drives headless Chromium over the DevTools protocol (needs the `chromium` binary and `websocket-client`; neither
is a workbench dependency): folds the sidebar, closes the assistant panel, shows the chosen metric and parameter
columns, widens the run-name column, and grabs the page; with --artifacts, opens the export folder and the
reliability figure instead. The clicks find the UI's controls by their visible
text, so a later MLflow UI may need the names below adjusted (written against MLflow 3.18).
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import tempfile
import time
import urllib.request

# Dataset and Source are on by default and say nothing here ("-", the CLI's path): clicking them hides them.
COLUMNS = ("Dataset", "Source", "test_accuracy", "test_macro_f1", "test_ece", "test_brier",
           "calibration", "head.task", "head.dropout", "seed")
PORT = 9333


class Page:
    """One Chromium tab spoken to over the DevTools websocket."""

    def __init__(self, ws_url: str) -> None:
        import websocket  # websocket-client, only for this script

        self.ws = websocket.create_connection(ws_url, timeout=120)
        self.n = 0

    def call(self, method: str, **params: object) -> dict:
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                return msg.get("result", msg)

    def js(self, expr: str) -> object:
        r = self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True)
        return r.get("result", {}).get("value")

    def click_button(self, name: str) -> object:
        return self.js(f"""(() => {{ const b = Array.from(document.querySelectorAll('button')).find(b =>
            b.getAttribute('aria-label') === {name!r} || b.innerText.trim() === {name!r});
            if (b) b.click(); return !!b; }})()""")

    def click_text(self, text: str) -> object:
        # the column picker's entry is the last leaf with this text (a table header of that name comes first)
        return self.js(f"""(() => {{ const e = Array.from(document.querySelectorAll('label, span, div')).filter(e =>
            e.children.length === 0 && e.textContent.trim() === {text!r}).pop(); if (e) e.click(); return !!e; }})()""")

    def click_node(self, text: str, last: bool) -> object:
        # the artifact tree writes a name as a bare text node beside its icon, not as a leaf element
        return self.js(f"""(() => {{ const m = Array.from(document.querySelectorAll('div, span, a, li')).filter(e =>
            Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim() === {text!r}));
            const e = {'m.pop()' if last else 'm[0]'}; if (e) e.click(); return !!e; }})()""")

    def mouse(self, kind: str, x: float, y: float, buttons: int = 1) -> None:
        self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", buttons=buttons, clickCount=1)

    def drag(self, x: float, y: float, dx: int) -> None:
        self.mouse("mouseMoved", x, y, 0)
        self.mouse("mousePressed", x, y)
        for step in range(10, dx + 1, 10):
            self.mouse("mouseMoved", x + step, y)
            time.sleep(0.05)
        self.mouse("mouseReleased", x + dx, y, 0)


def shoot(url: str, out: str, width: int, height: int, artifacts: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="mlflow-shot-") as profile:
        _shoot(url, out, width, height, artifacts, profile)


def _shoot(url: str, out: str, width: int, height: int, artifacts: bool, profile: str) -> None:
    browser = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
         f"--remote-debugging-port={PORT}", f"--window-size={width},{height}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(60):
            try:
                tabs = json.load(urllib.request.urlopen(f"http://127.0.0.1:{PORT}/json"))
                break
            except OSError:
                time.sleep(0.5)
        page = Page(next(t for t in tabs if t["type"] == "page")["webSocketDebuggerUrl"])
        page.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        page.call("Page.navigate", url=url)
        time.sleep(12)  # the single-page app fetches runs after it loads; no event says the table is filled
        (open_artifacts if artifacts else pick_columns)(page, height)
        with open(out, "wb") as f:
            f.write(base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"]))
        print("wrote", out)
    finally:
        browser.terminate()
        browser.wait()


def open_artifacts(page: Page, height: int) -> None:
    for button in ("Toggle sidebar", "Close"):
        print(button, page.click_button(button))
        time.sleep(2)
    print("export", page.click_node("export", last=False))  # the folder, listed once until one is opened
    time.sleep(3)
    print("reliability.png", page.click_node("reliability.png", last=True))  # the run-level copy, last in the tree
    time.sleep(5)


def pick_columns(page: Page, height: int) -> None:
    for button in ("Toggle sidebar", "Close", "Columns"):
        print(button, page.click_button(button))
        time.sleep(2)
    for column in COLUMNS:
        print(column, page.click_text(column))
        time.sleep(1)
    page.mouse("mousePressed", 400, height - 50)  # a click on the empty table closes the picker
    page.mouse("mouseReleased", 400, height - 50, 0)
    time.sleep(2)
    x, y = page.js("""(() => { const e = Array.from(document.querySelectorAll('*')).find(e =>
        e.children.length === 0 && e.textContent.trim() === 'Run Name'); let c = e.parentElement;
        while (c.parentElement && c.getBoundingClientRect().width < 100) c = c.parentElement;
        const b = c.getBoundingClientRect(); return [b.right - 2, b.top + b.height / 2]; })()""")
    page.drag(x, y, 90)
    page.mouse("mouseMoved", 700, height - 40, 0)  # no tooltip left over the table
    time.sleep(2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="http://127.0.0.1:5055/#/experiments/1/runs")
    ap.add_argument("--out", default="docs/screenshots/mlflow-runs.png")
    ap.add_argument("--size", default="1700x520", help="WIDTHxHEIGHT in CSS pixels")
    ap.add_argument("--artifacts", action="store_true", help="URL is a run's artifacts page: open the figure")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    shoot(args.url, args.out, width, height, args.artifacts)


if __name__ == "__main__":
    main()
