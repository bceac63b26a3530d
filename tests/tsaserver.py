"""A real RFC 3161 time-stamping authority on 127.0.0.1 for tests: a throwaway CA and a TSA
certificate (critical extendedKeyUsage timeStamping) made with the `openssl` CLI, and
`openssl ts -reply` answering each request POSTed to it, behind a small HTTP server. `port` can
be chosen before the server starts, so a TSA can be down (nothing listening) and then up."""

from __future__ import annotations

import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TS_CONFIG = """
[ tsa ]
default_tsa = tsa_config1

[ tsa_config1 ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

TSA_EXTENSIONS = """basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _openssl(*args: str, cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {done.stderr}")


def make_tsa(where: Path) -> Path:
    """ca.pem/ca.key (a root), tsa.pem/tsa.key (the TSA, signed by it) and ts.cnf in `where`."""
    where.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "3", "-subj", "/CN=warcwatch test TSA root",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=where,
    )  # fmt: skip
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
        "-subj", "/CN=warcwatch test TSA",
        cwd=where,
    )  # fmt: skip
    (where / "tsa.ext").write_text(TSA_EXTENSIONS)
    _openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "tsa.pem", "-days", "3", "-extfile", "tsa.ext",
        cwd=where,
    )  # fmt: skip
    (where / "serial").write_text("01\n")
    (where / "ts.cnf").write_text(TS_CONFIG.format(dir=where))
    return where


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TsaServer:
    """`openssl ts -reply` over HTTP: POST a TimeStampReq, get its TimeStampResp."""

    def __init__(self, where: Path, port: int | None = None):
        self.dir = make_tsa(where)
        self.port = port or free_port()
        self.requests = 0
        self._lock = threading.Lock()  # openssl's serial file is one at a time
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/tsr"

    def reply(self, query: bytes) -> bytes:
        with self._lock:
            self.requests += 1
            (self.dir / "q.tsq").write_bytes(query)
            _openssl(
                "ts", "-reply", "-config", "ts.cnf", "-queryfile", "q.tsq", "-out", "r.tsr",
                cwd=self.dir,
            )  # fmt: skip
            return (self.dir / "r.tsr").read_bytes()

    def start(self) -> TsaServer:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                query = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415)
                    return
                answer = tsa.reply(query)
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
