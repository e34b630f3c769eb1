"""Shared fixtures. Unit tests need nothing; integration and e2e tests share one test stack (its own
database, vhost, port and state directory, beside any developer stack), started once per run through
the README's own `deploy/up` on a freshly purged database."""

from __future__ import annotations

import os

import pytest

from support import Stack, deploy, load_secrets


@pytest.fixture(scope="session")
def stack() -> Stack:
    deploy("down", "--purge", "--yes", timeout=120)
    up = deploy("up", "--no-demo", "--simulation")
    assert up.returncode == 0, f"deploy/up failed:\n{up.stdout}\n{up.stderr}"
    load_secrets()
    s = Stack()
    s.wait_ready()
    yield s
    if os.environ.get("EJOURNAL_KEEP_TEST_STACK") != "1":
        deploy("down", timeout=120)


