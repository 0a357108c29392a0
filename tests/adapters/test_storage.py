"""The storage adapter: the same cases on local disk and on S3 (a local moto_server)."""

from __future__ import annotations

import io
import os
from urllib.parse import urlsplit

import pytest

from backend_app.adapters.storage import (
    LocalStorage,
    ObjectNotFound,
    StorageError,
    UploadTooLarge,
    get_storage,
    sign_token,
    validate_key,
)
from tests.factories import make_user
from tests.uploading import send

pytestmark = pytest.mark.sqlite_only  # the database is beside the point here


def waiting_key() -> str:
    """The source key of an analysis waiting for its bytes: the only key a signed upload link writes."""
    from backend_app.extensions import db
    from backend_app.models import Analysis
    from backend_app.services import sessions
    from backend_app.services.video import uploads
    from backend_app.tenancy import Tenant

    tenant = Tenant(make_user().id)
    ticket = uploads.init(
        tenant,
        filename="clip.mp4",
        content_type="video/mp4",
        file_size=11,
        session_id=sessions.create(tenant, "uploads").id,
    )
    return db.session.get(Analysis, ticket["analysis_id"]).storage_key


@pytest.fixture(params=["local", "s3"])
def storage(request, app):
    if request.param == "s3":
        request.getfixturevalue("s3_app")
    with app.test_request_context():
        yield get_storage()


def test_round_trip_of_bytes_files_and_streams(storage, tmp_path):
    source = tmp_path / "in.bin"
    source.write_bytes(os.urandom(3 << 20))
    storage.put_bytes("users/u1/a/one.jpg", b"\xff\xd8jpeg", "image/jpeg")
    storage.put_file("users/u1/a/two.bin", source)
    written = storage.put_stream("users/u1/a/three.bin", io.BytesIO(b"x" * 5000), max_bytes=5000)

    assert written == 5000
    assert storage.size("users/u1/a/one.jpg") == 6
    assert storage.size("users/u1/a/two.bin") == 3 << 20
    assert storage.read_head("users/u1/a/one.jpg", 2) == b"\xff\xd8"
    chunks = list(storage.iter_chunks("users/u1/a/two.bin", chunk_size=1 << 20))
    assert len(chunks) >= 3 and b"".join(chunks) == source.read_bytes()
    out = tmp_path / "out.bin"
    storage.download_to("users/u1/a/two.bin", out)
    assert out.read_bytes() == source.read_bytes()
    assert sorted(storage.list_keys("users/u1/")) == [
        "users/u1/a/one.jpg",
        "users/u1/a/three.bin",
        "users/u1/a/two.bin",
    ]


def test_overwrite_replaces_the_object(storage):
    storage.put_bytes("users/u1/k", b"first version")
    storage.put_bytes("users/u1/k", b"second")
    assert b"".join(storage.iter_chunks("users/u1/k")) == b"second"


def test_empty_object_has_size_zero_and_empty_head(storage):
    storage.put_bytes("users/u1/empty", b"")
    assert storage.size("users/u1/empty") == 0
    assert storage.read_head("users/u1/empty", 16) == b""


def test_delete_prefix_stays_inside_its_prefix(storage):
    for key in ("users/1/a", "users/1/b/c", "users/10/a", "users/2/x"):
        storage.put_bytes(key, b"data")
    assert storage.delete_prefix("users/1/") == 2
    assert list(storage.list_keys("users/1/")) == []
    assert list(storage.list_keys("users/10/")) == ["users/10/a"]
    storage.delete("users/10/a")
    storage.delete("users/10/a")  # deleting twice is fine
    assert storage.size("users/10/a") is None
    assert storage.delete_prefix("users/nobody/") == 0


def test_missing_objects_have_codes(storage, tmp_path):
    target = tmp_path / "downloads"
    target.mkdir()
    assert storage.size("users/u1/none") is None
    with pytest.raises(ObjectNotFound):
        storage.read_head("users/u1/none", 4)
    with pytest.raises(ObjectNotFound):
        list(storage.iter_chunks("users/u1/none"))
    with pytest.raises(StorageError) as caught:
        storage.download_to("users/u1/none", target / "out")
    assert caught.value.code == "STORAGE_DOWNLOAD_FAILED"
    assert list(target.iterdir()) == []  # no partial or temp file left behind


def test_stream_larger_than_its_limit_is_refused_and_not_stored(storage):
    with pytest.raises(UploadTooLarge):
        storage.put_stream("users/u1/big", io.BytesIO(b"x" * 10_000), max_bytes=1000)
    assert storage.size("users/u1/big") is None


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "users/../../x", "users/./x", "users//x", "users/.tmp-x", "users\\x", "users/x/"]
)
def test_bad_keys_are_refused(storage, key):
    with pytest.raises(ValueError):
        storage.put_bytes(key, b"x")


def test_presigned_put_then_get(storage, client):
    key = waiting_key()
    url, headers = storage.presign_put(key, "video/mp4", 60, size=11)
    status, _, _ = send(client, "PUT", url, data=b"hello video", headers=headers)
    assert status in (200, 201)
    assert storage.size(key) == 11
    status, body, response_headers = send(client, "GET", storage.presign_get(key, 60, filename="clip.mp4"))
    assert status == 200 and body == b"hello video"
    assert "clip.mp4" in response_headers["Content-Disposition"]


