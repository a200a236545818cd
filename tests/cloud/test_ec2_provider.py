"""The ec2 provider against a real EC2 API on loopback (moto), on its own: instances,
tags, the boot script, termination, orphans, and cloud errors turned into ProviderError."""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import time
from pathlib import Path

import pytest
from botocore.exceptions import ReadTimeoutError

from pypes.cloud.ec2 import Ec2Provider, Ec2Settings, OrphanSweeps, ec2_provider, make_client
from pypes.cloud.provider import ProviderError, WorkerSpec
from pypes.settings import load_settings

pytest.register_assert_rewrite("ec2_fixtures")
from ec2_fixtures import CloudInit, MotoCloud  # noqa: E402, I001
from pypes.testing import wait_for  # noqa: E402

pytest_plugins = ["ec2_fixtures"]
pytestmark = pytest.mark.cloud

FAKE_PYPES = """#!/bin/sh
# stands in for the image's pypes: records how the boot script started it
printf '%s\\n' "$@" > "$(dirname "$0")/argv-$$"
echo "worker says hello"
"""


def spec(n: int = 1, composite: str = "remote") -> WorkerSpec:
    return WorkerSpec(worker_id=f"{composite}-{n}-{secrets.token_hex(3)}",
                      token="-tok'$(x)" + secrets.token_urlsafe(24),  # shell- and flag-hostile
                      master_url="http://10.0.0.5:8080", composite=composite)


def provider(cloud: MotoCloud, owner: str, **more: object) -> Ec2Provider:
    made = Ec2Provider(Ec2Settings(**cloud.ec2_params(**more)), owner)
    made.poll_interval = made.terminate_poll = 0.1
    return made


