"""Bad requests get a clear 4xx with the common error body, never a 500, and lose nothing."""

from __future__ import annotations

import socket
import time
from select import select as readable

import pytest
from api_support import ThreadedServer, client, error_of, make_user, seed
from sqlmodel import select

from core.models import Video


@pytest.fixture
def api(app):
    return client(app)


@pytest.fixture
def alice(app):
    return make_user(app, "alice@example.com")


def test_wrong_content_type_is_415(api, alice):
    r = api.post("/api/videos", content=b"hello", headers={**alice.headers, "Content-Type": "text/plain"})
    assert r.status_code == 415
    err = error_of(r)
    assert err["code"] == "unsupported_media_type" and "multipart/form-data" in err["detail"]["hint"]


def test_malformed_json_is_400(api, alice):
    for path in ("/api/videos", "/api/tokens", "/api/schedules"):
        r = api.post(path, content=b'{"url": ', headers={**alice.headers, "Content-Type": "application/json"})
        assert r.status_code == 400, (path, r.text)
        assert "not valid JSON" in error_of(r)["message"]


def test_unknown_fields_are_refused_by_name(app, api, alice):
    ids = seed(app, alice.id)
    r = api.post("/api/tokens", json={"name": "x", "nmae": "typo"}, headers=alice.headers)
    assert r.status_code == 422 and "nmae" in error_of(r)["message"]
    r = api.patch(f"/api/clips/{ids['clip']}", json={"titel": "typo"}, headers=alice.headers)
    assert r.status_code == 422 and "titel" in error_of(r)["message"]
    r = api.post("/api/videos", json={"url": "https://example.com/v", "colour": 1}, headers=alice.headers)
    assert r.status_code == 422 and "colour" in error_of(r)["message"]
    # An unknown key is the client's own text: no NUL and no essay comes back in the answer.
    r = api.patch(f"/api/clips/{ids['clip']}", json={"ti\x00tel": 1, "k" * 5000: 1}, headers=alice.headers)
    message = error_of(r)["message"]
    assert r.status_code == 422 and "ti?tel" in message and "\x00" not in message and len(message) < 500


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/video.mp4", "loopback"),
        ("http://10.1.2.3/video.mp4", "private"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("file:///etc/passwd", "file"),
        ("ftp://example.com/x.mp4", "ftp"),
    ],
)
def test_hostile_urls_are_400_with_the_reason_and_store_nothing(app, api, alice, url, why):
    r = api.post("/api/videos", json={"url": url}, headers=alice.headers)
    assert r.status_code == 400, r.text
    assert why in error_of(r)["message"]
    with app.session() as s:
        assert s.exec(select(Video)).all() == []


def test_huge_pagination_values_are_4xx(api, alice):
    for query in ("limit=1000000000000", "limit=5000", "offset=-1", "limit=0", "offset=99999999999999999999"):
        r = api.get(f"/api/videos?{query}", headers=alice.headers)
        assert r.status_code == 422, (query, r.text)
        assert error_of(r)["code"] == "validation_error"
    r = api.get("/api/videos?limit=5000", headers=alice.headers)
    assert "maximum page size 200" in error_of(r)["message"]
    assert api.get("/api/videos?limit=200&offset=1000000", headers=alice.headers).json()["items"] == []


def test_invalid_ids_filters_and_enum_values_are_422(api, alice):
    assert api.get("/api/clips/abc", headers=alice.headers).status_code == 422
    assert api.get("/api/clips?status=famous", headers=alice.headers).status_code == 422
    assert api.get("/api/clips?min_score=101", headers=alice.headers).status_code == 422
    assert api.get("/api/clips/99999999999999999999999", headers=alice.headers).status_code == 422
    assert api.get("/api/jobs/999999", headers=alice.headers).status_code == 404


def test_bad_schedule_and_trim_values_are_explained(app, api, alice):
    ids = seed(app, alice.id)
    r = api.post("/api/schedules", json={"account_id": ids["account"], "cron": "61 * * * *"}, headers=alice.headers)
    assert r.status_code == 400 and "invalid cron expression" in error_of(r)["message"]
    r = api.post("/api/schedules", json={"account_id": ids["account"], "cron": "0 9 * * *", "timezone": "Mars/Base"},
                 headers=alice.headers)  # fmt: skip
    assert r.status_code == 400 and "unknown time zone" in error_of(r)["message"]
    r = api.patch(f"/api/clips/{ids['clip']}", json={"start": 10, "end": 9.5}, headers=alice.headers)
    assert r.status_code == 400 and "long" in error_of(r)["message"]
    r = api.patch(f"/api/clips/{ids['clip']}", json={"end": 500}, headers=alice.headers)
    assert r.status_code == 400 and "past the end of the video" in error_of(r)["message"]


