"""Issue 8 item 4: deploy/backup and deploy/restore on the real test stack. The stack is filled through the API,
one subscriber (reports) is stopped so that some published events are not yet processed, one relay is stopped so
that one event is not yet published; the backup is restored into a fresh database, which must have the same rows,
verifying audit chains, its own roles with the same grants, and an outbox that delivers what had not arrived.
RULES.md §9: the journal is backed up and restorable (001 §4.1, 003 §7.3); the schedule is the operator's (cron or
the k8s CronJob of deploy/README.md)."""

from __future__ import annotations

import json
import os
import shutil
from functools import partial

import psycopg2
import pytest
from sqlalchemy import create_engine, pool

import support
from kernel import audit
from kernel.config import SERVICES, settings
from support import deploy, eventually

pytestmark = pytest.mark.integration
PW = "backup-pw-1"
GROUP = "БР-1-25"
person = partial(support.person, password=PW)


def admin_connect(database: str, role: str | None = None):
    cfg = settings()
    conn = psycopg2.connect(host=cfg.pg_host, port=cfg.pg_port, dbname=database, user=role or cfg.admin_role,
                            password=cfg.pg_admin_password, connect_timeout=5)
    conn.autocommit = True
    return conn


def query(database: str, sql: str, params: tuple = (), role: str | None = None) -> list[tuple]:
    conn = admin_connect(database, role)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def restored(name: str, sql: str, params: tuple = ()) -> list[tuple]:
    """A query on the restored database, as its owner (its own admin role)."""
    return query(name, sql, params, role=f"{name}_admin")


def drop_restored(name: str) -> None:
    """The restored database (as its owner, the target's admin role), then the roles the restore created."""
    if not query("postgres", "SELECT 1 FROM pg_roles WHERE rolname = %s", (f"{name}_admin",)):
        return
    conn = admin_connect("postgres", f"{name}_admin")
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()
    conn = admin_connect("postgres")
    with conn.cursor() as cur:
        for suffix in (*SERVICES, "admin"):
            cur.execute(f'DROP ROLE IF EXISTS "{name}_{suffix}"')
    conn.close()


@pytest.fixture(scope="module")
def restored_name():
    name = f"{settings().db_name}_rt"
    drop_restored(name)  # left by an interrupted run
    yield name
    drop_restored(name)
    assert not query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (name,))
    assert not query("postgres", "SELECT 1 FROM pg_roles WHERE rolname LIKE %s", (f"{name}%",))


def unprocessed(db: str, consumer: str) -> set[str]:
    """attendance's published events that `consumer` subscribes to and has not processed."""
    return {r[0] for r in query(db, f"SELECT o.event_id::text FROM attendance.outbox o WHERE o.published_at IS NOT"
                                    f" NULL AND o.type IN ('session.scheduled', 'marks.recorded') AND NOT EXISTS"
                                    f" (SELECT 1 FROM {consumer}.processed_event p WHERE p.event_id = o.event_id)")}


def settled(db: str, consumers: tuple[str, ...]) -> bool:
    published = not query(db, "SELECT 1 FROM attendance.outbox WHERE published_at IS NULL")
    return published and not any(unprocessed(db, c) for c in consumers)


