"""What a browser or monitoring system sees: docs, OpenAPI, health."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import RunningStack

pytestmark = pytest.mark.e2e


def test_openapi_is_generated_and_browsable(stack: RunningStack) -> None:
    with stack.client() as client:
        response = client.get("/docs/openapi.json")
        assert response.status_code == 200, response.text
        schema = response.json()
        assert "/api/v1/videocreate" in schema["paths"]
        assert "VideoCreateRequest" in schema["components"]["schemas"]
        components = schema["components"]["schemas"]
        for name in ("VideoElement", "ImageElement", "TextElement", "AudioElement", "ColorElement"):
            assert name in components, name
        # each type shows only its own fields
        assert "text" in components["TextElement"]["properties"]
        assert "text" not in components["AudioElement"]["properties"]
        assert "keyframe" in str(
            components["ColorElement"]["properties"]["x"]
        ).lower() or "LengthKeyframe" in str(components["ColorElement"]["properties"]["x"])
        docs = client.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        redoc = client.get("/redoc", follow_redirects=True)
        assert redoc.status_code == 200 and "redoc" in redoc.text.lower()


def test_health_endpoints(stack: RunningStack) -> None:
    with stack.client() as client:
        assert client.get("/health").json() == {"status": "healthy"}
        detailed = client.get("/health/detailed").json()
    assert set(detailed["components"]) == {"broker", "s3", "clickhouse", "ffmpeg"}
    assert all(c["status"] == "healthy" for c in detailed["components"].values()), detailed
    assert detailed["status"] == "healthy"