def test_unsupported_upload_content_is_400_and_stores_nothing(app, api, alice):
    files = {"file": ("notes.mp4", b"just some text, not a video\n" * 50, "video/mp4")}
    r = api.post("/api/videos", files=files, data={"analyze": "false"}, headers=alice.headers)
    assert r.status_code == 400, r.text
    assert error_of(r)["code"] == "invalid_input"
    r = api.post("/api/videos", files={"other": ("a.mp4", b"x", "video/mp4")}, headers=alice.headers)
    assert r.status_code == 400 and "`file`" in error_of(r)["message"]
    with app.session() as s:
        assert s.exec(select(Video)).all() == []


def _read_response(sock: socket.socket, timeout: float = 10) -> bytes:
    """Status line, headers and (Content-Length) body of one response."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def test_oversized_upload_is_413_before_the_body_is_read(app, alice):
    app.settings.api.max_upload_mb = 1
    with ThreadedServer(app) as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        head = (
            "POST /api/videos HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {alice.token}\r\n"
            "Content-Type: multipart/form-data; boundary=XYZ\r\n"
            f"Content-Length: {10 * 1024**3}\r\n\r\n"
        )
        sock.sendall(head.encode() + b"--XYZ\r\n")  # 10 GB announced, a few bytes sent
        started = time.monotonic()
        answer = _read_response(sock)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"larger than the limit of 1 MB" in answer
    assert time.monotonic() - started < 5


def test_chunked_upload_is_cut_off_at_the_limit(app, alice):
    app.settings.api.max_upload_mb = 1
    with ThreadedServer(app) as server, socket.create_connection(("127.0.0.1", server.port)) as sock:
        head = (
            "POST /api/videos HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {alice.token}\r\n"
            "Content-Type: multipart/form-data; boundary=XYZ\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
            '--XYZ\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        )
        body = head.encode()
        sock.sendall(body[: body.index(b"\r\n\r\n") + 4])
        first = body[body.index(b"\r\n\r\n") + 4 :]
        sock.sendall(f"{len(first):x}\r\n".encode() + first + b"\r\n")
        sent = 0
        chunk = b"\0" * 65536
        try:
            while sent < 64 * 1024 * 1024:  # the server must answer long before 64 MB
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
                if readable([sock], [], [], 0)[0]:
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _read_response(sock)
        sock.settimeout(5)
        try:  # and then close the connection instead of reading the rest
            sock.sendall(b"0" * 8 * 1024 * 1024)
            closed = sock.recv(1) == b""
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    assert closed
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]
    assert sent < 16 * 1024 * 1024, f"{sent} bytes went out before the server refused"


def test_upload_over_the_cap_through_the_client_is_413(app, api, alice, talk_video):
    app.settings.api.max_upload_mb = 1
    api = client(app)
    with open(talk_video, "rb") as f:
        r = api.post("/api/videos", files={"file": ("talk.mp4", f, "video/mp4")}, headers=alice.headers)
    assert r.status_code == 413 and error_of(r)["code"] == "payload_too_large"
    with app.session() as s:
        assert s.exec(select(Video)).all() == []


def test_large_json_bodies_are_refused(api, alice):
    r = api.post("/api/tokens", content=b'{"name": "' + b"x" * 2_000_000 + b'"}',
                 headers={**alice.headers, "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 413


def test_a_json_body_on_the_upload_path_is_small(api, alice):
    body = b'{"url": "https://example.com/' + b"a" * 100_000 + b'"}'
    r = api.post("/api/videos", content=body, headers={**alice.headers, "Content-Type": "application/json"})
    assert r.status_code == 413 and "at most 64 KB" in error_of(r)["message"]


def test_style_and_brand_must_be_preset_names_not_paths(app, api) -> None:  # type: ignore[no-untyped-def]
    """The CLI accepts YAML paths for styles and brands; over HTTP that would read the server's files."""
    from api_support import make_user

    user = make_user(app, "paths@example.com")
    for field, value in (("caption_style", "/etc/clipcast/secret.yaml"), ("brand", "../brands/x")):
        r = api.post("/api/videos/1/render", json={field: value}, headers=user.headers)
        assert r.status_code == 422, r.text
        assert field in r.text
