"""Issue 7 items 5 and 6 on the running stack: every process answers /metrics in the Prometheus text format with
rate, errors and duration of its RPC methods and event handlers, its outbox, queue depths and domain gauges; and
one request id appears in the gateway's, the called service's and the consumer's JSON log lines."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from support import eventually

pytestmark = pytest.mark.e2e
SERVICES = ("identity", "attendance", "grading", "makeup", "reports")
HANDLERS = {"attendance", "grading", "makeup", "reports"}  # services that consume events


def targets() -> dict[str, int]:
    from attendance.intake import METRICS_PORT_OFFSET
    from kernel import feed
    from kernel.metrics import PORT_OFFSETS
    from kernel.relay import RELAY_PORT_OFFSETS

    port = int(os.environ["EJOURNAL_PORT"])
    found = {"gateway": port}
    found |= {s: port + PORT_OFFSETS[s] for s in SERVICES}
    found |= {f"relay-{s}": port + 100 + RELAY_PORT_OFFSETS[s] for s in SERVICES}
    found["intake-attendance"] = port + METRICS_PORT_OFFSET
    found["feed-public"] = port + feed.METRICS_PORT_OFFSET
    return found


def scrape(port: int) -> dict[str, list]:
    r = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain"), r.text[:200]
    return {f.name: f.samples for f in text_string_to_metric_families(r.text)}


@pytest.fixture(scope="module")
def faculty(stack):
    r = stack.api("POST", "/api/v1/import/contingent", stack.admin(), json={
        "faculties": [{"code": "FOBS", "name": "Observability faculty"}]})
    assert r.status_code == 200, r.text
    return "FOBS"


def test_every_target_answers_in_the_prometheus_format(stack, faculty):
    # an RPC that succeeds, one that fails, and the event it emits (consumed by the gateway)
    assert stack.api("POST", "/api/v1/tokens", stack.admin(), json={"name": "m", "faculty": faculty}).status_code == 201
    assert stack.api("POST", "/api/v1/tokens", stack.admin(), json={"name": "m", "faculty": "NOPE"}).status_code == 422
    scraped = {name: scrape(port) for name, port in targets().items()}

    for service in SERVICES:
        families = scraped[service]
        rpc = [s for s in families["ejournal_worker_duration_seconds"]
               if s.name.endswith("_count") and s.labels["entrypoint"] == "rpc"]
        assert {s.labels["service"] for s in rpc} == {service} and any(s.labels["method"] == "ping" for s in rpc)
        assert [s.labels for s in families["ejournal_outbox_backlog"]] == [{"service": service}]
        assert [s.labels for s in families["ejournal_outbox_oldest_age_seconds"]] == [{"service": service}]
        kinds = {s.labels["kind"] for s in families["ejournal_queue_messages"]}
        assert {"rpc", "dead_letter", "unrouted"} <= kinds, (service, kinds)
        if service in HANDLERS:
            assert {"event", "retry"} <= kinds, (service, kinds)
            lag = [s for s in families["ejournal_queue_consumers"] if s.labels["kind"] == "event"]
            assert lag and all(s.value >= 1 for s in lag), f"{service}: a handler queue without its consumer"
        relay = scraped[f"relay-{service}"]
        assert "ejournal_outbox_published" in relay and "ejournal_outbox_backlog" in relay

    commands = [s.labels["queue"] for s in scraped["attendance"]["ejournal_queue_messages"]
                if s.labels["kind"] == "command"]
    assert commands == ["attendance.checkins"], "the check-ins waiting for the intake"
    assert "ejournal_checkin_intake" in scraped["intake-attendance"]
    assert {"ejournal_feed_forwarded", "ejournal_feed_failed"} <= set(scraped["feed-public"])

    identity = scraped["identity"]
    calls = {s.labels["method"]: s.value for s in identity["ejournal_worker_duration_seconds"]
             if s.name.endswith("_count")}
    assert calls.get("create_token", 0) >= 2
    errors = {(s.labels["method"], s.labels["code"]) for s in identity["ejournal_worker_errors"]
              if s.name.endswith("_total")}
    assert ("create_token", "validation_error") in errors
    assert {s.labels["kind"] for s in identity["ejournal_people"]} >= {"staff"}
    assert "ejournal_api_tokens" in identity
    for service, gauge in (("grading", "ejournal_statements"), ("makeup", "ejournal_makeups"),
                           ("reports", "ejournal_marks")):
        assert gauge in scraped[service], f"{service} lacks {gauge}"

    gateway = scraped["gateway"]
    assert any(s.labels["route"] == "/api/v1/tokens" for s in gateway["ejournal_http_requests"])
    handled = eventually(lambda: [s for s in scrape(targets()["gateway"])["ejournal_worker_duration_seconds"]
                                  if s.name.endswith("_count") and s.labels["method"] == "on_token_changed"
                                  and s.value >= 1])
    assert handled[0].labels["entrypoint"] == "event"
    assert {s.labels["service"] for s in gateway["ejournal_service_outbox_backlog"]} == set(SERVICES)

    for name, families in scraped.items():  # domain gauges and everything else: no label per person
        for family, samples in families.items():
            if family.startswith("ejournal_"):
                for sample in samples:
                    assert not {"student", "person", "login", "child"} & set(sample.labels), (name, sample)


def log_lines(path: Path, offset: int) -> list[str]:
    with path.open("rb") as f:
        f.seek(offset)
        text = f.read().decode("utf-8", errors="replace")
    complete = text[: text.rfind("\n") + 1]  # a line still being written is read next time
    return [line for line in complete.splitlines()
            if line.strip() and not line.startswith("--- ")]  # the supervisor marks (re)starts


def test_one_request_id_in_the_gateways_the_services_and_the_consumers_log_lines(stack, faculty):
    logs = stack.state_dir / "logs"
    files = {name: logs / f"{name}.log" for name in ("gateway", "identity")}
    offsets = {name: path.stat().st_size for name, path in files.items()}
    request_id = f"e2e-{uuid.uuid4().hex}"
    r = stack.api("POST", "/api/v1/tokens", stack.admin(), json={"name": "logs", "faculty": faculty},
                  headers={"X-Request-Id": request_id})
    assert r.status_code == 201 and r.headers["X-Request-Id"] == request_id

    def tagged() -> dict[str, list[dict]]:
        found: dict[str, list[dict]] = {}
        for name, path in files.items():
            parsed = [json.loads(line) for line in log_lines(path, offsets[name])]  # every line: one JSON object
            found[name] = [p for p in parsed if p.get("request_id") == request_id]
        gateway_kinds = {(p.get("kind"), p.get("entrypoint")) for p in found["gateway"]}
        return found if {("http", "create_token"), ("event", "on_token_changed")} <= gateway_kinds else {}

    found = eventually(tagged)
    served = [p for p in found["identity"] if p.get("entrypoint") == "create_token"]
    assert served and served[0]["service"] == "identity" and served[0]["kind"] == "rpc"
    assert served[0]["outcome"] == "ok" and served[0]["level"] == "INFO" and "duration_ms" in served[0]
    http = next(p for p in found["gateway"] if p.get("kind") == "http")
    assert http["outcome"] == "201" and http["path"] == "/api/v1/tokens" and http["process"] == "gateway"
    consumed = next(p for p in found["gateway"] if p.get("kind") == "event")
    assert consumed["outcome"] == "done" and consumed["service"] == "gateway"

    relay_log = logs / "relay-identity.log"
    assert all(json.loads(line)["process"] == "relay-identity" for line in log_lines(relay_log, 0)[-5:])