def test_launch_tags_the_instance_and_boots_pypes_worker(
        cloud: MotoCloud, cloud_init: CloudInit, owner: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    fake = tmp_path / "pypes"
    fake.write_text(FAKE_PYPES)
    fake.chmod(0o755)
    cloud_init.env["PYPES_BIN"] = str(fake)
    cloud_init.watch(owner)
    ec2 = cloud.client()
    group = ec2.create_security_group(GroupName=f"pypes-{owner}", Description="workers")
    ec2.create_key_pair(KeyName=f"key-{owner}")
    worker = spec()
    caplog.set_level(logging.DEBUG)

    instance = asyncio.run(provider(
        cloud, owner, security_group_ids=[group["GroupId"]], key_name=f"key-{owner}",
        master_url="http://master.internal:8080").launch(worker))

    found = cloud.instances(owner)
    assert [i["InstanceId"] for i in found] == [instance.handle]
    tags = {t["Key"]: t["Value"] for t in found[0]["Tags"]}
    assert tags["pypes:owner"] == owner
    assert tags["pypes:component"] == "remote"
    assert tags["pypes:worker"] == worker.worker_id
    assert worker.worker_id in tags["Name"]
    assert found[0]["ImageId"] == cloud.image_id
    assert found[0]["KeyName"] == f"key-{owner}"
    assert [g["GroupId"] for g in found[0]["SecurityGroups"]] == [group["GroupId"]]
    assert instance.details["instance_id"] == instance.handle

    script = cloud.user_data(instance.handle)
    assert script.startswith("#!/bin/sh\n")
    argv_file = wait_for(lambda: next(tmp_path.glob("argv-*"), None), message="the worker")
    argv = wait_for(lambda: argv_file.read_text().splitlines(), message="its arguments")
    assert argv[:4] == ["worker", "--master=http://master.internal:8080",
                        f"--token={worker.token}", f"--id={worker.worker_id}"]
    assert "--port=0" in argv
    assert "worker says hello" in wait_for(cloud_init.logs, message="the worker log")

    logged = caplog.text + cloud_init.logs()
    assert worker.token not in logged
    assert base64.b64encode(script.encode()).decode()[:40] not in logged
    assert instance.handle in caplog.text


def test_terminate_waits_until_the_instance_is_terminated(
        cloud: MotoCloud, owner: str) -> None:
    ec2 = provider(cloud, owner)

    async def scenario() -> tuple[bool, bool, str]:
        instance = await ec2.launch(spec())
        before = await ec2.alive(instance)
        await ec2.terminate(instance)
        await ec2.terminate(instance)  # safe twice
        return before, await ec2.alive(instance), instance.handle

    before, after, iid = asyncio.run(scenario())
    assert before and not after
    assert cloud.states(owner) == {iid: "terminated"}


def test_an_instance_terminated_elsewhere_is_not_alive(cloud: MotoCloud, owner: str) -> None:
    ec2 = provider(cloud, owner)
    instance = asyncio.run(ec2.launch(spec()))
    cloud.client().terminate_instances(InstanceIds=[instance.handle])
    assert asyncio.run(ec2.alive(instance)) is False


def test_close_terminates_what_was_left_running(cloud: MotoCloud, owner: str) -> None:
    ec2 = provider(cloud, owner)

    async def scenario() -> None:
        for n in range(3):
            await ec2.launch(spec(n))
        await ec2.close()

    asyncio.run(scenario())
    assert set(cloud.states(owner).values()) == {"terminated"}


def test_reap_orphans_terminates_only_this_owners_instances_not_kept(
        cloud: MotoCloud, owner: str) -> None:
    mine, theirs = provider(cloud, owner), provider(cloud, owner + "-other")

    async def scenario() -> tuple[list[str], list[str], str]:
        kept = await mine.launch(spec(1))
        orphan = await mine.launch(spec(2))
        other = await theirs.launch(spec(3))
        mine._instances.clear()  # as after a crash: this process no longer knows them
        reaped = await mine.reap_orphans(owner, keep=[kept.handle])
        return reaped, [kept.handle, orphan.handle], other.handle

    reaped, (kept, orphan), other = asyncio.run(scenario())
    assert reaped == [orphan]
    states = cloud.states(owner)
    assert states[kept] == "running"
    assert states[orphan] in ("shutting-down", "terminated")
    assert cloud.states(owner + "-other")[other] == "running"


def test_orphan_sweep_at_start_runs_before_any_launch(cloud: MotoCloud, owner: str) -> None:
    left = cloud.client().run_instances(
        ImageId=cloud.image_id, MinCount=1, MaxCount=1,
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": "pypes:owner", "Value": owner}]}])
    orphan = left["Instances"][0]["InstanceId"]
    sweeps = OrphanSweeps()
    config = Ec2Settings(**cloud.ec2_params())
    sweeps.start(config, owner)

    async def launch_after_sweep() -> str:
        await sweeps.wait(config, owner)
        return (await provider(cloud, owner).launch(spec())).handle

    fresh = asyncio.run(launch_after_sweep())
    states = cloud.states(owner)
    assert states[orphan] in ("shutting-down", "terminated")
    assert states[fresh] == "running"


def test_a_bad_image_id_is_a_provider_error_with_the_clouds_message(
        cloud: MotoCloud, owner: str) -> None:
    with pytest.raises(ProviderError) as raised:
        asyncio.run(provider(cloud, owner, image_id="ami-00000bad").launch(spec()))
    assert "InvalidAMIID" in str(raised.value)
    assert "ami-00000bad" in str(raised.value)
    assert cloud.instances(owner) == []


def test_a_launch_whose_answer_is_lost_leaves_no_instance_running(
        cloud: MotoCloud, owner: str) -> None:
    class LostAnswer:
        """An EC2 client whose RunInstances reaches the cloud, but the answer never comes."""

        def __init__(self, config: Ec2Settings) -> None:
            self.real = make_client(config)

        def run_instances(self, **request: object) -> None:
            self.real.run_instances(**request)
            raise ReadTimeoutError(endpoint_url=cloud.endpoint_url)

        def __getattr__(self, name: str) -> object:
            return getattr(self.real, name)

    lossy = Ec2Provider(Ec2Settings(**cloud.ec2_params()), owner, client_factory=LostAnswer)
    with pytest.raises(ProviderError, match="Read timeout"):
        asyncio.run(lossy.launch(spec()))
    assert set(cloud.states(owner).values()) <= {"shutting-down", "terminated"}
    assert len(cloud.states(owner)) == 1


def test_no_image_id_says_where_to_set_it(cloud: MotoCloud, owner: str) -> None:
    with pytest.raises(ProviderError, match="image_id"):
        asyncio.run(provider(cloud, owner, image_id=None).launch(spec()))


def test_an_unreachable_endpoint_fails_fast(cloud: MotoCloud, owner: str) -> None:
    started = time.monotonic()
    with pytest.raises(ProviderError, match="EC2 RunInstances failed.*127.0.0.1:9"):
        asyncio.run(provider(cloud, owner, endpoint_url="http://127.0.0.1:9").launch(spec()))
    assert time.monotonic() - started < 15


def test_missing_credentials_point_at_the_standard_chain(
        cloud: MotoCloud, owner: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(ProviderError, match="no AWS credentials.*standard chain"):
        asyncio.run(provider(cloud, owner).launch(spec()))


def test_credentials_are_refused_in_params() -> None:
    with pytest.raises(ProviderError, match="aws_secret_access_key: credentials are not"):
        Ec2Settings.merged({}, {"image_id": "ami-1", "aws_secret_access_key": "x"})


def test_credentials_are_never_rendered_or_returned(
        cloud: MotoCloud, owner: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ec2 = provider(cloud, owner)
    instance = asyncio.run(ec2.launch(spec()))
    shown = repr(instance.details) + cloud.user_data(instance.handle) + repr(ec2.config) \
        + ec2.config.model_dump_json()
    ours = [r.getMessage() for r in caplog.records if r.name.startswith(("pypes", "boto"))]
    for secret in (cloud.secret_key, cloud.access_key):
        assert secret not in shown
        assert secret not in "\n".join(ours)
    asyncio.run(ec2.close())


def test_server_wide_defaults_come_from_settings(
        cloud: MotoCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "pypes.toml").write_text(
        f'[ec2]\nendpoint_url = "{cloud.endpoint_url}"\nimage_id = "{cloud.image_id}"\n'
        'instance_type = "m5.large"\n')
    monkeypatch.setenv("PYPES_EC2__SECURITY_GROUP_IDS", "sg-1,sg-2")
    settings = load_settings(config)

    made = ec2_provider({"instance_type": "c5.xlarge"}, settings)

    assert made.owner == settings.server_id()
    assert made.config.endpoint_url == cloud.endpoint_url
    assert made.config.image_id == cloud.image_id
    assert made.config.instance_type == "c5.xlarge"
    assert made.config.security_group_ids == ["sg-1", "sg-2"]
