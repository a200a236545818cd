"""Server settings: command-line flags over ``PYPES_*`` environment variables over
``pypes.toml`` in the config directory over the defaults below."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pypes.errors import PypesError
from pypes.ingest import Limits

SCOPES = ("read", "ingest", "admin")


class Settings(BaseSettings):
    """Everything ``pypes serve`` can be told."""

    model_config = SettingsConfigDict(env_prefix="PYPES_", env_nested_delimiter="__",
                                      extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    config: Path = Path("config")
    data: Path | None = Field(None, description="file publishers' directory; <config>/data")
    graph: Path | None = Field(None, description="a graph file to start with")
    token: SecretStr | None = Field(None, description="a token with every scope")
    tokens: dict[str, list[str]] = Field(
        default_factory=dict, description="more tokens: token -> scopes (read, ingest, admin)"
    )
    wire_capacity: int = Field(10_000, ge=1)
    queue_limit: int = Field(100_000, ge=1, description="documents waiting to enter the graph")
    queue_bytes: int = Field(256 * 1024 * 1024, ge=1,
                             description="body bytes waiting to enter the graph")
    durable: bool = Field(False, description="journal accepted documents; replay them at start")
    journal_sync: Literal["normal", "full"] = Field(
        "normal", description="normal: survives a killed server; full: also a power cut")
    journal_max_bytes: int | None = Field(None, ge=65536,
                                          description="cap on the journal file; then 503")
    stall_seconds: float = Field(10.0, gt=0,
                                 description="a step running this long is reported as stalled")
    dead_letter_limit: int = Field(10_000, ge=1)
    max_body_bytes: int = Field(64 * 1024 * 1024, ge=1)
    max_inflated_bytes: int = Field(256 * 1024 * 1024, ge=1)
    max_documents: int = Field(100_000, ge=1)
    max_depth: int = Field(64, ge=1)
    log_level: str = "info"
    workers: int = Field(1, ge=1, le=64, description="server processes sharing the port")
    ec2: dict[str, Any] = Field(
        default_factory=dict, description="defaults for ec2 composites (pypes.cloud.ec2)")

    @property
    def data_dir(self) -> Path:
        return self.data if self.data is not None else self.config / "data"

    @property
    def limits(self) -> Limits:
        return Limits(self.max_body_bytes, self.max_inflated_bytes, self.max_documents,
                      self.max_depth)

    def scopes_for(self) -> dict[str, set[str]]:
        """Token → scopes, the single ``token`` included with every scope."""
        table = {t: set(s) for t, s in self.tokens.items()}
        if self.token is not None:
            table[self.token.get_secret_value()] = set(SCOPES)
        return table

    def server_id(self) -> str:
        """A stable id for this server, kept in the config dir (tags its cloud instances)."""
        path = self.config / "server-id"
        if path.exists():
            return path.read_text().strip()
        self.config.mkdir(parents=True, exist_ok=True)
        value = "pypes-" + secrets.token_hex(6)
        path.write_text(value + "\n")
        return value


def load_settings(config: Path | str = "config", **flags: Any) -> Settings:
    """Settings for a server whose config directory is ``config``; ``None`` flags are unset."""
    config = Path(config)
    toml_path = config / "pypes.toml"

    class _FromFiles(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings,
                    TomlConfigSettingsSource(settings_cls, toml_file=toml_path))

    given = {k: v for k, v in flags.items() if v is not None}
    try:
        settings = _FromFiles(config=config, **given)
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
                 for e in exc.errors()]
        raise PypesError(f"bad settings ({toml_path} or PYPES_*): " + "; ".join(lines)) from None
    for token, scopes in settings.tokens.items():
        unknown = set(scopes) - set(SCOPES)
        if unknown:
            raise PypesError(f"token {token[:4]}…: unknown scopes {sorted(unknown)}")
    return settings
