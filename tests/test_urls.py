"""URL safety checks: schemes, private/loopback/link-local/metadata hosts, the trusted-test switch."""

from __future__ import annotations

import socket

import pytest

from core.config import IngestSettings, Settings
from core.errors import InputError
from core.urls import check_url


@pytest.fixture
def strict() -> Settings:
    return Settings()


@pytest.fixture
def trusting() -> Settings:
    return Settings(ingest=IngestSettings(allow_private_addresses=True))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/passwd", "file:// URLs are refused"),
        ("FILE:///etc/passwd", "file:// URLs are refused"),
        ("ftp://example.com/video.mp4", "unsupported URL scheme 'ftp:'; only http:// and https://"),
        ("javascript:alert(1)", "unsupported URL scheme 'javascript:'"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "unsupported URL scheme 'gopher:'"),
        ("//example.com/video.mp4", "unsupported URL scheme '(none)'"),
        ("http://127.0.0.1/video.mp4", "the URL's host 127.0.0.1 is a loopback address"),
        ("http://localhost:8000/x", "the URL's host localhost (127.0.0.1) is a loopback address"),
        ("http://2130706433/", "the URL's host 2130706433 (127.0.0.1) is a loopback address"),
        ("http://[::1]/", "the URL's host ::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "is a loopback address"),
        ("http://10.1.2.3/", "the URL's host 10.1.2.3 is a private address"),
        ("http://192.168.0.10/", "is a private address"),
        ("http://169.254.10.20/", "is a link-local address"),
        ("http://224.0.0.1/", "is a multicast address"),
        ("http://0.0.0.0/", "is an unspecified address"),
        ("http://240.0.0.1/", "is a reserved address"),
        ("http://169.254.169.254/latest/meta-data/", "the URL's host 169.254.169.254 is the cloud metadata address"),
        ("http://[fd00:ec2::254]/latest/", "is the cloud metadata address fd00:ec2::254"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal, a cloud metadata"),
        ("http:///nohost", "has no host name"),
        ("http://no-such-host.invalid/v.mp4", "cannot resolve the host 'no-such-host.invalid'"),
        ("http://exa mple.com/", "whitespace or control characters"),
        ("", "the URL is empty"),
    ],
)
def test_refused(strict: Settings, url: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        check_url(url, strict)
    assert message in str(info.value)


def test_public_address_passes(strict: Settings) -> None:
    assert check_url("https://93.184.215.14/watch?v=1", strict) == "https://93.184.215.14/watch?v=1"
    assert check_url("http://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/", strict)


def test_host_resolving_to_private_address_is_refused(strict: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """A public-looking name is judged by what it resolves to (DNS pointing at internal hosts)."""

    def fake_getaddrinfo(host: str, port: int, **kw: object) -> list[tuple]:
        assert host == "videos.example.org"
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(InputError, match=r"videos\.example\.org \(10\.0\.0\.7\) is a private address"):
        check_url("https://videos.example.org/v/1", strict)


def test_private_addresses_allowed_for_trusted_setups_but_never_metadata_or_files(trusting: Settings) -> None:
    assert check_url("http://127.0.0.1:8080/v.mp4", trusting)
    assert check_url("http://10.0.0.2/v.mp4", trusting)
    with pytest.raises(InputError, match="cloud metadata address"):
        check_url("http://169.254.169.254/latest/meta-data/", trusting)
    with pytest.raises(InputError, match="cloud metadata"):
        check_url("http://metadata.google.internal/", trusting)
    with pytest.raises(InputError, match="file:// URLs are refused"):
        check_url("file:///etc/passwd", trusting)


def test_url_ingest_can_be_switched_off() -> None:
    settings = Settings(ingest=IngestSettings(allow_urls=False))
    with pytest.raises(InputError, match=r"URL ingest is disabled on this installation \(ingest.allow_urls is false\)"):
        check_url("https://93.184.215.14/v.mp4", settings)
