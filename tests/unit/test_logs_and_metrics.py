"""Structured logs and metrics (issue 7 items 5 and 6) without a broker: the JSON line, the one logging
configuration, the metrics ports, the scrape configuration and the dashboard."""

import io
import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import yaml

from kernel import logs, metrics
from kernel.config import SERVICES
from kernel.errors import NotFound

ROOT = Path(__file__).resolve().parents[2]


def line_of(record_fn) -> dict:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("test.observability")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        record_fn(logger)
    finally:
        logger.removeHandler(handler)
    return json.loads(stream.getvalue().strip())


def test_a_line_is_one_json_object_with_the_workers_request_id():
    worker = SimpleNamespace(service_name="identity", entrypoint=SimpleNamespace(method_name="create_token"),
                             context_data={"request_id": "rid-1"})
    logs.bind_worker(worker)
    try:
        line = line_of(lambda log: log.info("stored %s", "Токен", extra={"duration_ms": 3.5}))
    finally:
        logs.unbind_worker()
    assert line["msg"] == "stored Токен" and line["level"] == "INFO" and line["logger"] == "test.observability"
    assert (line["service"], line["entrypoint"], line["request_id"]) == ("identity", "create_token", "rid-1")
    assert line["duration_ms"] == 3.5 and line["ts"].endswith("+00:00")
    outside = line_of(lambda log: log.warning("no worker"))
    assert "request_id" not in outside and "service" not in outside


def test_an_exception_is_inside_the_line():
    def fail(log):
        try:
            raise ValueError("broken")
        except ValueError:
            log.exception("it failed")

    line = line_of(fail)
    assert line["level"] == "ERROR" and "ValueError: broken" in line["exc"]


def test_nameko_services_use_the_kernels_one_logging_configuration():
    config = yaml.safe_load((ROOT / "deploy" / "nameko.yaml").read_text())["LOGGING"]
    config["root"]["level"] = re.sub(r"\$\{EJOURNAL_LOG_LEVEL:(\w+)\}", r"\1", config["root"]["level"])
    assert config == logs.dict_config("INFO")


def test_metrics_ports_collide_with_nothing_else_on_the_stack():
    from attendance.intake import METRICS_PORT_OFFSET
    from kernel.feed import METRICS_PORT_OFFSET as FEED_OFFSET
    from kernel.relay import RELAY_PORT_OFFSETS

    taken = {0, 50, METRICS_PORT_OFFSET} | {100 + n for n in RELAY_PORT_OFFSETS.values()}
    assert FEED_OFFSET not in taken
    taken.add(FEED_OFFSET)
    offsets = list(metrics.PORT_OFFSETS.values())
    assert len(set(offsets)) == len(offsets) and not taken & set(offsets)
    assert set(metrics.PORT_OFFSETS) | {"gateway"} == set(SERVICES)


def test_the_scrape_configuration_lists_every_process_of_the_default_stack():
    from attendance.intake import METRICS_PORT_OFFSET
    from kernel import feed
    from kernel.relay import RELAY_PORT_OFFSETS

    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = {t["labels"]["component"]: t["targets"] for job in config["scrape_configs"]
               for t in job["static_configs"]}
    expected = {"gateway": 8080}
    expected |= {s: 8080 + offset for s, offset in metrics.PORT_OFFSETS.items()}
    expected |= {f"relay-{s}": 8080 + 100 + offset for s, offset in RELAY_PORT_OFFSETS.items()}
    expected["intake-attendance"] = 8080 + METRICS_PORT_OFFSET
    expected["feed-public"] = 8080 + feed.METRICS_PORT_OFFSET
    assert targets == {name: [f"127.0.0.1:{port}"] for name, port in expected.items()}
    processes = [line.split()[0] for line in (ROOT / "deploy" / "processes").read_text().splitlines()
                 if line.strip() and not line.startswith("#")]
    assert set(processes) == set(targets)


def test_the_dashboard_asks_only_for_series_the_code_exports():
    from prometheus_client import REGISTRY

    import attendance.intake  # noqa: F401
    import gateway.service  # noqa: F401 - its metrics and domain gauges
    import grading.service
    import identity.service
    import kernel.feed  # noqa: F401
    import kernel.relay  # noqa: F401
    import makeup.service
    import reports.service

    known = set()
    for collector in list(REGISTRY._collector_to_names):
        known |= set(REGISTRY._collector_to_names[collector])
    known |= {f.name for f in metrics.ServiceCollector("x", None, "", [], ())._families()[:4]}
    for cls in (gateway.service.GatewayService, identity.service.IdentityService, grading.service.GradingService,
                makeup.service.MakeupService, reports.service.ReportsService):
        known |= {g.name for g in cls.domain_gauges}
    dashboard = json.loads((ROOT / "deploy" / "grafana" / "ejournal.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {m for e in exprs for m in re.findall(r"\b(ejournal_[a-z_]+)", e)}
    unknown = {m for m in used if m not in known and re.sub(r"_(bucket|count|sum)$", "", m) not in known}
    assert not unknown, unknown
    for family in ("ejournal_worker_duration_seconds", "ejournal_worker_errors_total", "ejournal_outbox_backlog",
                   "ejournal_outbox_oldest_age_seconds", "ejournal_queue_messages", "ejournal_marks"):
        assert any(family in e for e in exprs), family


def test_domain_gauges_have_no_label_per_person():
    import gateway.service
    import grading.service
    import identity.service
    import makeup.service
    import reports.service

    for cls in (gateway.service.GatewayService, identity.service.IdentityService, grading.service.GradingService,
                makeup.service.MakeupService, reports.service.ReportsService):
        for gauge in cls.domain_gauges:
            assert not {"student", "person", "code", "teacher", "login"} & set(gauge.labels), gauge


def test_a_workers_outcome():
    assert metrics.outcome_of(None, None) == "ok"
    assert metrics.outcome_of("duplicate", None) == "duplicate"
    err = NotFound("x")
    assert metrics.outcome_of(None, (type(err), err, None)) == "not_found"
    boom = RuntimeError("x")
    assert metrics.outcome_of(None, (type(boom), boom, None)) == "internal"
