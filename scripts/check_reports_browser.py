"""Checks report.html in headless Chromium, the notebook with nbformat and
nbconvert, and the PDF with poppler, for the report folders given.

Usage: check_reports_browser.py SHOTS_DIR NAME=FOLDER:SECTION,SECTION... ...

For each folder it opens report.html at 1400 px and at 390 px with device
metrics emulation (Emulation.setDeviceMetricsOverride: a plain
--window-size lays the page out at Chromium's 500 px minimum and hides phone
problems), and asserts: no horizontal overflow of the page, chart text at
least 11 px on screen at phone width, every named section present, no
console errors, no table cell wider than its column. It prints report.html
to PDF with `chromium --headless --print-to-pdf` (the page's print CSS) and
asserts the last page holds more than the footer. It saves full-page
screenshots to SHOTS_DIR. It validates
report.ipynb, executes it, and asserts it ends with the charts and tables
it started with; it renders report.pdf to PNG pages and checks its text.
Chromium is driven through the DevTools protocol with websocket-client, so
no browser download is needed beyond Debian's chromium package.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import nbformat
import websocket
from nbconvert.preprocessors import ExecutePreprocessor

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PHONE, DESKTOP = 390, 1400
MIN_CHART_PX = 11.0

MEASURE = """(() => {
  const doc = document.documentElement;
  let minFont = Infinity, smallest = '';
  for (const svg of document.querySelectorAll('figure svg')) {
    const box = svg.viewBox.baseVal;
    const scale = svg.getBoundingClientRect().width / (box && box.width ? box.width : 1);
    for (const t of svg.querySelectorAll('text')) {
      const px = parseFloat(getComputedStyle(t).fontSize) * scale;
      if (px < minFont) { minFont = px; smallest = t.textContent; }
    }
  }
  const clipped = [...document.querySelectorAll('td, th')]
    .filter(c => c.scrollWidth > c.clientWidth).map(c => c.textContent.slice(0, 60));
  return {overflow: doc.scrollWidth - window.innerWidth, width: window.innerWidth, clipped,
          height: doc.scrollHeight, minFont, smallest,
          sections: [...document.querySelectorAll('section[id]')].map(s => s.id),
          charts: document.querySelectorAll('figure svg').length};
})()"""


class Browser:
    """One headless Chromium and a page in it, over the DevTools protocol."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        for _ in range(200):
            if os.path.exists(port_file) and len(open(port_file).read().split()) == 2:
                break
            time.sleep(0.1)
        port, path = open(port_file).read().split()
        self.ws = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=60)
        self.next_id = 0
        self.events = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=True)

    def call(self, method, params=None, session=False):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, method):
        while True:
            for i, event in enumerate(self.events):
                if event.get("method") == method:
                    del self.events[: i + 1]
                    return event
            self.events.append(json.loads(self.ws.recv()))

    def console_errors(self):
        errors = []
        for e in self.events:
            p = e.get("params", {})
            if e.get("method") == "Runtime.exceptionThrown":
                errors.append(p["exceptionDetails"].get("text", "exception"))
            elif e.get("method") == "Runtime.consoleAPICalled" and p.get("type") == "error":
                errors.append(str(p.get("args")))
            elif e.get("method") == "Log.entryAdded" and p["entry"].get("level") == "error":
                errors.append(p["entry"].get("text", ""))
        return errors

    def open(self, path, width):
        self.events.clear()
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600},
                  session=True)
        self.call("Page.navigate", {"url": "file://" + os.path.abspath(path)}, session=True)
        self.wait_for("Page.loadEventFired")
        result = self.call("Runtime.evaluate", {"expression": MEASURE, "returnByValue": True}, session=True)
        return result["result"]["value"]

    def screenshot(self, target, width, height, top=0):
        shot = self.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": top, "width": width, "height": height, "scale": 1}}, session=True)
        with open(target, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

    def close(self):
        self.ws.close()
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)


def check_html(browser, name, folder, sections, shots):
    for width in (DESKTOP, PHONE):
        page = browser.open(os.path.join(folder, "report.html"), width)
        errors = browser.console_errors()
        label = f"{name} html at {width} px"
        assert page["width"] == width, f"{label}: laid out at {page['width']} px"
        assert page["overflow"] <= 0, f"{label}: {page['overflow']} px of horizontal overflow"
        missing = [s for s in sections if s not in page["sections"]]
        assert not missing, f"{label}: sections missing: {missing}"
        assert not errors, f"{label}: console errors: {errors}"
        if width == PHONE:
            assert page["minFont"] >= MIN_CHART_PX, (
                f"{label}: chart text at {page['minFont']:.1f} px ({page['smallest']!r})")
        assert not page["clipped"], f"{label}: table cells wider than their column: {page['clipped']}"
        height = min(page["height"], 16000)
        browser.screenshot(os.path.join(shots, f"{name}-html-{width}.png"), width, height)
        print(f"{label}: no overflow, no clipped table cell, {page['charts']} charts, smallest chart "
              f"text {page['minFont']:.1f} px, {len(page['sections'])} sections, no console errors")


