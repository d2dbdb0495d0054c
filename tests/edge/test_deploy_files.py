"""compose.yaml, the Caddyfile and the Dockerfile agree with each other and with Circle's own
flags. (No Docker daemon runs where the tests do, so the files are checked by parsing: each
Circle service's environment, with deploy/example.env filled in, goes through `circle serve`'s
own parser.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bench.harness import ROOT
from server.cli import build_parser
from server.config import Settings, settings_from_args

pytestmark = pytest.mark.unit

VARIABLE = re.compile(r"\$\{(\w+)(?::\?[^}]*)?\}")


def example_env() -> dict[str, str]:
    lines = (ROOT / "deploy" / "example.env").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {name: value for name, value in pairs}


def filled(value: Any, env: dict[str, str]) -> Any:
    """compose's ${VAR} and ${VAR:?message} substitution, over the whole document."""
    if isinstance(value, str):
        return VARIABLE.sub(lambda m: env[m.group(1)], value)
    if isinstance(value, list):
        return [filled(v, env) for v in value]
    if isinstance(value, dict):
        return {k: filled(v, env) for k, v in value.items()}
    return value


@pytest.fixture
def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return dict(filled(document, example_env()))


def circle_settings(
    service: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Settings:
    """What `circle serve` makes of the service's environment."""
    for name, value in service["environment"].items():
        monkeypatch.setenv(name, str(value))
    monkeypatch.setenv("CIRCLE_DATA_DIR", str(tmp_path))
    return settings_from_args(build_parser().parse_args(["serve"]))


def test_services_and_their_shared_secrets_agree(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services = compose["services"]
    assert set(services) == {"circle1", "circle2", "redis", "coturn", "caddy"}
    redis = services["redis"]
    assert redis["command"][:3] == ["redis-server", "--appendonly", "yes"]
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
    arguments = services["coturn"]["command"]
    coturn = dict(arg.removeprefix("--").partition("=")[::2] for arg in arguments)
    assert "use-auth-secret" in coturn and coturn["realm"]
    caddy_ip = services["caddy"]["networks"]["circle"]["ipv4_address"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    env = example_env()
    ranges = []
    for name, host_variable in (("circle1", "CIRCLE_NODE1_HOST"), ("circle2", "CIRCLE_NODE2_HOST")):
        settings = circle_settings(services[name], monkeypatch, tmp_path)
        assert settings.redis_url == "redis://redis:6379/0"
        assert settings.media.turn is not None
        assert settings.media.turn.secret == coturn["static-auth-secret"] == env["TURN_SECRET"]
        assert all(env["TURN_HOST"] in url for url in settings.media.turn.urls)
        assert settings.secret == env["CIRCLE_SECRET"]  # the same on both: links work on both
        assert settings.trusted_proxies == (caddy_ip,)
        # the node's own name, routed by Caddy to this node
        assert urlsplit(settings.public_url or "").hostname == env[host_variable]
        assert f"{{${host_variable}}} {{\n\treverse_proxy {name}:8080" in caddyfile
        assert services["caddy"]["environment"][host_variable] == env[host_variable]
        first, last = settings.media.ice_port_range or (0, 0)
        assert services[name]["ports"] == [f"{first}-{last}:{first}-{last}/udp"]
        ranges.append(range(first, last + 1))
    assert not set(ranges[0]) & set(ranges[1])
    relay = range(int(coturn["min-port"]), int(coturn["max-port"]) + 1)
    assert not set(relay) & (set(ranges[0]) | set(ranges[1]))


def test_dockerfile_runs_circle_serve_as_a_non_root_user() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert "FROM python:3.11-slim" in lines
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert lines[-2:] == ['ENTRYPOINT ["circle"]', 'CMD ["serve"]']
