"""``Publisher.fetch_metrics`` against the local fakes: realistic shapes, missing scopes (a status, not an
error), throttling (one retry honouring Retry-After, then ``RateLimited``), deleted posts; and the contract."""

from __future__ import annotations

import pytest
from fakes.instagram_server import InstagramFake
from fakes.publish_env import make_app
from fakes.tiktok_server import TikTokFake
from fakes.youtube_server import YouTubeFake

from core import accounts
from core.contracts import MetricsStatus, PostMetrics, Publisher, PublishResult
from plugins.publishers.http import RateLimited
from plugins.publishers.youtube import ANALYTICS_SCOPE


def connect(app, platform: str, fake, redirect: str = "http://127.0.0.1:9/callback") -> accounts.AccountHandle:
    pending = accounts.begin_connect(app, platform, redirect)
    url = fake.authorize(pending.url) + ("#_" if platform == "instagram" else "")
    return accounts.handle(app, accounts.finish_connect(app, pending, url).id)


# ------------------------------------------------------------------------------------------------- YouTube


@pytest.fixture
def yt():
    with YouTubeFake() as fake:
        fake.stats["vidA"] = {"views": 1234, "likes": 56, "comments": 7, "shares": 3,
                              "avg_view_seconds": 21.5, "avg_view_percent": 64.2}  # fmt: skip
        yield fake


def test_youtube_statistics_and_analytics(tmp_path, yt):
    app = make_app(tmp_path, {"youtube": yt.options()})
    pending = accounts.begin_connect(app, "youtube", "http://127.0.0.1:9/callback")
    assert "yt-analytics.readonly" in pending.url  # the scope is requested at connect
    account = connect(app, "youtube", yt)
    m = app.publisher("youtube").fetch_metrics("vidA", account)
    assert m.status == MetricsStatus.OK and not m.missing_scopes
    assert m.values == {"views": 1234, "likes": 56, "comments": 7, "shares": 3,
                        "avg_view_seconds": 21.5, "avg_view_percent": 64.2}  # fmt: skip
    assert m.requests == 2 and m.quota_units == 1


def test_youtube_missing_scopes_are_statuses(tmp_path, yt):
    app = make_app(tmp_path, {"youtube": yt.options()})
    account = connect(app, "youtube", yt)
    pub = app.publisher("youtube")
    yt.analytics_scope = False  # the user unticked the Analytics permission
    m = pub.fetch_metrics("vidA", account)
    assert m.status == MetricsStatus.OK and m.missing_scopes == [ANALYTICS_SCOPE]
    assert m.values == {"views": 1234, "likes": 56, "comments": 7}
    reports = yt.count("GET", "/ytanalytics/v2/reports")
    account.token["scope"] = "https://www.googleapis.com/auth/youtube.upload"  # granted scopes known: no call
    assert pub.fetch_metrics("vidA", account).missing_scopes == [ANALYTICS_SCOPE]
    assert yt.count("GET", "/ytanalytics/v2/reports") == reports
    yt.read_scope = False
    m = pub.fetch_metrics("vidA", account)
    assert m.status == MetricsStatus.MISSING_SCOPE and not m.values
    assert pub.fetch_metrics("gone", connect(app, "youtube", yt)).status == MetricsStatus.MISSING_SCOPE
    yt.read_scope = True
    assert pub.fetch_metrics("gone", account).status == MetricsStatus.NOT_FOUND


def test_youtube_throttling_retries_once_then_raises(tmp_path, yt):
    app = make_app(tmp_path, {"youtube": yt.options()})
    account = connect(app, "youtube", yt)
    pub = app.publisher("youtube")
    yt.throttle, calls = 1, yt.metrics_calls
    assert pub.fetch_metrics("vidA", account).values["views"] == 1234  # one 429, retried after Retry-After
    assert yt.metrics_calls - calls == 3
    yt.throttle, yt.retry_after = 5, "7"
    with pytest.raises(RateLimited) as err:
        pub.fetch_metrics("vidA", account)
    assert err.value.retry_after == 7


# -------------------------------------------------------------------------------------------------- TikTok

VIDEO = "7300000000000000001"


@pytest.fixture
def tt():
    with TikTokFake() as fake:
        fake.stats[VIDEO] = {"views": 900, "likes": 80, "comments": 12, "shares": 9}
        yield fake


