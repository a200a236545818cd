"""``pypes serve`` with the ec2 provider, against a moto EC2 endpoint on loopback: what
the server does with its cloud instances as a whole (orphans at start, credentials)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.register_assert_rewrite("ec2_fixtures")
from ec2_fixtures import MotoCloud, pypes_master  # noqa: E402, I001
from pypes.testing import wait_for  # noqa: E402

pytest_plugins = ["ec2_fixtures"]
pytestmark = pytest.mark.cloud


def tagged_instance(cloud: MotoCloud, owner: str) -> str:
    reply = cloud.client().run_instances(
        ImageId=cloud.image_id, MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "pypes:owner", "Value": owner},
            {"Key": "pypes:component", "Value": "heavy"},
            {"Key": "pypes:worker", "Value": "heavy-1-abc"}]}])
    return str(reply["Instances"][0]["InstanceId"])


def server_env(cloud: MotoCloud) -> dict[str, str]:
    """A master configured for the cloud through PYPES_EC2__*, credentials in AWS_*."""
    return {**cloud.env(), "PYPES_EC2__ENDPOINT_URL": cloud.endpoint_url,
            "PYPES_EC2__REGION_NAME": cloud.region, "PYPES_EC2__IMAGE_ID": cloud.image_id}


@pytest.mark.parametrize("args", [(), ("--workers", "2")], ids=["single", "workers"])
def test_the_server_terminates_its_orphans_at_start_and_nothing_else(
        cloud: MotoCloud, owner: str, tmp_path: Path, args: tuple[str, ...]) -> None:
    """With ``--workers N`` the sweep runs once, before the processes are forked."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "server-id").write_text(owner + "\n")
    orphans = [tagged_instance(cloud, owner) for _ in range(2)]
    stranger = tagged_instance(cloud, owner + "-other")

    with pypes_master(config, server_env(cloud), *args) as master:
        wait_for(lambda: all(cloud.states(owner)[i] == "terminated" for i in orphans),
                 message="the orphans to be terminated")
        wait_for(lambda: all(i in master.logs() for i in orphans), message="the log lines")
        assert cloud.states(owner + "-other")[stranger] == "running"
    logged = master.logs()
    assert "orphan" in logged
    assert cloud.secret_key not in logged and cloud.access_key not in logged


def test_a_server_with_no_cloud_configured_makes_no_cloud_calls(
        cloud: MotoCloud, owner: str, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "server-id").write_text(owner + "\n")
    orphan = tagged_instance(cloud, owner)

    with pypes_master(config, cloud.env()) as master:
        pass
    assert cloud.states(owner)[orphan] == "running"
    assert "orphan" not in master.logs()
