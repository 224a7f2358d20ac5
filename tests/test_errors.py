"""One line that says what went wrong, for errors of storage, networks and decoders, wherever in the
chain of causes the telling one is."""

import io
import itertools

import pytest
from PIL import Image

from gen1_batch.errors import ShotError, StorageError, describe, network_cause
from tests.helpers import bomb_png, closed_port


def chained(*errors: BaseException) -> BaseException:
    """errors[0], raised from errors[1], raised from errors[2]…"""
    for outer, inner in itertools.pairwise(errors):
        outer.__cause__ = inner
    return errors[0]


def test_a_refused_connection_is_not_a_missing_file():
    import fsspec

    port = closed_port()
    with pytest.raises(FileNotFoundError) as caught:  # how fsspec's HTTP files report it
        fsspec.filesystem("http", skip_instance_cache=True).info(f"http://127.0.0.1:{port}/plate.mp4")
    assert network_cause(caught.value) is not None
    line = describe(caught.value, f"http://127.0.0.1:{port}/plate.mp4")
    assert line == f"http://127.0.0.1:{port}/plate.mp4: cannot connect to 127.0.0.1:{port}: connection refused"


def test_a_hub_failure_names_the_url_it_could_not_reach_not_a_missing_config():
    from huggingface_hub.errors import LocalEntryNotFoundError

    class ConnectError(Exception):  # httpx's: the OS's reason only in its text, the URL on its request
        request = type("Request", (), {"url": "http://127.0.0.1:9/org/sd/resolve/main/unet/config.json"})()

    error = chained(OSError("org/sd does not appear to have a file named config.json."),
                    LocalEntryNotFoundError("cannot find the requested files in the local cache"),
                    ConnectError("[Errno 111] Connection refused"))
    assert describe(error) == ("cannot connect to http://127.0.0.1:9/org/sd/resolve/main/unet/config.json: "
                               "connection refused")


def test_missing_credentials_say_how_to_give_them_not_where_botocore_noticed():
    class NoCredentialsError(Exception):  # botocore's, matched by name
        pass

    try:
        raise NoCredentialsError("Unable to locate credentials")
    except NoCredentialsError as error:
        line = describe(error, "s3://studio/plate.mp4")
    assert line.startswith("s3://studio/plate.mp4: no S3 credentials found") and "AWS_ACCESS_KEY_ID" in line
    assert "(at " not in line


def test_a_decompression_bomb_is_named_as_one():
    with pytest.raises(Image.DecompressionBombError) as caught:
        Image.open(io.BytesIO(bomb_png()))
    line = describe(caught.value, "look.png")
    assert line.startswith("look.png: image too large to decode safely") and "(at " not in line


def test_an_unreadable_image_is_not_described_by_a_buffer_address():
    with pytest.raises(OSError) as caught:
        Image.open(io.BytesIO(b"not an image"))
    assert "BytesIO" in str(caught.value)  # what Pillow says
    assert "0x" not in describe(caught.value) and "BytesIO" not in describe(caught.value)


def test_unknown_schemes_and_missing_packages_are_said_plainly():
    from fsspec.core import url_to_fs

    with pytest.raises(ValueError) as caught:
        url_to_fs("nosuch://bucket/a.mp4")
    assert describe(caught.value) == "unknown storage scheme nosuch:// (no fsspec filesystem is registered for it)"
    error = chained(ImportError("Please install gcsfs to access Google Storage"),
                    ModuleNotFoundError("No module named 'gcsfs'"))
    assert describe(error) == "a package it needs is not installed: Please install gcsfs to access Google Storage"


def test_ours_are_said_as_they_are_and_bugs_say_where():
    assert describe(ShotError("a.mp4: empty file")) == "a.mp4: empty file"
    assert describe(StorageError("s3://b/a.mp4: no S3 credentials found")) == "s3://b/a.mp4: no S3 credentials found"
    try:
        {}["missing"]
    except KeyError as bug:
        assert "(at test_errors.py:" in describe(bug)
    assert describe(RuntimeError("first\nsecond")) == "first second"


def test_a_refused_connection_is_not_called_a_timeout_nor_an_unknown_host_refused():
    import socket

    class ConnectTimeoutError(Exception):  # urllib3's refused connection is one of these
        pass

    class NewConnectionError(ConnectTimeoutError):
        pass

    class Request:
        url = "http://127.0.0.1:9/api/version"

    refused = chained(ConnectionError("Failed to connect to Ray at address: http://127.0.0.1:9."),
                      NewConnectionError("Failed to establish a new connection: [Errno 111] Connection refused"))
    refused.request = Request()
    assert describe(refused) == "cannot connect to http://127.0.0.1:9/api/version: connection refused"
    unknown = chained(ConnectionError("Failed to connect"), socket.gaierror(-2, "Name or service not known"))
    assert describe(unknown) == "cannot connect: host name not found"