def test_tiktok_video_query(tmp_path, tt):
    app = make_app(tmp_path, {"tiktok": tt.options()})
    pending = accounts.begin_connect(app, "tiktok", "http://127.0.0.1:9/callback")
    assert "video.list" in pending.url
    account = connect(app, "tiktok", tt)
    pub = app.publisher("tiktok")
    m = pub.fetch_metrics(VIDEO, account)
    assert m.status == MetricsStatus.OK and m.values == {"views": 900, "likes": 80, "comments": 12, "shares": 9}
    assert pub.fetch_metrics("7300000000000000999", account).status == MetricsStatus.NOT_FOUND
    draft = pub.fetch_metrics("v_inbox_file~v2.abc", account)  # a publish id: the video id is unknown
    assert draft.status == MetricsStatus.UNAVAILABLE and draft.requests == 0
    tt.throttle = 3
    with pytest.raises(RateLimited):
        pub.fetch_metrics(VIDEO, account)


def test_tiktok_without_video_list(tmp_path, tt):
    tt.granted = ["user.info.basic", "video.publish", "video.upload"]
    app = make_app(tmp_path, {"tiktok": tt.options()})
    account = connect(app, "tiktok", tt)
    pub = app.publisher("tiktok")
    m = pub.fetch_metrics(VIDEO, account)  # the token's scope says so: no request at all
    assert m.status == MetricsStatus.MISSING_SCOPE and m.missing_scopes == ["video.list"] and m.requests == 0
    account.token.pop("scope")
    m = pub.fetch_metrics(VIDEO, account)  # unknown grant: the platform's scope_not_authorized says so
    assert m.status == MetricsStatus.MISSING_SCOPE and m.requests == 1


# ----------------------------------------------------------------------------------------------- Instagram

MEDIA = "17900000000000042"


@pytest.fixture
def ig():
    with InstagramFake() as fake:
        fake.stats[MEDIA] = {"likes": 40, "comments": 5, "views": 2500, "reach": 1800, "saves": 11, "shares": 6,
                             "avg_view_seconds": 8.5}  # fmt: skip
        yield fake


def test_instagram_media_and_insights(tmp_path, ig):
    app = make_app(tmp_path, {"instagram": ig.options()})
    pending = accounts.begin_connect(app, "instagram", "https://clips.example.com/callback")
    assert "instagram_business_manage_insights" in pending.url
    account = connect(app, "instagram", ig, "https://clips.example.com/callback")
    pub = app.publisher("instagram")
    m = pub.fetch_metrics(MEDIA, account)
    assert m.status == MetricsStatus.OK and m.requests == 2
    assert m.values == {"likes": 40, "comments": 5, "views": 2500, "reach": 1800, "saves": 11, "shares": 6,
                        "avg_view_seconds": 8.5}  # fmt: skip
    ig.few_viewers = True
    m = pub.fetch_metrics(MEDIA, account)
    assert m.values == {"likes": 40, "comments": 5} and "Not enough viewers" in m.detail and not m.missing_scopes
    ig.few_viewers = False
    ig.stats[MEDIA].pop("avg_view_seconds")  # a metric with no data yet is left out, not reported as 0
    assert "avg_view_seconds" not in pub.fetch_metrics(MEDIA, account).values
    assert pub.fetch_metrics("17900000000000999", account).status == MetricsStatus.NOT_FOUND
    ig.throttle = 2
    with pytest.raises(RateLimited):
        pub.fetch_metrics(MEDIA, account)


def test_instagram_without_insights_permission(tmp_path, ig):
    ig.granted = ["instagram_business_basic", "instagram_business_content_publish"]
    app = make_app(tmp_path, {"instagram": ig.options()})
    account = connect(app, "instagram", ig, "https://clips.example.com/callback")
    pub = app.publisher("instagram")
    m = pub.fetch_metrics(MEDIA, account)
    assert m.status == MetricsStatus.OK and m.values == {"likes": 40, "comments": 5}
    assert m.missing_scopes == ["instagram_business_manage_insights"] and m.requests == 1
    account.token.pop("scope")
    m = pub.fetch_metrics(MEDIA, account)  # the platform's code 10 says so
    assert m.missing_scopes == ["instagram_business_manage_insights"] and m.requests == 2


# ------------------------------------------------------------------------------------------------ contract


def test_fetch_metrics_is_optional_in_the_contract(tmp_path):
    class Bare(Publisher):
        name = "bare"

        def preflight(self, request, account):
            return []

        def publish(self, request, account):
            return PublishResult(status="published", remote_id="x")

        def check_status(self, remote_id, account):
            return PublishResult(status="published", remote_id=remote_id)

    m = Bare().fetch_metrics("x", None)
    assert isinstance(m, PostMetrics) and m.status == MetricsStatus.UNSUPPORTED and not m.values
    app = make_app(tmp_path, {})
    for name in ("folder", "webhook"):
        assert app.publisher(name).fetch_metrics("x", None).status == MetricsStatus.UNSUPPORTED
