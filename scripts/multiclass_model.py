"""A toy model server for scripts/check-reports-browser.sh: three class
probabilities per CSV record of the German credit features (sex, job,
housing, saving_accounts, checking_account, credit_amount, duration,
purpose, age), from credit amount, duration and age, so the report has a
multi-output model to explain. Usage: multiclass_model.py PORT
"""
import math
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def probabilities(fields):
    amount, duration, age = float(fields[5]), float(fields[6]), float(fields[8])
    z = amount / 5000 + duration / 24 - age / 60
    scores = [math.exp(-z), 1.0, math.exp(z)]
    total = sum(scores)
    return [s / total for s in scores]


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        lines = [line for line in body.splitlines() if line.strip()]
        answer = "\n".join(",".join(f"{p:.6f}" for p in probabilities(line.split(","))) for line in lines)
        data = (answer + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # /ping
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
