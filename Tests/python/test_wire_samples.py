"""The JSON the Swift wire types encode (files `Schema.name.json` that WireSampleTests writes into
ROLLCALL_WIRE_SAMPLES) against the schemas of docs/openapi.yaml: each sample one test."""
import json
import os

import jsonschema
import pytest
import referencing
import yaml

from rollcall_testing.paths import ROOT

FOLDER = os.environ.get("ROLLCALL_WIRE_SAMPLES", "")
SAMPLES = sorted(f for f in os.listdir(FOLDER) if f.endswith(".json")) if os.path.isdir(FOLDER) else []


@pytest.fixture(scope="module")
def registry():
    document = yaml.safe_load(open(os.path.join(ROOT, "docs", "openapi.yaml"), encoding="utf-8"))
    resource = referencing.Resource.from_contents(document, default_specification=referencing.jsonschema.DRAFT202012)
    return document, referencing.Registry().with_resource("urn:rollcall:openapi", resource)


def test_the_swift_tests_wrote_samples():
    assert SAMPLES, f"no samples in ROLLCALL_WIRE_SAMPLES={FOLDER!r} (scripts/test writes them with WireSampleTests)"


@pytest.mark.parametrize("name", SAMPLES)
def test_the_sample_matches_its_openapi_schema(registry, name):
    document, registry = registry
    schema = name.split(".")[0]
    assert schema in document["components"]["schemas"], f"docs/openapi.yaml has no schema {schema}"
    validator = jsonschema.Draft202012Validator({"$ref": f"urn:rollcall:openapi#/components/schemas/{schema}"}, registry=registry)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(json.load(open(os.path.join(FOLDER, name))))]
    assert not errors, errors
