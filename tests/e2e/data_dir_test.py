#!/usr/bin/env python3
"""The real server binary and its data directory (issue 11).

- Started under umask 022, it leaves nothing readable by others: the data
  directory and workspaces/ are 0700, every file 0600.
- With catalog.db deleted or truncated while workspace files remain, it
  refuses to start (exit 1), names the files and changes nothing.

Usage: data_dir_test.py --server PATH
"""

import argparse
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest

ARGS = None
READY_TIMEOUT_S = 60


class DataDirTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="segments-datadir-")
        self.data_dir = os.path.join(self.tmp, "data")
        self.old_umask = os.umask(0o022)

    def tearDown(self):
        os.umask(self.old_umask)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_server(self, log_name, until_ready):
        """Starts the server in demo mode; stops it once ready (SIGTERM).

        Returns (exit code, log text)."""
        log_path = os.path.join(self.tmp, log_name)
        with open(log_path, "wb") as log:
            server = subprocess.Popen(
                [ARGS.server, "--demo", "--listen", "127.0.0.1:0",
                 "--data_dir", self.data_dir, "--threads", "1"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=dict(os.environ, SEGMENTS_ADMIN_KEY="sk_admin_datadir"))
            deadline = time.monotonic() + READY_TIMEOUT_S
            try:
                while until_ready and time.monotonic() < deadline:
                    if server.poll() is not None:
                        break
                    with open(log_path, "rb") as f:
                        if b"listening on" in f.read():
                            server.send_signal(signal.SIGTERM)
                            break
                    time.sleep(0.05)
                code = server.wait(timeout=READY_TIMEOUT_S)
            finally:
                if server.poll() is None:
                    server.kill()
                    server.wait()
        with open(log_path, "rb") as f:
            return code, f.read().decode("utf-8", "replace")

    def mode(self, *parts):
        return stat.S_IMODE(os.stat(os.path.join(self.data_dir, *parts)).st_mode)

    def test_files_are_for_the_owner_only(self):
        code, log = self.run_server("first.log", until_ready=True)
        self.assertEqual(code, 0, log)
        self.assertEqual(self.mode(), 0o700)
        self.assertEqual(self.mode("workspaces"), 0o700)
        names = ["LOCK", "catalog.db"] + [
            os.path.join("workspaces", n)
            for n in os.listdir(os.path.join(self.data_dir, "workspaces"))]
        self.assertIn(os.path.join("workspaces", "1.db"), names)
        for name in names:
            self.assertEqual(self.mode(name), 0o600, name)

    def test_lost_catalog_refuses_to_start(self):
        code, log = self.run_server("first.log", until_ready=True)
        self.assertEqual(code, 0, log)
        catalog = os.path.join(self.data_dir, "catalog.db")
        for truncate in (False, True):
            with self.subTest(truncate=truncate):
                if truncate:
                    open(catalog, "wb").close()
                else:
                    for suffix in ("", "-wal", "-shm"):
                        if os.path.exists(catalog + suffix):
                            os.remove(catalog + suffix)
                code, log = self.run_server("again.log", until_ready=False)
                self.assertEqual(code, 1, log)
                self.assertIn("Refusing to start", log)
                self.assertIn("workspaces/1.db", log)
                self.assertIn("catalog.db is empty" if truncate
                              else "catalog.db is missing", log)
                self.assertTrue(os.path.exists(
                    os.path.join(self.data_dir, "workspaces", "1.db")))
                self.assertEqual(os.path.exists(catalog), truncate)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)


if __name__ == "__main__":
    main()
