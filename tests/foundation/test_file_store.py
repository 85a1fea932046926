"""The two file stores keep the same promises, whatever the file (a photo, a signature, a logo, an invoice or a
report PDF, an export): a file comes back as it was put, streamed or whole; a missing one says so; keys outside a
company's folder are refused; a company's files are listed, and go, with one prefix. The S3 store talks HTTP to a
local S3-compatible server (moto's), as it would to a bucket."""
import uuid

import pytest

from flowtrack.core.storage import LocalStorage, S3Storage, StoredFileMissing, storage_at


@pytest.fixture(params=["local", "s3"])
def storage(request, tmp_path):
    if request.param == "local":
        return LocalStorage(tmp_path / "files")
    bucket = f"flowtrack-{uuid.uuid4().hex[:12]}"
    store = S3Storage(bucket, "prod/files", endpoint_url=request.getfixturevalue("s3_endpoint"))
    store.client.create_bucket(Bucket=bucket)
    return store


def test_a_file_comes_back_as_it_was_put_and_is_gone_once_deleted(storage):
    company = uuid.uuid4()
    key = f"{company}/photos/{uuid.uuid4()}.jpg"
    assert not storage.exists(key)
    storage.put(key, b"\xff\xd8 a picture", "image/jpeg")
    assert storage.exists(key) and storage.get(key) == b"\xff\xd8 a picture"
    with storage.open(key) as stream:
        assert stream.read() == b"\xff\xd8 a picture"
    storage.put(key, b"\xff\xd8 another", "image/jpeg")  # the same key again replaces the file
    assert storage.get(key) == b"\xff\xd8 another"
    storage.delete(key)
    assert not storage.exists(key)
    with pytest.raises(StoredFileMissing):
        storage.get(key)
    with pytest.raises(StoredFileMissing):
        storage.open(key)
    storage.delete(key)  # deleting what is gone is no error


def test_a_large_file_built_elsewhere_is_handed_over_and_streams_back(storage, tmp_path):
    built = tmp_path / "export.zip"
    chunk = bytes(range(256)) * 4096  # 1 MiB
    with built.open("wb") as out:
        for _ in range(12):  # larger than boto3's 8 MiB multipart threshold
            out.write(chunk)
    key = f"{uuid.uuid4()}/exports/{uuid.uuid4()}.zip"
    storage.put_file(key, built, "application/zip")
    assert built.exists()  # still the caller's, to remove
    with storage.open(key) as stream:
        received = b"".join(iter(lambda: stream.read(1 << 20), b""))
    assert received == built.read_bytes()


@pytest.mark.parametrize("key", ["../etc/passwd", "photos/x.jpg", f"{uuid.uuid4()}/../x.jpg",
                                 f"{uuid.uuid4()}", f"{uuid.uuid4()}/a b.jpg", "/etc/passwd"])
def test_keys_outside_a_companys_folder_are_refused(storage, key, tmp_path):
    (tmp_path / "some.pdf").write_bytes(b"%PDF")
    for attempt in (lambda: storage.put(key, b"x", "image/jpeg"),
                    lambda: storage.put_file(key, tmp_path / "some.pdf", "application/pdf"),
                    lambda: storage.get(key), lambda: storage.open(key), lambda: storage.exists(key),
                    lambda: storage.delete(key)):
        with pytest.raises(ValueError):
            attempt()


@pytest.mark.parametrize("prefix", ["..", "../x", f"{uuid.uuid4()}/../..", "photos", "/tmp"])
def test_prefixes_outside_the_companies_folders_are_refused(storage, prefix):
    with pytest.raises(ValueError):
        storage.delete_prefix(prefix)
    with pytest.raises(ValueError):
        list(storage.keys(prefix))


