"""The official Lemon Squeezy JavaScript SDK (@lemonsqueezy/lemonsqueezy.js 4.0.0, pinned in
sdk/package.json) driven against shopkeep in Node, the way an app using it would. Skipped, saying
why, where Node or the SDK is not installed (`npm ci --prefix tests/doors/license_api/sdk`)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from core import demo
from tests.doors.license_api.conftest import LicenseServer

SDK = Path(__file__).resolve().parent / "sdk"
NODE = shutil.which("node")


@pytest.fixture
def node() -> str:
    if NODE is None:
        pytest.skip("Node.js is not installed (apt-get install nodejs npm)")
    if not (SDK / "node_modules" / "@lemonsqueezy" / "lemonsqueezy.js").is_dir():
        pytest.skip("the SDK is not installed: npm ci --prefix tests/doors/license_api/sdk")
    return NODE


async def test_the_official_sdk_activates_validates_and_deactivates(node: str,
                                                                  server: LicenseServer) -> None:
    key = await server.key(demo.DEMO_CUSTOMER, "pixel-studio")
    process = await asyncio.create_subprocess_exec(
        node, "app.mjs", server.url, key, cwd=SDK,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    steps = {step["step"]: step for step in json.loads(out)}

    activated = steps["activate"]
    assert (activated["statusCode"], activated["error"]) == (200, None)
    assert activated["data"]["activated"] is True and activated["data"]["license_key"]["key"] == key
    instance_id = activated["data"]["instance"]["id"]
    assert (await server.device(instance_id)).name == "Node app"

    validated = steps["validate"]
    assert (validated["statusCode"], validated["data"]["valid"]) == (200, True)
    assert validated["data"]["instance"]["id"] == instance_id
    alone = steps["validate the key alone"]
    assert (alone["statusCode"], alone["data"]["valid"], alone["data"]["instance"]) == (200, True, None)

    deactivated = steps["deactivate"]
    assert (deactivated["statusCode"], deactivated["data"]["deactivated"]) == (200, True)
    assert not (await server.device(instance_id)).active

    gone = steps["validate after deactivating"]
    assert gone["statusCode"] == 404 and gone["data"]["valid"] is False
    assert gone["error"] == "instance_id not found."
    unknown = steps["an unknown key"]
    assert (unknown["statusCode"], unknown["data"], unknown["error"]) == (
        404, {"valid": False, "error": "license_key not found."}, "license_key not found.")
