"""The real segments-server as a child process, for the e2e tests.

Starts it in demo mode on a free loopback port (port 0: the server picks and
logs it, so no port is raced for) with a fresh data directory, and reads the
ports it logs. Stops it with SIGTERM and checks that it exits 0.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

DEMO_KEY = "sk_demo_local_only"
READY_TIMEOUT_S = 120  # Sanitizer builds start slowly on 2 busy cores.
STOP_TIMEOUT_S = 15  # The server's own grace for in-flight calls is 10 s.

_LISTENING = re.compile(r"listening on [^ ]*:(\d+) ")
_METRICS = re.compile(r"metrics on http://([^/]+)/metrics")


class E2EServer:
    def __init__(self, binary, extra_args=(), env=None):
        self.tmp = tempfile.mkdtemp(prefix="segments-e2e-")
        self.data_dir = os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "server.log")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [binary, "--demo", "--listen", "127.0.0.1:0",
             "--data_dir", self.data_dir] + list(extra_args),
            stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
        self.port = None
        self.metrics_address = None
        self._wait_ready(bool("--metrics_listen" in " ".join(extra_args)))

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _wait_ready(self, metrics):
        # The demo examples are the last lines the server prints at start:
        # after them it serves.
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            log = self.log()
            if self.process.poll() is not None:
                raise AssertionError("server exited with %d:\n%s" %
                                     (self.process.returncode, log))
            listening = _LISTENING.search(log)
            exposed = _METRICS.search(log)
            if listening and (exposed or not metrics) and "grpcurl" in log:
                self.port = int(listening.group(1))
                self.metrics_address = exposed.group(1) if exposed else None
                return
            time.sleep(0.1)
        raise AssertionError("server not ready after %ds:\n%s" %
                             (READY_TIMEOUT_S, self.log()))

    def stop(self):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        code = None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                code = self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        else:
            code = self.process.returncode
        self._log.close()
        return code

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def finish(self):
        """Stops the server, shows its log (ctest prints it when the test
        fails), removes its files, and fails unless SIGTERM made it exit 0."""
        code = self.stop()
        sys.stderr.write("---- server log ----\n%s---- end ----\n" %
                         self.log())
        self.cleanup()
        assert code == 0, "exit code %r after SIGTERM" % code
