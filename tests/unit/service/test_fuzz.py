"""Random requests to every route of the app: never a 500, never a traceback."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import service as w
from validator.service.app import create_app

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)  # fmt: skip
IDS = st.integers(min_value=-(2**70), max_value=2**70).map(str) | st.text(
    alphabet="0123456789abc%-", max_size=30
)
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=30)
COUNT = [0]


def _body(data: st.DataObject) -> bytes:
    kind = data.draw(st.sampled_from(["json", "deep", "bigint", "surrogate", "bytes"]))
    if kind == "json":
        return json.dumps(data.draw(JSON)).encode()
    if kind == "deep":
        depth = data.draw(st.integers(1, 5000))
        return ("[" * depth + "]" * depth).encode()
    if kind == "bigint":
        return b'{"registry": ' + b"9" * 5000 + b"}"
    if kind == "surrogate":
        return b'{"registry": "\\ud800", "repository": "a/\\udfff"}'
    return data.draw(st.binary(max_size=200))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    config = w.settings(public_results=True)
    app = create_app(
        config, w.store(tmp / "db.sqlite3", config), w.FakeRunner(), start_worker=False
    )
    with TestClient(app, raise_server_exceptions=False) as made:
        yield made
    print(f"\nfuzz: {COUNT[0]} requests")


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_input_gets_a_500(client: TestClient, data: st.DataObject, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    paths = ["/healthz", "/metrics", "/api/v1/watches", "/api/v1/validations", "/api/v1/badge",
             "/hooks/distribution", "/hooks/github", "/hooks/harbor", "/hooks/quay",
             "/hooks/gitlab", "/hooks/cloudevents", f"/hooks/dockerhub/{w.URL_TOKEN}"]  # fmt: skip
    path = data.draw(st.sampled_from(paths))
    if data.draw(st.booleans()) and path.startswith("/api"):
        path = f"{path.replace('/badge', '/validations')}/{data.draw(IDS)}"
    method = data.draw(st.sampled_from(["GET", "POST", "DELETE"]))
    headers = {"Authorization": data.draw(st.sampled_from(
        [f"Bearer {w.ADMIN}", f"Bearer {w.HOOK}", "Bearer x", ""]))}  # fmt: skip
    headers["Content-Type"] = data.draw(st.sampled_from(["application/json", w.V2, "text/plain"]))
    headers["X-Forwarded-For"] = data.draw(st.text(alphabet="0123456789.:,abf ", max_size=40))
    params = data.draw(
        st.dictionaries(st.sampled_from(["image", "digest", "profile", "x"]), TEXT, max_size=3)
    )
    answer = client.request(method, path, content=_body(data), headers=headers, params=params)
    COUNT[0] += 1
    assert answer.status_code < 500, (method, path, answer.text[:200])
    assert "Traceback" not in answer.text
    assert "Traceback" not in caplog.text
