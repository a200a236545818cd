"""A composite with ``"provider": "ec2"`` end to end: a real ``pypes serve`` master, a moto
EC2 endpoint on loopback, and the cloud-init stand-in that boots each instance's real
user-data here, so a real ``pypes worker`` registers back with the master."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("ec2_fixtures")
from ec2_fixtures import CloudInit, Master, MotoCloud, pypes_master  # noqa: E402, I001
from pypes.testing import wait_for  # noqa: E402

pytest_plugins = ["ec2_fixtures"]
pytestmark = pytest.mark.cloud

INNER = {
    "pypes": 1, "name": "inner",
    "components": [
        {"id": "tag", "class": "SetField", "params": {"field": "seen", "value": True}},
        {"id": "inner_out", "class": "Collect", "params": {}},
    ],
    "wires": [{"id": "iw", "from": ["tag", "out"], "to": ["inner_out", "in"]}],
}


def outer_graph(ec2: dict[str, Any], instances: int = 1) -> dict[str, Any]:
    return {
        "pypes": 1, "name": "outer",
        "components": [
            {"id": "reader", "class": "JsonReader", "params": {}},
            {"id": "heavy", "class": "Composite",
             "params": {"provider": "ec2", "instances": instances, "linger_ms": 10,
                        "graph": INNER, "ec2": ec2}},
            {"id": "out", "class": "Collect", "params": {}},
        ],
        "wires": [{"id": "w1", "from": ["reader", "out"], "to": ["heavy", "in"]},
                  {"id": "w2", "from": ["heavy", "out"], "to": ["out", "in"]}],
    }


@pytest.fixture
def config(tmp_path: Path, owner: str, cloud_init: CloudInit) -> Path:
    """A master config dir whose server id is ``owner``; cloud-init boots its instances."""
    path = tmp_path / "config"
    path.mkdir()
    (path / "server-id").write_text(owner + "\n")
    cloud_init.watch(owner)
    return path


@pytest.fixture
def master(config: Path, cloud: MotoCloud) -> Iterator[Master]:
    with pypes_master(config, cloud.env()) as started:
        yield started


def api(master: Master) -> httpx.Client:
    return httpx.Client(base_url=master.url, timeout=30)


def composite(client: httpx.Client, cid: str = "heavy") -> dict[str, Any]:
    return client.get("/stats").json()["components"][cid]


def wait_state(client: httpx.Client, state: str, cid: str = "heavy",
               timeout: float = 60) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        found = composite(client, cid)
        if found["state"] == "failed" and state != "failed":
            pytest.fail(f"composite failed: {found.get('reason')}")
        return found if found["state"] == state else None
    return wait_for(reached, timeout, message=f"composite {cid} to be {state}")  # type: ignore[no-any-return]


def results(client: httpx.Client, want: int, timeout: float = 30) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    cursor = 0

    def more() -> bool:
        nonlocal cursor
        page = client.get("/sinks/out", params={"after": cursor, "wait": 1}).json()
        got.extend(page["items"])
        cursor = page["cursor"]
        return len(got) >= want
    wait_for(more, timeout, interval=0, message=f"{want} results")
    return got


def start_composite(client: httpx.Client, cloud: MotoCloud, instances: int = 1,
                    **ec2: Any) -> None:
    reply = client.put("/graph", json=outer_graph(cloud.ec2_params(**ec2), instances))
    assert reply.status_code == 200, reply.text


def tokens_of(cloud: MotoCloud, owner: str) -> list[str]:
    """The worker tokens the master put in its instances' user-data."""
    found = []
    for inst in cloud.instances(owner):
        match = re.search(r"^TOKEN=(\S+)$", cloud.user_data(inst["InstanceId"]), re.M)
        assert match is not None
        found.append(match.group(1).strip("'"))
    return found


