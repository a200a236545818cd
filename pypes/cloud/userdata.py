"""The user-data a cloud instance boots with: a ``#!/bin/sh`` script that starts
``pypes worker``, rendered from ``cloud-init.sh.tmpl`` beside this module (``images/`` links to it).

The script carries the worker's token, so it is only ever handed to the cloud API:
never logged, never shown by ``/stats`` or ``GET /workers``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from pypes.cloud.provider import ProviderError, WorkerSpec

TEMPLATE = Path(__file__).with_name("cloud-init.sh.tmpl")  # ships in the package
USER_DATA_LIMIT = 16 * 1024  # EC2's limit on user-data, before base64
_PLACEHOLDER = re.compile(r"@([a-z_]+)@")


def render_user_data(
    spec: WorkerSpec,
    *,
    worker_port: int = 8081,
    pypes_bin: str = "pypes",
    advertise_url: str | None = None,
    template: Path | None = None,
) -> str:
    """The boot script for ``spec``'s worker; every value is shell-quoted."""
    path = template or TEMPLATE
    try:
        text = path.read_text()
    except OSError as exc:
        raise ProviderError(f"cannot read the cloud-init template {path}: {exc.strerror}") from None
    values = {
        "master_url": spec.master_url,
        "worker_id": spec.worker_id,
        "token": spec.token,
        "advertise_url": advertise_url or "",
        "pypes_bin": pypes_bin,
        "worker_port": str(worker_port),
    }

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ProviderError(f"cloud-init template {path}: unknown placeholder @{name}@")
        return shlex.quote(values[name])

    script = _PLACEHOLDER.sub(fill, text)
    if len(script.encode()) > USER_DATA_LIMIT:
        raise ProviderError(f"rendered user-data is over EC2's {USER_DATA_LIMIT} byte limit")
    return script