def marks(stack, session, *pairs):
    r = stack.api("PUT", f"/api/v1/sessions/{session}/attendance", stack.login("tb1", PW),
                  json={"marks": [{"student": s, "status": st} for s, st in pairs]})
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def backup(stack, tmp_path_factory):
    admin = stack.admin()
    contingent = {
        "faculties": [{"code": "FBR", "name": "Резервдик көчүрмө факультети"}],
        "departments": [{"code": "DBR", "faculty": "FBR", "name": "Калыбына келтирүү кафедрасы"}],
        "groups": [{"code": GROUP, "department": "DBR", "course": 1, "subgroups": []}],
        "students": [person("BS1", "Асанова Бермет", group=GROUP), person("BS2", "Бакиров Эмил", group=GROUP),
                     person("BS3", "Өмүрова Айдай", group=GROUP)],
        "staff": [person("TB1", "Токтоматов Бакыт", department="DBR", roles=[{"role": "teacher"}])],
    }
    r = stack.api("POST", "/api/v1/import/contingent", admin, json=contingent)
    assert r.status_code == 200, r.text
    eventually(lambda: stack.api("POST", "/api/v1/auth/login", json={"login": "tb1", "password": PW}).ok)
    load = {"disciplines": [{"code": "BRD", "name": "Маалымат базалары", "control": "exam", "credits": 4}],
            "assignments": [{"teacher": "TB1", "discipline": "BRD", "group": GROUP, "kind": "lecture"}]}
    r = stack.api("POST", "/api/v1/import/load", admin, json=load)
    assert r.status_code == 200, r.text
    sessions = [{"ref": f"BR{day}", "discipline": "BRD", "group": GROUP, "kind": "lecture", "teacher": "TB1",
                 "starts_at": f"2026-11-0{day}T09:00:00+06:00", "minutes": 80, "room": "1-01"} for day in (2, 3, 4)]
    r = stack.api("POST", "/api/v1/import/timetable", admin,
                  json={"term": {"code": "2026-2027-1", "starts": "2026-09-01", "ends": "2026-12-31"},
                        "sessions": sessions})
    assert r.status_code == 200, r.text
    ids = r.json()["sessions"]
    eventually(lambda: stack.api("GET", f"/api/v1/sessions/{ids['BR4']}", stack.login("tb1", PW)).ok)

    db = settings().db_name
    stack.set_clock("2026-11-02T10:00:00+06:00")
    marks(stack, ids["BR2"], ("BS1", "present"), ("BS2", "absent"), ("BS3", "present"))
    eventually(lambda: settled(db, ("grading", "makeup", "reports")), timeout=60)
    try:
        # reports stopped: the next marks are published and processed by grading and makeup, not by reports
        stack.ctl("stop", "reports")
        stack.set_clock("2026-11-03T10:00:00+06:00")
        marks(stack, ids["BR3"], ("BS1", "absent"), ("BS2", "present"))
        eventually(lambda: settled(db, ("grading", "makeup")), timeout=60)
        # relay stopped: this mark's event stays in the outbox, unpublished
        stack.ctl("stop", "relay-attendance")
        stack.set_clock("2026-11-04T10:00:00+06:00")
        marks(stack, ids["BR4"], ("BS3", "absent"))
        pending = query(db, "SELECT event_id::text FROM attendance.outbox WHERE published_at IS NULL")
        missed = unprocessed(db, "reports")
        directory = tmp_path_factory.mktemp("backup") / "b1"
        result = deploy("backup", "--out", str(directory), timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    finally:
        stack.ctl("start", "relay-attendance")
        stack.ctl("start", "reports")
    manifest = json.loads((directory / "manifest.json").read_text())
    return {"dir": directory, "manifest": manifest, "pending": {r[0] for r in pending},
            "unprocessed": missed, "output": result.stdout}


def test_the_manifest_describes_the_stack_at_the_backup(backup):
    m = backup["manifest"]
    assert m["database"] == settings().db_name
    assert oct((backup["dir"]).stat().st_mode & 0o777) == oct(0o700), "the dump holds password hashes"
    assert m["dump"]["bytes"] == (backup["dir"] / "database.dump").stat().st_size > 0
    assert len(m["git"]["revision"]) == 40
    for service in SERVICES:
        entry = m["services"][service]
        assert entry["alembic"] == entry["code_heads"] and entry["alembic"], service
        assert entry["audit"]["ok"], (service, entry["audit"])
        assert "attendance.audit_log:UPDATE" not in entry["grants"]
    assert m["services"]["attendance"]["audit"]["entries"] >= 3, "each marked session wrote to its chain"
    assert m["tables"]["attendance.mark"] >= 6 and m["tables"]["identity.person"] >= 4
    assert len(backup["pending"]) == 1 and m["services"]["attendance"]["outbox"]["unpublished"] == 1
    assert backup["unprocessed"], "reports was stopped: some marks events had not reached it"


def test_restore_into_a_fresh_database_has_the_same_rows_and_verifying_audit_chains(backup, restored_name):
    result = deploy("restore", str(backup["dir"]), "--into", restored_name, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "matches the backup; every audit chain verifies" in result.stdout
    m = backup["manifest"]

    # counted here again, not taken from the script's word
    for table, count in m["tables"].items():
        schema, name = table.split(".")
        assert restored(restored_name, f'SELECT count(*) FROM "{schema}"."{name}"')[0][0] == count, table
    cfg = settings()
    engine = create_engine(f"postgresql+psycopg2://{restored_name}_admin:{cfg.pg_admin_password}"
                           f"@{cfg.pg_host}:{cfg.pg_port}/{restored_name}", poolclass=pool.NullPool)
    with engine.connect() as conn:
        for service in SERVICES:
            verified = audit.verify(conn, service)
            assert verified["ok"] and verified["entries"] == m["services"][service]["audit"]["entries"], service
    engine.dispose()

    # the unpublished row stays so; the rows reports had not processed are published again; the rest are not
    unpublished = {r[0] for r in restored(restored_name,
                                          "SELECT event_id::text FROM attendance.outbox WHERE published_at IS NULL")}
    assert unpublished == backup["pending"] | backup["unprocessed"]
    published = restored(restored_name, "SELECT count(*) FROM attendance.outbox WHERE published_at IS NOT NULL")[0][0]
    assert published == m["tables"]["attendance.outbox"] - len(unpublished) > 0


def test_the_restored_database_has_its_own_roles_with_the_same_grants(backup, restored_name):
    role = f"{restored_name}_attendance"
    privileges = dict(restored(restored_name, "SELECT p, has_table_privilege(%s, 'attendance.audit_log', p)"
                                              " FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p", (role,)))
    assert privileges == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False}, "append-only audit"
    assert not restored(restored_name, "SELECT has_table_privilege(%s, 'grading.grade', 'SELECT')", (role,))[0][0]
    # the service logs in with this stack's database password and reads only its own schema
    cfg = settings()
    conn = psycopg2.connect(host=cfg.pg_host, port=cfg.pg_port, dbname=restored_name, user=role,
                            password=cfg.db_password, connect_timeout=5)
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM attendance.mark")
        assert cur.fetchone()[0] == backup["manifest"]["tables"]["attendance.mark"]
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SELECT count(*) FROM grading.grade")
    conn.close()


def test_a_damaged_dump_is_refused_and_leaves_no_database(backup, restored_name, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(backup["dir"], damaged)
    with open(damaged / "database.dump", "r+b") as f:
        f.seek(os.path.getsize(damaged / "database.dump") // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    name = f"{restored_name}2"
    result = deploy("restore", str(damaged), "--into", name, timeout=300)
    assert result.returncode != 0 and "sha256" in result.stderr
    assert not query("postgres", "SELECT 1 FROM pg_database WHERE datname = %s", (name,))
