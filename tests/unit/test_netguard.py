"""SSRF guard: every spelling of a forbidden address is refused, and only the two settings bypass it."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from media.netguard import blocked_reason, check_url, parse_ip, redact
from schemas.errors import ErrorCode, JobError
from schemas.settings import Settings


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"allow_private_sources": False, "allowed_source_hosts": []}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def resolver_for(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    calls: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        calls.append(host)
        return table.get(host, [])

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


PUBLIC = resolver_for({"cdn.example.com": ["93.184.216.34"]})


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.png",
        "http://127.0.0.1:8080/a.png",
        "http://[::1]/a.png",
        "http://0x7f000001/a.png",
        "http://2130706433/a.png",
        "http://0177.0.0.1/a.png",
        "http://127.1/a.png",
        "http://0/a.png",
        "http://0.0.0.0/a.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://240.0.0.1/",
        "http://[fe80::1]/",
        "http://[fc00::1]/",
        "http://[ff02::1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a00:1]/",
        "http://[64:ff9b:1::a00:1]/",
        "http://[2002:7f00:1::1]/",
        "http://[2001::7f00:1]/",
        "http://[fec0::1]/",
        "http://[::7f00:1]/",
    ],
)
async def test_forbidden_addresses_are_refused(url: str) -> None:
    with pytest.raises(JobError) as caught:
        await check_url(url, settings(), "logo", resolver=PUBLIC)
    assert caught.value.code == ErrorCode.INVALID_INPUT
    assert caught.value.message.startswith("logo: ")


@pytest.mark.parametrize(
    "answers",
    [["10.0.0.1"], ["127.0.0.1"], ["::1"], ["169.254.169.254"], ["93.184.216.34", "10.0.0.1"]],
)
async def test_names_resolving_to_private_addresses_are_refused(answers: list[str]) -> None:
    resolver = resolver_for({"files.example.com": answers})
    with pytest.raises(JobError) as caught:
        await check_url("https://files.example.com/v.mp4", settings(), "clip", resolver=resolver)
    assert caught.value.code == ErrorCode.INVALID_INPUT
    assert "clip" in caught.value.message and "files.example.com" in caught.value.message


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "ftp://h.example/a", "gopher://h.example/", "data:text/plain,hi", "/etc/passwd"],
)
async def test_other_schemes_are_refused(url: str) -> None:
    with pytest.raises(JobError) as caught:
        await check_url(url, settings(), "bg", resolver=PUBLIC)
    assert caught.value.code == ErrorCode.INVALID_INPUT
    assert "scheme" in caught.value.message


async def test_public_host_passes_and_pins_the_checked_address() -> None:
    url = "https://cdn.example.com/logo.png?sig=secret"
    target = await check_url(url, settings(), "logo", resolver=PUBLIC)
    assert str(target.address) == "93.184.216.34"
    async with httpx.AsyncClient() as client:
        request = target.request(client, "GET")
    assert request.url.host == "93.184.216.34"
    assert request.headers["Host"] == "cdn.example.com"
    assert request.extensions["sni_hostname"] == "cdn.example.com"


async def test_non_default_port_is_kept_in_host_header() -> None:
    target = await check_url("http://cdn.example.com:8080/a", settings(), "logo", resolver=PUBLIC)
    async with httpx.AsyncClient() as client:
        request = target.request(client, "GET")
    assert request.headers["Host"] == "cdn.example.com:8080"
    assert request.url.port == 8080


async def test_allow_private_sources_bypasses_but_not_for_metadata() -> None:
    allowed = settings(allow_private_sources=True)
    assert str((await check_url("http://127.0.0.1:1/", allowed, "x", resolver=PUBLIC)).address) == "127.0.0.1"
    with pytest.raises(JobError):
        await check_url("http://169.254.169.254/", allowed, "x", resolver=PUBLIC)


async def test_allowed_source_hosts_bypass_only_that_host() -> None:
    resolver = resolver_for({"media.internal": ["10.0.0.7"], "other.internal": ["10.0.0.8"]})
    allowed = settings(allowed_source_hosts="media.internal")
    target = await check_url("http://media.internal/a.png", allowed, "x", resolver=resolver)
    assert str(target.address) == "10.0.0.7"
    with pytest.raises(JobError):
        await check_url("http://other.internal/a.png", allowed, "x", resolver=resolver)


async def test_unresolvable_host_is_a_download_failure() -> None:
    with pytest.raises(JobError) as caught:
        await check_url("http://nowhere.example.com/", settings(), "x", resolver=PUBLIC)
    assert caught.value.code == ErrorCode.SOURCE_DOWNLOAD_FAILED


async def test_slow_dns_is_a_network_timeout() -> None:
    async def hang(host: str, port: int) -> list[str]:
        await asyncio.Event().wait()
        return []

    with pytest.raises(JobError) as caught:
        await check_url("http://slow.example.com/", settings(network_timeout=0.05), "x", resolver=hang)
    assert caught.value.code == ErrorCode.NETWORK_TIMEOUT


async def test_idn_host_is_resolved_and_sent_in_idna_form() -> None:
    resolver = resolver_for({"xn--bcher-kva.example": ["93.184.216.34"]})
    target = await check_url("https://bücher.example/a.png", settings(), "x", resolver=resolver)
    async with httpx.AsyncClient() as client:
        request = target.request(client, "GET")
    assert request.headers["Host"] == "xn--bcher-kva.example"
    assert request.extensions["sni_hostname"] == "xn--bcher-kva.example"


async def test_credentials_in_url_are_refused_and_not_echoed() -> None:
    with pytest.raises(JobError) as caught:
        await check_url("http://user:hunter2@cdn.example.com/a", settings(), "x", resolver=PUBLIC)
    assert "hunter2" not in caught.value.message


def test_legacy_ipv4_spellings() -> None:
    for spelling in ("2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0x7f.1", "127.0.0.1."):
        assert str(parse_ip(spelling)) == "127.0.0.1", spelling
    assert parse_ip("example.com") is None
    assert parse_ip("1e3") is None
    for bad in ("08.0.0.1", "4294967296", "256.1.1.1", "0x"):
        with pytest.raises(ValueError):
            parse_ip(bad)


def test_blocked_reason_names_the_kind() -> None:
    import ipaddress

    assert blocked_reason(ipaddress.ip_address("169.254.169.254")) == "a cloud metadata address"
    assert blocked_reason(ipaddress.ip_address("::ffff:10.1.2.3")) == "a private address"
    for public in ("2606:4700::1", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"):
        assert blocked_reason(ipaddress.ip_address(public)) is None, public


def test_redact_drops_secrets() -> None:
    url = "https://u:p@bucket.s3.amazonaws.com/k.mp4?X-Amz-Signature=abc&X-Amz-Credential=def#frag"
    assert redact(url) == "https://bucket.s3.amazonaws.com/k.mp4"


async def test_httpx_request_logs_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    caplog.set_level("INFO", logger="httpx")
    async with httpx.AsyncClient(transport=transport) as client:
        await client.get("https://cdn.example.com/a.mp4?X-Amz-Signature=topsecret")
    assert "cdn.example.com/a.mp4" in caplog.text and "topsecret" not in caplog.text
