"""rhstack: start a real nginx in front of the real rolehook binary, on
loopback, in a private temp prefix; and sign webhooks the way each sender
documents it, with Python's hmac (independent of the code under test).

Used by the integration tests and by deploy/demo.sh.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("ROLEHOOK_SRC", os.path.abspath(os.path.join(HERE, "..", "..")))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.02)
    raise RuntimeError("timed out waiting for " + what)


# --------------------------------------------------------------- signing
# Each signer returns the headers a sender would send, per its docs
# (../../shared/research/hris.md, zendesk.md).

def _h(key, msg, alg=hashlib.sha256):
    return hmac.new(key, msg, alg).digest()


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def sign(preset, secret, body, ts=None, msg_id="msg_test_1", method="POST"):
    """Headers for body (bytes) signed with secret (str) as preset does."""
    ts = int(time.time()) if ts is None else ts
    k = secret.encode()
    if preset == "zendesk":
        t = rfc3339(ts)
        sig = base64.b64encode(_h(k, t.encode() + body)).decode()
        return {"X-Zendesk-Webhook-Signature": sig,
                "X-Zendesk-Webhook-Signature-Timestamp": t}
    if preset in ("standard-webhooks", "finch"):
        raw = secret[6:] if secret.startswith("whsec_") else secret
        key = base64.b64decode(raw)
        sig = base64.b64encode(_h(key, b"%s.%d.%s" % (msg_id.encode(), ts, body))).decode()
        p = "webhook" if preset == "standard-webhooks" else "finch"
        idh = "webhook-id" if p == "webhook" else "finch-event-id"
        return {idh: msg_id, p + "-timestamp": str(ts), p + "-signature": "v1," + sig}
    if preset == "stripe":
        sig = hmac.new(k, b"%d.%s" % (ts, body), hashlib.sha256).hexdigest()
        return {"Stripe-Signature": "t=%d,v1=%s" % (ts, sig)}
    if preset == "github":
        sig = hmac.new(k, body, hashlib.sha256).hexdigest()
        return {"X-Hub-Signature-256": "sha256=" + sig, "X-GitHub-Delivery": msg_id}
    if preset == "bamboohr":
        sig = hmac.new(k, body + str(ts).encode(), hashlib.sha256).hexdigest()
        return {"X-BambooHR-Signature": sig, "X-BambooHR-Timestamp": str(ts)}
    if preset == "hibob":
        return {"Bob-Signature": base64.b64encode(_h(k, body, hashlib.sha512)).decode()}
    if preset == "gusto":
        return {"X-Gusto-Signature": hmac.new(k, body, hashlib.sha256).hexdigest()}
    if preset == "deel":
        return {"x-deel-signature": hmac.new(k, b"POST" + body, hashlib.sha256).hexdigest(),
                "x-deel-hmac-label": "rolehook"}
    if preset == "merge":
        return {"X-Merge-Webhook-Signature": base64.urlsafe_b64encode(_h(k, body)).decode()}
    if preset == "greenhouse":
        return {"Signature": "sha256 " + hmac.new(k, body, hashlib.sha256).hexdigest()}
    if preset == "token":
        return {"Authorization": "Bearer " + secret}
    if preset == "basic":
        return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
    raise ValueError("no signer for " + preset)


# Which header carries what, per preset: used to tamper one byte.
SIG_HEADER = {
    "zendesk": "X-Zendesk-Webhook-Signature", "standard-webhooks": "webhook-signature",
    "finch": "finch-signature", "stripe": "Stripe-Signature", "github": "X-Hub-Signature-256",
    "bamboohr": "X-BambooHR-Signature", "hibob": "Bob-Signature", "gusto": "X-Gusto-Signature",
    "deel": "x-deel-signature", "merge": "X-Merge-Webhook-Signature", "greenhouse": "Signature",
    "token": "Authorization", "basic": "Authorization",
}
TS_HEADER = {
    "zendesk": "X-Zendesk-Webhook-Signature-Timestamp", "standard-webhooks": "webhook-timestamp",
    "finch": "finch-timestamp", "bamboohr": "X-BambooHR-Timestamp",
}
# Secrets in each sender's own format.
SECRETS = {
    "zendesk": "dGhpcy1pcy1hLXplbmRlc2stc2VjcmV0LTAwMQ==",
    "standard-webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "finch": "5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH",
    "stripe": "whsec_test_secret",
    "github": "It's a Secret to Everybody",
    "bamboohr": "bamboo-private-key-1",
    "hibob": "hibob-secret-1",
    "gusto": "6590f590-3dba-495e-9bea-c361e1e2efc0",
    "deel": "deel-signing-key-1",
    "merge": "merge-signature-key-1",
    "greenhouse": "greenhouse-secret-1",
    "token": "personio-static-token-1",
    "basic": "workday:correct horse battery staple",
}
PRESETS = sorted(SECRETS)


def env_name(source, i=0):
    return "RH_TEST_SECRET_%s_%d" % (source.upper().replace("-", "_"), i)


# ----------------------------------------------------------------- stack

NGINX_MAIN = """\
daemon off;
master_process on;
worker_processes 1;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {tmp}/nginx-body;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    proxy_temp_path {tmp}/nginx-proxy;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    access_log {tmp}/nginx-access.log;
    server {{
        listen 127.0.0.1:{port};
        include {tmp}/rolehook.conf;
    }}
}}
"""


def hr_source(mapping, secret):
    """A generic Standard Webhooks source with mapping, signed with secret."""
    return {"preset": "standard-webhooks", "normalizer": "generic", "mapping": mapping,
            "secret_values": [secret]}


class StackCase(unittest.TestCase):
    """Tests sharing one stack (cls.stack) and one fake Zendesk (cls.zd)
    for the whole class; setUpClass builds both, this stops them."""

    @classmethod
    def tearDownClass(cls):
        cls.stack.stop()
        cls.zd.stop()


def zendesk_stack(zd, sources, policy, log_level="info"):
    """A started Stack with sources applying policy to the fake Zendesk zd."""
    st = Stack(sources, extra={"zendesk": zd.config(), "policy": policy}, log_level=log_level)
    st.env.update(zd.env())
    st.start()
    return st


def hr_stack(zd, mapping, secret, policy, log_level="info"):
    """A started Stack with one generic Standard Webhooks source "hr" (the
    mapping and secret given) applying policy to the fake Zendesk zd."""
    return zendesk_stack(zd, {"hr": hr_source(mapping, secret)}, policy, log_level)


class FakeTmpCase(unittest.TestCase):
    """Tests sharing one fake Zendesk (cls.zd) and one scratch directory
    (cls.tmp) for the whole class; setUpClass makes both, this ends them."""

    @classmethod
    def tearDownClass(cls):
        cls.zd.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)


class FakeZendeskCase(FakeTmpCase):
    """Tests of the CLI against one fake Zendesk for the whole class:
    setUpClass calls start_fake; each test starts without faults."""

    @classmethod
    def start_fake(cls, seed, rate_limit, policy, prefix):
        cls.zd = FakeZendesk(seed=seed, rate_limit=rate_limit)
        cls.tmp = tempfile.mkdtemp(prefix=prefix)
        cls.cfg, cls.env = cls.zd.cli_config(cls.tmp, policy)

    def setUp(self):
        self.zd.control("DELETE", "/__fake/faults")


class Stack:
    """nginx + rolehook serve on loopback.  sources: {name: source-config}.
    Secrets go through env: references, as in production."""

    def __init__(self, sources, max_body=65536, threads=4, store_dir=None,
                 extra_store=None, keep=False, log_level="info", extra=None):
        self.tmp = tempfile.mkdtemp(prefix="rolehook-it-")
        os.chmod(self.tmp, 0o755)
        self.sources = sources
        self.max_body = max_body
        self.threads = threads
        self.store_dir = store_dir or self.tmp
        self.extra_store = extra_store or {}
        self.keep = keep
        self.log_level = log_level
        self.extra = extra or {}
        self.port = free_port()
        self.sock = os.path.join(self.tmp, "serve.sock")
        self.cfg_path = os.path.join(self.tmp, "rolehook.json")
        self.db = os.path.join(self.store_dir, "rolehook.db")
        self.env = dict(os.environ)
        self.rh = None
        self.nginx = None
        self.bin = os.environ.get("ROLEHOOK_BIN", os.path.join(SRC, "build", "rolehook"))
        self.nginx_bin = os.environ.get("NGINX_BIN", shutil.which("nginx") or "/usr/sbin/nginx")

    def config(self):
        srcs = {}
        for name, sc in self.sources.items():
            sc = dict(sc)
            secrets = sc.pop("secret_values", None)
            if secrets is not None:
                refs = []
                for i, v in enumerate(secrets):
                    self.env[env_name(name, i)] = v
                    refs.append("env:" + env_name(name, i))
                sc["secrets"] = refs
            srcs[name] = sc
        # PostgreSQL (extra_store engine/dsn/password): no file path.
        store = {} if self.extra_store.get("engine") == "postgresql" else {"path": self.db}
        store.update(self.extra_store)
        doc = {
            "store": store,
            "server": {"listen": "unix:" + self.sock, "socket_mode": "0660",
                       "threads": self.threads, "max_body": self.max_body},
            "sources": srcs,
        }
        doc.update(self.extra)
        return doc

    def write_config(self):
        with open(self.cfg_path, "w") as f:
            json.dump(self.config(), f, indent=2)

    def nginx_conf(self):
        with open(os.path.join(SRC, "nginx", "rolehook.conf")) as f:
            snippet = f.read()
        snippet = snippet.replace("unix:/run/rolehook/serve.sock", "unix:" + self.sock)
        snippet = snippet.replace("client_max_body_size 256k", "client_max_body_size %d" % self.max_body)
        snippet = snippet.replace("client_body_buffer_size 256k", "client_body_buffer_size %d" % self.max_body)
        snippet = snippet.replace("/var/log/nginx/rolehook.access.log", self.tmp + "/rolehook.access.log")
        with open(os.path.join(self.tmp, "rolehook.conf"), "w") as f:
            f.write(snippet)
        with open(os.path.join(self.tmp, "nginx.conf"), "w") as f:
            f.write(NGINX_MAIN.format(tmp=self.tmp, port=self.port))

    def start_rolehook(self):
        if getattr(self, "rh_log", None) is not None:
            self.rh_log.close()
        self.rh_log = open(os.path.join(self.tmp, "rolehook.log"), "ab")
        self.rh = subprocess.Popen([self.bin, "serve", "--config", self.cfg_path,
                                    "--log-level", self.log_level],
                                   env=self.env, stdout=self.rh_log, stderr=self.rh_log)
        wait_for(lambda: os.path.exists(self.sock) or self.rh.poll() is not None,
                 what="rolehook socket")
        if self.rh.poll() is not None:
            raise RuntimeError("rolehook exited %d: %s" % (self.rh.returncode, self.log()))

    def start(self, rolehook=True):
        """Starts rolehook (unless rolehook=False: then the caller has
        put its own FastCGI responder on self.sock) and nginx."""
        self.write_config()
        self.nginx_conf()
        if rolehook:
            self.start_rolehook()
        self.ng_log = open(os.path.join(self.tmp, "nginx.out"), "ab")
        self.nginx = subprocess.Popen([self.nginx_bin, "-p", self.tmp, "-c",
                                       os.path.join(self.tmp, "nginx.conf"), "-e",
                                       os.path.join(self.tmp, "nginx-error.log")],
                                      stdout=self.ng_log, stderr=self.ng_log)

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return True
            except OSError:
                return self.nginx.poll() is not None
        wait_for(up, what="nginx")
        if self.nginx.poll() is not None:
            raise RuntimeError("nginx exited: " + open(os.path.join(self.tmp, "nginx-error.log")).read())
        return self

    def stop_rolehook(self, sig=signal.SIGTERM, timeout=10):
        if self.rh is None:
            return None
        if self.rh.poll() is None:
            self.rh.send_signal(sig)
            try:
                self.rh.wait(timeout)
            except subprocess.TimeoutExpired:
                self.rh.kill()
                self.rh.wait()
                raise RuntimeError("rolehook did not stop on signal %d" % sig)
        rc = self.rh.returncode
        self.rh = None
        return rc

    def stop(self):
        rc = self.stop_rolehook()
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        for f in ("rh_log", "ng_log"):
            if getattr(self, f, None) is not None:
                getattr(self, f).close()
                setattr(self, f, None)
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            print("---- rolehook log ----\n" + self.log()[-4000:])
        self.stop()

    def log(self):
        try:
            with open(os.path.join(self.tmp, "rolehook.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def request(self, method, path, body=None, headers=None, chunked=False):
        """Returns (status, headers dict lower-case, body bytes)."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            if chunked:
                c.putrequest(method, path)
                for k, v in (headers or {}).items():
                    c.putheader(k, v)
                c.putheader("Transfer-Encoding", "chunked")
                c.endheaders()
                if body:
                    c.send(b"%x\r\n%s\r\n" % (len(body), body))
                c.send(b"0\r\n\r\n")
            elif body is None and method == "POST":
                # No body and no Content-Length at all (http.client would add 0).
                c.putrequest(method, path)
                for k, v in (headers or {}).items():
                    c.putheader(k, v)
                c.endheaders()
            else:
                c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def post(self, source, body, headers, content_type="application/json"):
        h = {"Content-Type": content_type} if content_type else {}
        h.update(headers)
        return self.request("POST", "/hooks/" + source, body=body, headers=h)

    def cli(self, *args, check=True, timeout=300):
        r = subprocess.run([self.bin] + list(args) + ["--config", self.cfg_path],
                           env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise RuntimeError("rolehook %s failed (%d): %s" % (args, r.returncode, r.stderr))
        return r


class FakeZendesk:
    """tests/fakes/fake_zendesk.py on a loopback port, with a control API."""

    EMAIL = "admin@example.com"
    TOKEN = "fake-zendesk-api-token-1"

    def __init__(self, seed=None, rate_limit=700):
        self.tmp = tempfile.mkdtemp(prefix="rolehook-zd-")
        port_file = os.path.join(self.tmp, "port")
        args = [sys.executable, os.path.join(SRC, "tests", "fakes", "fake_zendesk.py"),
                "--port", "0", "--port-file", port_file, "--rate-limit", str(rate_limit),
                "--email", self.EMAIL, "--token", self.TOKEN]
        if seed is not None:
            seed_file = os.path.join(self.tmp, "seed.json")
            with open(seed_file, "w") as f:
                json.dump(seed, f)
            args += ["--seed", seed_file]
        self.log = open(os.path.join(self.tmp, "fake.log"), "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        def ready():
            if self.proc.poll() is not None:
                return True
            try:
                with open(port_file) as f:
                    return f.read().strip() != ""
            except OSError:
                return False
        wait_for(ready, what="fake Zendesk")
        if self.proc.poll() is not None:
            raise RuntimeError("fake Zendesk exited")
        with open(port_file) as f:
            self.port = int(f.read().strip())
        self.base = "http://127.0.0.1:%d" % self.port

    def config(self, entitlements=True):
        """The `zendesk` section of rolehook.json for this fake."""
        return {"base_url": self.base,
                "auth": {"email": self.EMAIL, "token": "env:RH_TEST_ZD_TOKEN"},
                "entitlements": entitlements, "allow_http_loopback": True}

    def env(self):
        return {"RH_TEST_ZD_TOKEN": self.TOKEN}

    def cli_config(self, tmp, policy, entitlements=True):
        """Writes tmp/rolehook.json for the CLI's Zendesk reads against this
        fake (report seats, reconcile --people): no store, the policy
        given.  Returns (its path, the environment to run rolehook in)."""
        path = os.path.join(tmp, "rolehook.json")
        with open(path, "w") as f:
            json.dump({"store": {"path": os.path.join(tmp, "absent.db")},
                       "sources": {"gh": {"preset": "github", "secrets": ["env:RH_UNUSED"]}},
                       "zendesk": self.config(entitlements=entitlements), "policy": policy}, f)
        env = dict(os.environ)
        env.update(self.env())
        return path, env

    def control(self, method, path, doc=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            body = json.dumps(doc).encode() if doc is not None else None
            c.request(method, path, body=body, headers={"Content-Type": "application/json"})
            r = c.getresponse()
            data = r.read()
            return json.loads(data) if data else None
        finally:
            c.close()

    def state(self):
        return self.control("GET", "/__fake/state")

    def requests(self, since=0):
        return self.control("GET", "/__fake/requests?since=%d" % since)

    def violations(self):
        """Requests the fake found outside Zendesk's OpenAPI description."""
        return self.control("GET", "/__fake/violations")["violations"]

    def stop(self):
        """Stops the fake; raises AssertionError if rolehook sent anything the
        OpenAPI description does not declare (even when it coped with the 400),
        unless the test set self.expect_violations."""
        bad = []
        if self.proc.poll() is None:
            try:
                bad = self.violations()
            except (OSError, ValueError, KeyError, TypeError):
                bad = []
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if bad and not getattr(self, "expect_violations", False):
            raise AssertionError("fake Zendesk: requests not in the OpenAPI description: %s"
                                 % json.dumps(bad, indent=1))
