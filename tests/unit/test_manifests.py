"""Issue 8 item 6: the Kubernetes manifests (deploy/k8s), the compose file and the Dockerfile agree with the
code they run: every process of deploy/processes is deployed with its command, probes and the one image; every
EJOURNAL_* name is one the code reads; selectors select; secrets are placeholders. And the probes they run
(kernel/probe.py) see this process's own connections."""

from __future__ import annotations

import importlib.util
import re
import shlex
import socket
from pathlib import Path

import pytest
import yaml

from kernel import probe

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
PROCESSES = [line.split(None, 1) for line in (ROOT / "deploy" / "processes").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
APP_IMAGE = "ejournal"


def documents() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                doc["_file"] = path.name
                docs.append(doc)
    return docs


DOCS = documents()
KUSTOMIZATION = yaml.safe_load((K8S / "kustomization.yaml").read_text())
COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def of_kind(kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in DOCS if d["kind"] == kind}


def pod_specs() -> dict[str, dict]:
    """Every pod template: Deployments, StatefulSets and the Job."""
    return {f"{d['kind']}/{d['metadata']['name']}": d["spec"]["template"]["spec"] for d in DOCS
            if d["kind"] in ("Deployment", "StatefulSet", "Job")}


def containers(spec: dict) -> list[dict]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def app_containers() -> list[tuple[str, dict]]:
    return [(name, c) for name, spec in pod_specs().items() for c in containers(spec)
            if c["image"].split(":")[0] == APP_IMAGE]


def test_every_manifest_is_a_named_kubernetes_object_and_the_kustomization_lists_every_file():
    assert DOCS
    for doc in DOCS:
        assert {"apiVersion", "kind", "metadata"} <= set(doc), doc["_file"]
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", doc["metadata"]["name"]), doc["metadata"]["name"]
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(KUSTOMIZATION["resources"]) == files
    assert KUSTOMIZATION["namespace"] == of_kind("Namespace").popitem()[0]


WORKERS = ("relay-", "intake-")  # an outbox relay; the check-in intake (attendance.intake)


def test_every_process_of_deploy_processes_is_a_deployment_running_its_command():
    deployments = of_kind("Deployment")
    assert set(deployments) == {name for name, _ in PROCESSES}
    for name, command in PROCESSES:
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["command"] == shlex.split(command), name
        assert deployments[name]["spec"]["replicas"] >= (1 if name.startswith("relay-") else 2), name


def test_every_deployment_has_honest_probes():
    for name, deployment in of_kind("Deployment").items():
        (c,) = deployment["spec"]["template"]["spec"]["containers"]
        assert {"livenessProbe", "readinessProbe", "startupProbe"} <= set(c), name
        if name == "gateway":
            assert c["livenessProbe"]["httpGet"]["path"] == "/health"
            assert c["readinessProbe"]["httpGet"]["path"] == "/ready"
            continue
        relay = name.startswith(WORKERS)  # plain pika processes: the probe checks their own connections
        service = name.split("-", 1)[1] if relay else name
        expect = {"livenessProbe": "relay" if relay else "live", "readinessProbe": "relay" if relay else "ready"}
        if name == "feed-public":  # the public feed's bridge holds a broker connection and nothing else
            service, expect = "feed", {"livenessProbe": "live", "readinessProbe": "live", "startupProbe": "live"}
        for probe_name, kind in expect.items():
            assert c[probe_name]["exec"]["command"] == ["python", "-m", "kernel.probe", kind, service], name
            # the probe's own deadline (timeout + 5 s) ends before the kubelet's
            assert c[probe_name]["timeoutSeconds"] >= 3 + 5 - 1, name
        assert service in (*probe.SERVICES, *probe.BRIDGES)


def test_one_application_image_everywhere_and_the_dockerfile_builds_what_the_processes_run():
    images = {c["image"] for _, c in app_containers()}
    assert len(images) == 1, images
    (image,) = images
    (entry,) = [i for i in KUSTOMIZATION["images"] if i["name"] == APP_IMAGE]
    assert image == f"{APP_IMAGE}:{entry['newTag']}"
    compose_images = {s["image"] for s in COMPOSE["services"].values() if "image" in s and "ejournal" in s["image"]}
    assert compose_images == {f"${{EJOURNAL_IMAGE:-{image}}}"}
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    env_sh = (ROOT / "deploy" / "env.sh").read_text()
    (env_path,) = re.findall(r'export PYTHONPATH="([^"]+)"', env_sh)
    (image_path,) = re.findall(r"PYTHONPATH=(\S+)", dockerfile)
    assert image_path.split(":") == env_path.replace("$EJOURNAL_HOME", "/app").split(":")
    for source in re.findall(r"^COPY (.+) \S+$", dockerfile, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), path
    for where, c in app_containers():
        command = c["command"]
        modules = [command[i + 1] for i, w in enumerate(command) if w == "-m" and command[0] == "python"]
        modules += [w.split(":")[0] for w in command if re.fullmatch(r"[\w.]+:[A-Za-z]\w*", w)]
        assert modules, where
        for module in modules:
            assert importlib.util.find_spec(module) is not None, (where, module)


def source_text() -> str:
    """What reads EJOURNAL_* variables: the code and the nameko config."""
    files = [*ROOT.glob("kernel/*.py"), *ROOT.glob("gateway/gateway/*.py"), *ROOT.glob("services/*/*/*.py"),
             ROOT / "deploy" / "nameko.yaml"]
    return "\n".join(f.read_text() for f in files)


def env_names() -> set[str]:
    names = set(of_kind("ConfigMap")["ejournal-config"]["data"])
    for _, c in app_containers():
        names |= {e["name"] for e in c.get("env", [])}
    for service in COMPOSE["services"].values():
        names |= set(service.get("environment") or {})
    return {n for n in names if n.startswith("EJOURNAL_")}


def test_every_ejournal_variable_set_is_one_the_code_reads():
    config = (ROOT / "kernel" / "config.py").read_text()
    source = source_text()
    names = env_names()
    assert {"EJOURNAL_DB_NAME", "EJOURNAL_PG_HOST", "EJOURNAL_AMQP_URI", "EJOURNAL_QUEUE_TYPE"} <= names
    for name in names:
        assert f'"{name}"' in config or re.search(rf"\b{name}\b", source), f"{name} is read by nothing"
    assert '"EJOURNAL_QUEUE_TYPE"' in config


def test_selectors_select_their_pods_and_services_have_endpoints():
    templates = {}
    for kind in ("Deployment", "StatefulSet"):
        for name, d in of_kind(kind).items():
            labels = d["spec"]["template"]["metadata"]["labels"]
            assert d["spec"]["selector"]["matchLabels"].items() <= labels.items(), name
            assert d["metadata"]["labels"]["app.kubernetes.io/name"] == labels["app.kubernetes.io/name"], name
            templates[f"{kind}/{name}"] = labels
    for kind in ("Service", "PodDisruptionBudget"):
        for name, d in of_kind(kind).items():
            selector = d["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            assert any(selector.items() <= labels.items() for labels in templates.values()), f"{kind}/{name}"
    for name, d in of_kind("StatefulSet").items():
        assert d["spec"]["serviceName"] in of_kind("Service"), name
    gateway = of_kind("Service")["gateway"]["spec"]["ports"][0]
    (container,) = of_kind("Deployment")["gateway"]["spec"]["template"]["spec"]["containers"]
    assert gateway["targetPort"] in {p["name"] for p in container["ports"]}


def test_references_to_config_maps_and_secrets_resolve():
    secrets = {name: set(d.get("stringData", {})) for name, d in of_kind("Secret").items()}
    config_maps = {name: set(d.get("data", {})) for name, d in of_kind("ConfigMap").items()}
    for generated in KUSTOMIZATION["configMapGenerator"]:
        config_maps[generated["name"]] = {Path(f).name for f in generated["files"]}
    for where, spec in pod_specs().items():
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps, where
                for item in volume["configMap"].get("items", []):
                    assert item["key"] in config_maps[volume["configMap"]["name"]], where
        for c in containers(spec):
            for source in c.get("envFrom", []):
                assert source["configMapRef"]["name"] in config_maps, where
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    assert ref["secretKeyRef"]["key"] in secrets[ref["secretKeyRef"]["name"]], (where, e["name"])
                if "configMapKeyRef" in ref:
                    assert ref["configMapKeyRef"]["key"] in config_maps[ref["configMapKeyRef"]["name"]], where


SECRET_NAME = re.compile(r"PASSWORD|SECRET|COOKIE|PASS$", re.I)


def test_no_plaintext_secret_anywhere():
    for name, secret in of_kind("Secret").items():
        assert "data" not in secret, f"{name}: base64 data would hide a real value; use placeholders in stringData"
        for key, value in secret["stringData"].items():
            assert key == "username" or value.startswith("CHANGE_ME"), f"{name}.{key} is not a placeholder"
    for where, spec in pod_specs().items():
        for c in containers(spec):
            for e in c.get("env", []):
                if SECRET_NAME.search(e["name"]):
                    assert "value" not in e, f"{where}: {e['name']} must come from a Secret"
    for data in of_kind("ConfigMap")["ejournal-config"]["data"]:
        assert not SECRET_NAME.search(data), data
    for name, service in COMPOSE["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", str(value)), f"compose {name}: {key} needs no default"


def test_each_secret_goes_only_where_it_is_needed():
    holders: dict[str, set[str]] = {}
    for where, c in app_containers():
        for e in c.get("env", []):
            holders.setdefault(e["name"], set()).add(f"{where}/{c['name']}")
    assert holders["EJOURNAL_PG_ADMIN_PASSWORD"] == {"Job/provision/provision"}
    assert holders["EJOURNAL_JWT_SECRET"] == {"Deployment/gateway/gateway"}
    assert holders["EJOURNAL_ADMIN_PASSWORD"] == {"Job/provision/bootstrap"}


def test_presets_are_one_config_map_built_from_kernel_presets_and_mounted_where_the_code_reads_them():
    (generated,) = [g for g in KUSTOMIZATION["configMapGenerator"] if g["name"] == "ejournal-presets"]
    assert sorted(Path(f).name for f in generated["files"]) == sorted(
        p.name for p in (ROOT / "kernel" / "presets").glob("*.yaml"))
    for f in generated["files"]:
        assert (K8S / f).resolve().exists(), f
    for where, c in app_containers():
        mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        assert mounts.get("/app/kernel/presets") == "presets", where


def test_rabbitmq_is_a_three_node_cluster_whose_default_queue_type_is_quorum():
    rabbit = of_kind("StatefulSet")["rabbitmq"]
    assert rabbit["spec"]["replicas"] == 3
    conf = (K8S / "rabbitmq" / "rabbitmq.conf").read_text()
    assert re.search(r"^default_queue_type = quorum$", conf, re.M)
    assert of_kind("ConfigMap")["ejournal-config"]["data"]["EJOURNAL_QUEUE_TYPE"] == "quorum"
    nodes = re.findall(r"^cluster_formation\.classic_config\.nodes\.\d = (\S+)$", conf, re.M)
    namespace = KUSTOMIZATION["namespace"]
    service = rabbit["spec"]["serviceName"]
    assert nodes == [f"rabbit@rabbitmq-{i}.{service}.{namespace}.svc.cluster.local" for i in range(3)]
    assert of_kind("Service")[service]["spec"]["clusterIP"] == "None"
    assert of_kind("PodDisruptionBudget")["rabbitmq"]["spec"]["maxUnavailable"] == 1
    # one machine stays classic: compose sets no queue type
    assert all("EJOURNAL_QUEUE_TYPE" not in (s.get("environment") or {}) for s in COMPOSE["services"].values())


def test_postgresql_has_a_primary_and_a_streaming_replica_cloned_from_it():
    sets = of_kind("StatefulSet")
    assert sets["postgres-primary"]["spec"]["replicas"] == 1
    args = sets["postgres-primary"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "wal_level=replica" in args and any(a.startswith("max_wal_senders=") for a in args)
    replica = sets["postgres-replica"]["spec"]["template"]["spec"]
    (clone,) = replica["initContainers"]
    env = {e["name"]: e for e in clone["env"]}
    assert env["PRIMARY_HOST"]["value"] in of_kind("Service")
    assert "hot_standby=on" in replica["containers"][0]["args"]
    script = (K8S / "postgres" / "init-replica.sh").read_text()
    assert "pg_basebackup" in script and " -R " in script
    assert "REPLICATION" in (K8S / "postgres" / "init-primary.sh").read_text()
    config = of_kind("ConfigMap")["ejournal-config"]["data"]
    assert config["EJOURNAL_PG_HOST"] == "postgres-primary"


def test_the_provision_job_provisions_then_bootstraps():
    job = of_kind("Job")["provision"]["spec"]["template"]["spec"]
    assert job["initContainers"][0]["command"] == ["python", "-m", "deploy.ops.provision"]
    assert job["containers"][0]["command"][:3] == ["python", "-m", "identity.bootstrap"]
    assert job["restartPolicy"] == "OnFailure"


def test_compose_runs_every_process_with_its_command_after_provisioning():
    services = COMPOSE["services"]
    for name, command in PROCESSES:
        assert services[name]["command"] == shlex.split(command), name
        assert services[name]["depends_on"]["provision"]["condition"] == "service_completed_successfully"
        assert "healthcheck" in services[name], name
    assert "deploy.ops.provision" in " ".join(services["provision"]["command"])


# ------------------------------------------------------------------------------- kernel/probe.py, what it reads


def test_probe_reads_established_connections_from_proc_net_tcp_lines():
    lines = [
        "   0: 0100007F:A1B2 0100007F:1628 01 00000000:00000000 00:00000000 00000000  1000 0 4242 1 0 20 4 30 10 -1",
        "   1: 0100007F:A1B3 0100007F:1538 06 00000000:00000000 00:00000000 00000000  1000 0 4343 1 0 20 4 30 10 -1",
        "   2: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 4444 1 0 20 4 30 10 -1",
    ]
    assert probe.established_ports(lines) == {4242: 5672}  # TIME_WAIT and LISTEN are not connections
    assert probe.amqp_port("amqp://u:p@rabbitmq/ejournal") == 5672
    assert probe.amqp_port("amqps://u:p@rabbitmq:5999/ejournal") == 5999


def test_probe_sees_this_processs_own_connection_and_not_once_it_is_closed():
    import os

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    assert not probe.connected_to(os.getpid(), port)
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    try:
        assert probe.connected_to(os.getpid(), port)
    finally:
        client.close()
        accepted.close()
        server.close()
    assert not probe.connected_to(os.getpid(), port)


def test_probe_of_a_process_without_a_broker_connection_fails_with_one_line(capsys):
    import os

    assert probe.main(["live", "attendance", "--pid", str(os.getpid())]) == 1
    assert "no established connection to the broker" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        probe.main(["live", "gateway"])  # the gateway has HTTP probes


def test_the_feed_has_only_a_live_probe(capsys):
    assert probe.main(["ready", "feed", "--pid", "1"]) == 1
    assert "only a live probe" in capsys.readouterr().err
    assert probe.main(["relay", "feed", "--pid", "1"]) == 1