FOOTER = "Written by openclarify"


def check_print(name, folder, shots):
    """Prints report.html to PDF as a reader would (the print CSS) and
    asserts the last page holds more than the footer."""
    printed = os.path.join(shots, f"{name}-html-printed.pdf")
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={printed}", "file://" + os.path.abspath(os.path.join(folder, "report.html"))],
                   check=True, capture_output=True, timeout=300)
    info = subprocess.run(["pdfinfo", printed], check=True, capture_output=True, text=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    last = subprocess.run(["pdftotext", "-f", str(pages), "-l", str(pages), printed, "-"],
                          check=True, capture_output=True, text=True).stdout
    words = " ".join(last.split())
    assert FOOTER in words, f"{name} printed html: the footer is not on the last page"
    rest = words[: words.index(FOOTER)].strip()
    assert rest, f"{name} printed html: the last of {pages} pages holds only the footer"
    print(f"{name} printed html: {pages} pages; the last page has {len(rest.split())} words above the footer")


def outputs(notebook):
    """(charts, tables, errors, charts drawn by matplotlib) among the outputs."""
    charts = tables = errors = redrawn = 0
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            charts += "image/svg+xml" in data or "image/png" in data
            redrawn += "image/png" in data
            tables += "<table" in data.get("text/html", "")
            errors += out.get("output_type") == "error"
    return charts, tables, errors, redrawn


def check_notebook(name, folder):
    path = os.path.join(folder, "report.ipynb")
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    before = outputs(notebook)
    ExecutePreprocessor(timeout=300, kernel_name="python3").preprocess(
        notebook, {"metadata": {"path": folder}})
    after = outputs(notebook)
    nbformat.write(notebook, os.path.join(folder, "report-executed.ipynb"))
    assert after[2] == 0, f"{name} notebook: {after[2]} cells raised errors"
    assert after[:2] == before[:2], f"{name} notebook: (charts, tables) {before[:2]} before running, {after[:2]} after"
    assert after[3] == after[0], f"{name} notebook: {after[0] - after[3]} charts not redrawn by the code"
    print(f"{name} notebook: valid; executed without errors; {after[0]} charts and {after[1]} tables "
          f"before and after ({after[3]} charts redrawn by matplotlib)")


def check_pdf(name, folder, shots, phrases):
    pdf = os.path.join(folder, "report.pdf")
    text = subprocess.run(["pdftotext", pdf, "-"], check=True, capture_output=True, text=True).stdout
    missing = [p for p in phrases if p not in text]
    assert not missing, f"{name} pdf lacks {missing}"
    subprocess.run(["pdftoppm", "-r", "60", "-png", pdf, os.path.join(shots, f"{name}-pdf")], check=True)
    pages = len([f for f in os.listdir(shots) if f.startswith(f"{name}-pdf")])
    print(f"{name} pdf: text has {', '.join(phrases)}; {pages} pages rendered")


PDF_PHRASES = {"findings": "Findings", "configuration": "Configuration",
               "feature-importance": "Feature importance", "partial-dependence": "Partial dependence"}


def main():
    shots = sys.argv[1]
    os.makedirs(shots, exist_ok=True)
    browser = Browser()
    try:
        for spec in sys.argv[2:]:
            name, rest = spec.split("=", 1)
            folder, sections = rest.rsplit(":", 1)
            sections = sections.split(",")
            check_html(browser, name, folder, sections, shots)
            check_print(name, folder, shots)
            if name == "demo":
                browser.open(os.path.join(folder, "report.html"), DESKTOP)
                browser.screenshot(os.path.join(shots, "docs-desktop.png"), DESKTOP, 1100)
                page = browser.open(os.path.join(folder, "report.html"), PHONE)
                top = browser.call("Runtime.evaluate", {"expression": "document.querySelector('#post-training-bias figure').getBoundingClientRect().top + window.scrollY - 120", "returnByValue": True}, session=True)["result"]["value"]
                browser.screenshot(os.path.join(shots, "docs-phone.png"), PHONE, 844, top)
            check_notebook(name, folder)
            check_pdf(name, folder, shots, [PDF_PHRASES[s] for s in sections if s in PDF_PHRASES])
    finally:
        browser.close()
    print(f"screenshots in {shots}")


if __name__ == "__main__":
    main()