# --- the local backend's own signed links ------------------------------------------------


@pytest.fixture
def local(app):
    with app.test_request_context():
        storage = get_storage()
        assert isinstance(storage, LocalStorage)
        yield storage


def _path(url: str) -> str:
    return urlsplit(url).path


def test_local_writes_are_atomic_and_leave_no_temp_files(local):
    local.put_bytes("users/u1/a/file", b"x" * 1000)
    with pytest.raises(UploadTooLarge):
        local.put_stream("users/u1/a/other", io.BytesIO(b"y" * 5000), max_bytes=10)
    folder = local.path_for("users/u1/a/file").parent
    assert sorted(p.name for p in folder.iterdir()) == ["file"]


def test_keys_cannot_escape_the_root(local):
    with pytest.raises(ValueError):
        local.path_for("../outside")
    assert validate_key("users/u/analyses/a/source") == "users/u/analyses/a/source"


def test_tampered_signature_is_refused(local, client):
    url, headers = local.presign_put("users/u1/src", "video/mp4", 60, size=3)
    path = _path(url)
    tampered = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    response = client.put(tampered, data=b"abc", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "SIGNATURE_INVALID"
    assert local.size("users/u1/src") is None


def test_token_for_another_key_cannot_be_forged_with_a_wrong_secret(local, client):
    forged = sign_token("not-the-secret", {"k": "users/victim/src", "m": "GET"}, 60)
    response = client.get(f"/api/v1/storage/{forged}")
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "SIGNATURE_INVALID"


def test_expired_links_are_refused(local, client):
    local.put_bytes("users/u1/src", b"abc")
    response = client.get(_path(local.presign_get("users/u1/src", 0)))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "SIGNATURE_EXPIRED"
    url, headers = local.presign_put("users/u1/new", "video/mp4", 0, size=3)
    response = client.put(_path(url), data=b"abc", headers=headers)
    assert response.get_json()["error"]["code"] == "SIGNATURE_EXPIRED"


def test_a_download_link_is_not_an_upload_link(local, client):
    local.put_bytes("users/u1/src", b"abc")
    response = client.put(_path(local.presign_get("users/u1/src", 60)), data=b"evil")
    assert response.status_code == 403
    assert b"".join(local.iter_chunks("users/u1/src")) == b"abc"


def test_upload_enforces_the_declared_size(local, client):
    key = waiting_key()
    url, headers = local.presign_put(key, "video/mp4", 60, size=5)
    response = client.put(_path(url), data=b"123456", headers=headers)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "UPLOAD_TOO_LARGE"
    response = client.put(_path(url), data=b"123", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "UPLOAD_SIZE_MISMATCH"
    assert local.size(key) is None


def test_upload_over_the_json_body_limit_is_accepted(app, local, client):
    """The signed PUT is a large-body view: the 1 MB JSON cap does not apply to it."""
    key = waiting_key()
    size = app.config["SETTINGS"].max_json_bytes + 1000
    url, headers = local.presign_put(key, "video/mp4", 60, size=size)
    response = client.put(_path(url), data=b"z" * size, headers=headers)
    assert response.status_code == 201
    assert local.size(key) == size


def test_backend_follows_the_settings(app, s3_app):
    with app.test_request_context():
        assert get_storage().name == "s3"
        app.config["SETTINGS"] = app.config["SETTINGS"].replace(storage_backend="local")
        assert get_storage().name == "local"


def test_signed_download_supports_ranges_for_video_seeking(local, client):
    local.put_bytes("users/u1/src", bytes(range(256)) * 4)
    response = client.get(_path(local.presign_get("users/u1/src", 60)), headers={"Range": "bytes=10-19"})
    assert response.status_code == 206
    assert response.get_data() == bytes(range(10, 20))
    assert "attachment" not in response.headers.get("Content-Disposition", "")


@pytest.mark.settings(max_upload_bytes=100)
def test_upload_link_without_a_declared_size_is_capped_by_the_upload_limit(local, client):
    key = waiting_key()
    url, headers = local.presign_put(key, "video/mp4", 60)
    response = client.put(_path(url), data=b"x" * 101, headers=headers)
    assert response.status_code == 413
    assert local.size(key) is None
    assert client.put(_path(url), data=b"x" * 100, headers=headers).status_code == 201


def test_development_bucket_is_created_and_allows_browser_uploads(app, s3_app):
    storage = get_storage()
    rules = storage.client.get_bucket_cors(Bucket=storage.bucket)["CORSRules"]
    assert "PUT" in rules[0]["AllowedMethods"]
    assert storage.healthcheck()["ok"] is True


def test_presigned_urls_use_the_public_endpoint_when_set(app, s3_app):
    app.config["SETTINGS"] = app.config["SETTINGS"].replace(s3_public_endpoint_url="http://files.example.test:9000")
    storage = get_storage()
    url, _ = storage.presign_put("users/u1/src", "video/mp4", 60, size=3)
    assert url.startswith("http://files.example.test:9000/")
    assert storage.presign_get("users/u1/src", 60).startswith("http://files.example.test:9000/")
    storage.put_bytes("users/u1/src", b"abc")  # the app itself still talks to the internal endpoint
    assert storage.size("users/u1/src") == 3