def test_a_companys_files_are_listed_and_go_with_its_prefix_and_no_one_elses(storage):
    leaving, staying = uuid.uuid4(), uuid.uuid4()
    names = ("exports/e.zip", "invoices/i.pdf", "logos/logo.png", "photos/a.jpg", "photos/a.thumb.jpg",
             "reports/r.pdf", "signatures/t-technician.png")
    for company in (leaving, staying):
        for name in names:
            storage.put(f"{company}/{name}", b"data", "application/octet-stream")
    assert list(storage.keys(str(leaving))) == [f"{leaving}/{name}" for name in names]
    assert list(storage.keys(f"{leaving}/photos")) == [f"{leaving}/photos/a.jpg", f"{leaving}/photos/a.thumb.jpg"]
    assert set(storage.keys()) == {f"{company}/{name}" for company in (leaving, staying) for name in names}

    assert storage.delete_prefix(str(leaving)) == len(names)
    with pytest.raises(StoredFileMissing):
        storage.get(f"{leaving}/photos/a.jpg")
    assert list(storage.keys(str(leaving))) == []
    assert storage.get(f"{staying}/photos/a.jpg") == b"data" and len(list(storage.keys())) == len(names)
    assert storage.delete_prefix(f"{staying}/photos") == 2
    assert storage.delete_prefix("") == 0 and storage.delete_prefix("/") == 0  # never everything
    assert len(list(storage.keys())) == len(names) - 2


def test_an_empty_store_lists_nothing(storage):
    assert list(storage.keys()) == [] and list(storage.keys(str(uuid.uuid4()))) == []


def test_the_backend_is_chosen_by_the_environment(tmp_path, monkeypatch, s3_endpoint):
    monkeypatch.delenv("FILE_STORAGE_URL", raising=False)
    assert isinstance(storage_at(tmp_path), LocalStorage)
    monkeypatch.setenv("FILE_STORAGE_URL", "s3://photos-bucket/flowtrack")
    monkeypatch.setenv("S3_ENDPOINT_URL", s3_endpoint)
    chosen = storage_at(tmp_path)
    assert isinstance(chosen, S3Storage) and (chosen.bucket, chosen.prefix) == ("photos-bucket", "flowtrack")
    monkeypatch.setenv("FILE_STORAGE_URL", "ftp://elsewhere")
    with pytest.raises(RuntimeError, match="s3://bucket"):
        storage_at(tmp_path)


def test_a_region_s_bucket_is_reached_at_its_own_endpoint(app, tmp_path, monkeypatch, s3_endpoint):
    """A provider whose regions answer at endpoints of their own: Canada's bucket is reached at
    CA_S3_ENDPOINT_URL, not at the home region's S3_ENDPOINT_URL; without one, at the home region's."""
    import boto3
    from botocore.exceptions import EndpointConnectionError
    from moto.server import ThreadedMotoServer

    from flowtrack.core.config import load_settings
    from flowtrack.core.regions import Region
    from flowtrack.core.storage import region_storage

    canada = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    canada.start()
    try:
        host, port = canada.get_host_and_port()
        canadian_endpoint = f"http://{host}:{port}"
        boto3.client("s3", endpoint_url=canadian_endpoint).create_bucket(Bucket="flowtrack-ca")
        monkeypatch.setenv("S3_ENDPOINT_URL", s3_endpoint)
        given = {"DATABASE_URL": "postgresql://us.invalid/flowtrack", "REDIS_URL": "redis://us.invalid",
                 "REGIONS": "us,ca", "CA_DATABASE_URL": "postgresql://ca.invalid/flowtrack",
                 "CA_REDIS_URL": "redis://ca.invalid", "CA_FILE_STORAGE_URL": "s3://flowtrack-ca/files"}
        without_own = load_settings(tmp_path, given).regions[1]
        assert without_own.s3_endpoint_url == s3_endpoint
        settings = load_settings(tmp_path, {**given, "CA_S3_ENDPOINT_URL": canadian_endpoint,
                                            "CA_S3_REGION": "ca-central-1"}).regions[1]
        with app.app_context():
            store = region_storage(Region("ca", settings, db=None, redis=None), tmp_path)
        assert store.client.meta.region_name == "ca-central-1"
        key = f"{uuid.uuid4()}/photos/dataplate.jpg"
        store.put(key, b"\xff\xd8 in Canada", "image/jpeg")
        assert boto3.client("s3", endpoint_url=canadian_endpoint).get_object(
            Bucket="flowtrack-ca", Key=f"files/{key}")["Body"].read() == b"\xff\xd8 in Canada"
        assert store.client.meta.endpoint_url == canadian_endpoint
    finally:
        canada.stop()
    # (moto's servers in one process share their buckets: that the store talks to Canada's endpoint shows once
    # it is gone.)
    with pytest.raises(EndpointConnectionError):
        store.get(key)
