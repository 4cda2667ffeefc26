"""The OpenAPI description says what the API really answers: every /api/v1 route documents its
200 schema and the Swedish error model (`Fel`) for 404 and 422, and real answers fit them."""

from __future__ import annotations

import httpx
import pytest

from tests.web_helpers import live_server
from utanforskap.web import schemas

SAMPLES = {
    "/api/v1": "/api/v1",
    "/api/v1/omraden": "/api/v1/omraden?kommun=0180&limit=5",
    "/api/v1/omraden/{kod}": "/api/v1/omraden/0180R036",
    "/api/v1/kommuner": "/api/v1/kommuner?lan=03",
    "/api/v1/kommuner/{kod}": "/api/v1/kommuner/0380",
    "/api/v1/lan": "/api/v1/lan",
    "/api/v1/riket": "/api/v1/riket",
    "/api/v1/metoder": "/api/v1/metoder",
    "/api/v1/metoder/{metod_id}": "/api/v1/metoder/se-oppna-data-2022",
    "/api/v1/sok": "/api/v1/sok?q=upps",
    "/api/v1/geo/kommuner.geojson": "/api/v1/geo/kommuner.geojson",
    "/api/v1/geo/regso.geojson": "/api/v1/geo/regso.geojson?kommun=0380",
    "/api/v1/robusthet": "/api/v1/robusthet",
    "/api/v1/omraden/{kod}/robusthet": "/api/v1/omraden/0180R036/robusthet",
    "/api/v1/insatser": "/api/v1/insatser?limit=5",
    "/api/v1/insatser/{insats_id}": "/api/v1/insatser/1",
    "/api/v1/omraden/{kod}/tidsserie": "/api/v1/omraden/0180R036/tidsserie",
    "/api/v1/forandringar": "/api/v1/forandringar?fran=2022&till=2023",
    "/api/v1/kommuner/{kod}/valdeltagande": "/api/v1/kommuner/0180/valdeltagande",
    "/api/v1/arbetsmarknad": "/api/v1/arbetsmarknad?kommun=0180",
}


@pytest.fixture(scope="module")
def server():
    return live_server("paket")


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def openapi(client):
    return client.get("/openapi.json").json()


def _ref(response: dict, media: str) -> str:
    return response["content"][media]["schema"]["$ref"].rsplit("/", 1)[1]


def test_no_route_documents_fastapis_default_validation_error(openapi):
    assert "HTTPValidationError" not in openapi["components"]["schemas"]
    assert "ValidationError" not in openapi["components"]["schemas"]


def test_every_api_route_documents_its_answer_and_the_swedish_errors(openapi):
    paths = {p for p in openapi["paths"] if p.startswith("/api/v1")}
    assert paths == set(SAMPLES), "en ny väg i API:t behöver ett exempel här"
    for path in paths:
        op = openapi["paths"][path]["get"]
        media = "application/geo+json" if path.endswith(".geojson") else "application/json"
        assert op["responses"]["200"]["content"][media]["schema"] == {"$ref": op["responses"]["200"]["content"][media]["schema"]["$ref"]}, path
        for status in ("404", "422"):
            assert _ref(op["responses"][status], "application/json") == "Fel", (path, status)
            assert list(op["responses"][status]["content"]) == ["application/json"]


@pytest.mark.parametrize("path", sorted(SAMPLES))
def test_real_answers_fit_the_documented_schema(client, openapi, path):
    op = openapi["paths"][path]["get"]
    media = "application/geo+json" if path.endswith(".geojson") else "application/json"
    model = getattr(schemas, _ref(op["responses"]["200"], media))
    r = client.get(SAMPLES[path])
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    body = r.json()
    model.model_validate(body)
    undocumented = set(body) - set(model.model_fields)
    assert not undocumented, f"{path}: fält utan beskrivning i OpenAPI: {undocumented}"


def test_real_errors_fit_the_documented_error_model(client):
    for url, status in [("/api/v1/kommuner/9999", 404), ("/api/v1/omraden?limit=5000&kommun=x", 422), ("/api/v1/geo/regso.geojson", 422), ("/api/v1/finns-inte", 404)]:
        r = client.get(url)
        assert r.status_code == status and r.headers["content-type"].startswith("application/json"), url
        fel = schemas.Fel.model_validate(r.json())
        assert fel.status == status
        if status == 422:
            assert fel.detaljer and all(set(d) <= set(schemas.FelDetalj.model_fields) for d in r.json()["detaljer"])