def test_documents_flow_through_workers_booted_on_the_cloud(
        master: Master, cloud: MotoCloud, cloud_init: CloudInit, owner: str) -> None:
    with api(master) as client:
        start_composite(client, cloud, instances=2)
        ready = wait_state(client, "ready")
        assert ready["provider"] == "ec2"

        accepted = client.post("/docs", json=[{"n": n} for n in range(50)])
        assert accepted.status_code == 202
        docs = results(client, 50)
        assert sorted(d["n"] for d in docs) == list(range(50))
        assert all(d["seen"] is True for d in docs)

        instances = cloud.instances(owner)
        assert len(instances) == 2
        assert sorted(cloud_init.boots) == sorted(i["InstanceId"] for i in instances)
        for inst in instances:
            tags = {t["Key"]: t["Value"] for t in inst["Tags"]}
            assert tags["pypes:owner"] == owner and tags["pypes:component"] == "heavy"
        def all_ready() -> list[dict[str, Any]]:
            rows = client.get("/workers").json()
            return rows if [r["state"] for r in rows] == ["ready", "ready"] else []
        rows = wait_for(all_ready, message="both workers ready")
        assert sorted(r["instance"] for r in rows) == sorted(cloud_init.boots)
        assert {r["provider"] for r in rows} == {"ec2"}
        assert {r["instance_state"] for r in rows} <= {"pending", "running"}


@pytest.mark.parametrize("how", ["delete", "replace the graph"])
def test_removing_the_composite_terminates_its_instances(
        master: Master, cloud: MotoCloud, cloud_init: CloudInit, owner: str, how: str) -> None:
    with api(master) as client:
        start_composite(client, cloud)
        wait_state(client, "ready")
        assert list(cloud.states(owner).values()) == ["running"]

        if how == "delete":
            assert client.delete("/filters/heavy").status_code == 204
        else:
            empty = {"pypes": 1, "name": "empty", "components": [], "wires": []}
            assert client.put("/graph", json=empty).status_code == 200

        wait_for(lambda: set(cloud.states(owner).values()) == {"terminated"},
                 message="the instance to be terminated")
        wait_for(lambda: not cloud_init.running(), message="the worker to go")
        assert client.get("/health").status_code == 200


def test_stopping_the_server_terminates_its_instances(
        master: Master, cloud: MotoCloud, owner: str) -> None:
    with api(master) as client:
        start_composite(client, cloud, instances=2)
        wait_state(client, "ready")
    assert list(cloud.states(owner).values()) == ["running", "running"]

    assert master.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises the signal it handled

    assert set(cloud.states(owner).values()) == {"terminated"}


def test_instances_left_by_a_killed_server_are_reaped_when_it_starts_again(
        config: Path, cloud: MotoCloud, cloud_init: CloudInit, owner: str) -> None:
    with pypes_master(config, cloud.env()) as first:
        with api(first) as client:
            start_composite(client, cloud)
            wait_state(client, "ready")
        first.stop(signal.SIGKILL)
    [left] = cloud.states(owner)
    assert cloud.states(owner)[left] == "running"

    with pypes_master(config, cloud.env()) as second, api(second) as client:
        wait_state(client, "ready")  # the stored graph's composite boots a new instance
        states = cloud.states(owner)
        assert states.pop(left) == "terminated"
        assert list(states.values()) == ["running"]
        assert left in second.logs()


def test_a_bad_image_id_fails_the_composite_with_the_clouds_message(
        master: Master, cloud: MotoCloud, owner: str) -> None:
    with api(master) as client:
        start_composite(client, cloud, image_id="ami-00000bad")
        failed = wait_state(client, "failed")
        assert "InvalidAMIID" in failed["reason"]
        assert "ami-00000bad" in failed["reason"]
        assert "Traceback" not in failed["reason"]
        assert cloud.instances(owner) == []
        assert client.get("/health").status_code == 200


def test_credentials_and_tokens_never_show(
        config: Path, cloud: MotoCloud, cloud_init: CloudInit, owner: str) -> None:
    with pypes_master(config, cloud.env(), "--log-level", "debug") as master, \
            api(master) as client:
        start_composite(client, cloud)
        wait_state(client, "ready")
        client.post("/docs", json=[{"n": 1}])
        results(client, 1)
        shown = [client.get(path).text for path in ("/graph", "/stats", "/workers")]
        refused = client.put("/graph", json=outer_graph(
            cloud.ec2_params(aws_secret_access_key=cloud.secret_key)))
        shown += [refused.text, client.get("/graph").text]
    master.stop()
    tokens = tokens_of(cloud, owner)
    assert tokens and "started instance" in master.logs()
    everything = "\n".join([*shown, master.logs(), cloud_init.logs()])
    for secret in (cloud.secret_key, cloud.access_key, *tokens):
        assert secret not in everything
    assert refused.status_code == 422
    assert "aws_secret_access_key: credentials are not taken from params" in refused.text
