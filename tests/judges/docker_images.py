"""The local judge image of the Docker tests, built without any registry.

``podium-judge-test:host`` is ``docker import`` of an empty tarball: an image with no files at
all. Its boxes get the host's toolchain (:data:`judges.sandbox.docker.HOST_TOOLCHAIN`) and the
host's runguard bound read-only, so the tests compile and run with whatever this machine has
(gcc, python3), in a container hardened exactly as in production.

    python -m tests.judges.docker_images     # build it (a no-op when it exists)
"""

from __future__ import annotations

import io
import os
import tarfile
from contextlib import AbstractAsyncContextManager
from typing import Any

from judges.sandbox.base import Box
from judges.sandbox.docker import DockerSandbox, host_toolchain_sandbox

__all__ = ["HostToolchainImage", "TEST_IMAGE", "TEST_IMAGE_LABEL", "docker_unavailable_reason", "ensure_test_image",
           "test_sandbox"]

TEST_IMAGE = "podium-judge-test:host"
TEST_IMAGE_LABEL = "org.podium.test-image"


def docker_unavailable_reason() -> str | None:
    """Why the Docker tests cannot run here (None: they can). Only an unreachable engine (or
    ``PODIUM_TEST_DOCKER=unavailable``, what scripts/provision.sh reports) is a reason."""
    if os.environ.get("PODIUM_TEST_DOCKER") == "unavailable":
        return "PODIUM_TEST_DOCKER=unavailable (scripts/provision.sh could not start dockerd)"
    import docker

    try:
        client = docker.from_env(timeout=10)
    except docker.errors.DockerException as exc:
        return f"no Docker engine configured: {exc}"
    try:
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
        return f"the Docker engine is unreachable at {where}: {exc}"
    finally:
        client.close()
    return None


def _empty_tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w"):
        pass
    return buffer.getvalue()


def ensure_test_image(client: Any) -> str:
    """Import the empty test image unless the engine has it; its name."""
    import docker.errors

    try:
        client.api.inspect_image(TEST_IMAGE)
    except docker.errors.ImageNotFound:
        repository, tag = TEST_IMAGE.split(":")
        client.api.import_image_from_data(
            _empty_tarball(), repository=repository, tag=tag,
            changes=[f"LABEL {TEST_IMAGE_LABEL}=1"])
        client.api.inspect_image(TEST_IMAGE)
    return TEST_IMAGE


class HostToolchainImage:
    """The Docker test sandbox with every language's image replaced by the test image, whose
    boxes get the host's toolchain (the production judge images are not built here). Boxes are
    otherwise exactly the production ones."""

    name = "docker"

    def __init__(self, sandbox: DockerSandbox) -> None:
        self.sandbox = sandbox

    async def check(self) -> None:
        await self.sandbox.check()

    def box(self, *, image: str | None = None) -> AbstractAsyncContextManager[Box]:
        return self.sandbox.box()


def test_sandbox(**options: Any) -> DockerSandbox:
    """A Docker sandbox whose boxes are the test image with the host's toolchain."""
    return host_toolchain_sandbox(TEST_IMAGE, **options)


test_sandbox.__test__ = False  # type: ignore[attr-defined]  # not a test for pytest


if __name__ == "__main__":
    import docker

    engine = docker.from_env()
    try:
        print(ensure_test_image(engine))
    finally:
        engine.close()
