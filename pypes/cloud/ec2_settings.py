"""Ec2Settings: where and how the ``ec2`` provider boots workers. Plain pydantic (no
boto3), so a graph's ``ec2`` params can be checked without loading the SDK."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pypes.cloud.provider import ProviderError

CREDENTIAL_KEYS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                   "access_key", "secret_key", "session_token", "profile_name")


class Ec2Settings(BaseModel):
    """Where and how to boot workers: server-wide defaults (``[ec2]`` in pypes.toml,
    ``PYPES_EC2__*``) overridden by a composite's ``ec2`` params. No credentials here."""

    model_config = ConfigDict(extra="forbid")

    endpoint_url: str | None = Field(
        None, description="EC2 API endpoint (Eucalyptus, OpenStack); empty for AWS")
    region_name: str | None = Field(None, description="region; empty: boto3's default")
    image_id: str | None = Field(None, description="the Pypes machine image (ami-/emi-)")
    instance_type: str = Field("t3.small", description="instance type for each worker")
    key_name: str | None = Field(None, description="SSH key pair, for debugging instances")
    security_group_ids: list[str] = Field(
        default_factory=list, description="groups letting only the master reach the worker port")
    subnet_id: str | None = Field(None, description="subnet (VPC) to start instances in")
    master_url: str | None = Field(
        None, description="this server's URL as the instances reach it")
    register_timeout: float = Field(
        600, gt=0, description="seconds a worker has to boot and register before it fails")
    terminate_timeout: float = Field(
        120, gt=0, description="seconds to wait for an instance to reach 'terminated'")
    worker_port: int = Field(8081, ge=0, le=65535, description="the worker's port")
    pypes_bin: str = Field("pypes", description="the pypes executable in the image")

    @model_validator(mode="before")
    @classmethod
    def _no_credentials(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            given = sorted(k for k in data if str(k).lower() in CREDENTIAL_KEYS)
            if given:
                raise ValueError(
                    f"{', '.join(given)}: credentials are not taken from params; use boto3's "
                    "standard chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws/credentials "
                    "or an instance role)")
            groups = data.get("security_group_ids")
            if isinstance(groups, str):  # PYPES_EC2__SECURITY_GROUP_IDS=sg-1,sg-2
                data = {**data, "security_group_ids": [
                    g.strip() for g in groups.strip("[]").replace('"', "").split(",")
                    if g.strip()]}
        return data

    @classmethod
    def merged(cls, defaults: Mapping[str, Any] | None,
               params: Ec2Settings | Mapping[str, Any] | None) -> Ec2Settings:
        """Server-wide ``defaults`` with a composite's ``params`` over them."""
        if isinstance(params, Ec2Settings):
            params = params.model_dump(exclude_unset=True)
        values = {**(defaults or {}), **{k: v for k, v in (params or {}).items()
                                         if v is not None}}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                "ec2" + "".join(f".{p}" for p in e["loc"]) + ": "
                + e["msg"].removeprefix("Value error, ") for e in exc.errors())
            raise ProviderError(problems) from None

    @property
    def target(self) -> tuple[str, str]:
        """Which cloud: (endpoint, region); one orphan sweep per target."""
        return (self.endpoint_url or "", self.region_name or "")
