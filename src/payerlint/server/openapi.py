"""The OpenAPI 3.1 document of the service, built from the JSON Schemas payerlint ships
(claim, result, diagnostic) rather than from Python types, so the HTTP contract and the
file contract are one.

OpenAPI 3.1 schema objects are JSON Schema 2020-12; the shipped schemas are draft-07. The
keywords they use mean the same in both, except where references point: each schema's
`definitions` become components of their own (`Claim.line`, `Result.finding`), its
`$ref`s are rewritten to them, and its `$id` is kept as `x-payerlint-schema-id` (a `$id`
inside the document would move the base of every reference under it).
"""

from __future__ import annotations

from typing import Any

from payerlint.contract import JSONObject, load_schema

_COMPONENT = {"claim": "Claim", "result": "Result", "diagnostic": "Diagnostic", "remit-report": "RemitReport"}


def _component(name: str, schema: JSONObject, out: dict[str, Any]) -> None:
    prefix = _COMPONENT[name]

    def rewrite(node: Any, root: bool = False) -> Any:
        # Only the document's own keywords go: a property that happens to be named
        # `definitions` (the explanation's) stays.
        if isinstance(node, dict):
            fixed = {k: rewrite(v) for k, v in node.items() if not (root and k in ("$schema", "$id", "definitions"))}
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/definitions/"):
                fixed["$ref"] = f"#/components/schemas/{prefix}.{ref.rsplit('/', 1)[1]}"
            return fixed
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        return node

    top = rewrite(schema, root=True)
    top["x-payerlint-schema-id"] = schema["$id"]
    out[prefix] = top
    for key, definition in schema.get("definitions", {}).items():
        out[f"{prefix}.{key}"] = rewrite(definition)


def _json(ref: str) -> JSONObject:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def _problem(description: str) -> JSONObject:
    return {"description": description, "content": _json("Problem")}


def document(version: str, token: bool) -> JSONObject:
    schemas: dict[str, Any] = {}
    for name in _COMPONENT:
        _component(name, load_schema(name), schemas)
    schemas["Problem"] = {
        "type": "object", "required": ["error"], "additionalProperties": False,
        "description": "Why a request was refused. `diagnostics` say where (for a body that is not JSON: line and "
                       "column in the body, named `request body`).",
        "properties": {"error": {"type": "string"},
                       "diagnostics": {"type": "array", "items": {"$ref": "#/components/schemas/Diagnostic"}}},
    }
    schemas["DiffRequest"] = {
        "type": "object", "required": ["old", "new"], "additionalProperties": False,
        "properties": {
            "old": {"type": "string", "description": "`payer@quarter` or `family@quarter`", "examples": ["acme@2026Q1"]},
            "new": {"type": "string", "description": "`payer@quarter` or `family@quarter`"},
            "claims": {"type": "array", "description": "claims to replay under both (optional)", "items": {}},
        },
    }
    schemas["Object"] = {"type": "object", "description": "See the endpoint's description for its keys."}
    check_options = [
        {"name": "rulebook", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "Check every claim against this rulebook (`payer@quarter` or `family@quarter`) "
                        "instead of routing each claim by its payer_id and dates of service."},
        {"name": "explain", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
         "description": "Add to each finding what its rule read."},
        {"name": "strict", "in": "query", "required": False, "schema": {"type": "boolean", "default": False},
         "description": "Report each rule that could not be evaluated as a warning."},
    ]
    bad = {"400": _problem("The body is not JSON (the message names line and column) or not UTF-8."),
           "404": _problem("The rulebook named does not exist."),
           "413": _problem("The body is larger than the service's limit."),
           "422": _problem("The rulebook named does not compile (its diagnostics).")}
    secured: list[JSONObject] = [{"bearer": []}] if token else []
    paths: JSONObject = {
        "/healthz": {"get": {"summary": "Liveness", "security": [], "operationId": "health",
                             "responses": {"200": {"description": "The service is up.", "content": _json("Object")}}}},
        "/v1/check": {"post": {
            "summary": "Check one claim, an array of claims, a FHIR R4 Claim or Bundle, or an X12 837P file",
            "operationId": "check",
            "description": "One claim (a payerlint claim or a FHIR Claim) gives one result; an array, a FHIR Bundle "
                           "or an 837P file gives an array of results in order (an 837P: one per claim, and one "
                           "per envelope or transaction that cannot be read). The content type says what the "
                           "body is (`application/fhir+json`, `application/edi-x12`), or `format`; otherwise a "
                           "body starting with an ISA segment is an 837P and a JSON object with `resourceType` "
                           "is FHIR. A claim that is not valid gets its `error` result in a 200 response. "
                           "Results of converted claims carry `source` (FHIR or X12 locations) and, for an "
                           "837P, `x12` (each fix as 837P edits).",
            "parameters": check_options + [
                {"name": "format", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["auto", "json", "fhir", "x12"], "default": "auto"},
                 "description": "What the body is, over its content type: `json` (payerlint claims), `fhir` "
                                "(FHIR R4 Claims and Bundles), `x12` (an 837P 005010X222A1 file), `auto`."}],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/Claim"},
                                                          {"type": "array", "items": {}}]}},
                "application/fhir+json": {"schema": {"type": "object", "description": "A FHIR R4 Claim or a "
                                                     "Bundle of Claims (docs/fhir.md)."}},
                "application/edi-x12": {"schema": {"type": "string", "description": "An X12 837P (005010X222A1) "
                                                   "file (docs/x12.md)."}}}},
            "responses": {"200": {"description": "The results, in the result contract.", "content": {
                "application/json": {"schema": {"oneOf": [
                    {"$ref": "#/components/schemas/Result"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/Result"}}]}}}}, **bad}}},
        "/v1/check/jsonl": {"post": {
            "summary": "Check JSON Lines, streaming", "operationId": "checkJsonLines",
            "description": "NDJSON in, NDJSON out: one result per non-blank input line, in order, written as each "
                           "is checked. A line that is not JSON gets an `error` result naming its line and column.",
            "parameters": check_options,
            "requestBody": {"required": True, "content": {"application/x-ndjson": {"schema": {"type": "string"}}}},
            "responses": {"200": {"description": "One result (Result schema) per line.",
                                  "content": {"application/x-ndjson": {"schema": {"type": "string"}}}}, **bad}}},
        "/v1/payers": {"get": {"summary": "The payer registry", "operationId": "payers", "responses": {
            "200": {"description": "Each payer with its aliases, rulebook family and quarters.",
                    "content": {"application/json": {"schema": {"type": "array", "items": {
                        "$ref": "#/components/schemas/Object"}}}}}}}},
        "/v1/rulebooks/{payer}/{quarter}": {"get": {
            "summary": "A payer's rulebook for a quarter", "operationId": "rulebook",
            "description": "Metadata, rules (title, severity, category, citation, where written and what each "
                           "reads), disabled rules, params, code sets, phrase sets, tables, definitions, and the "
                           "dependency graph.",
            "parameters": [{"name": "payer", "in": "path", "required": True, "schema": {"type": "string"},
                            "description": "a payer id or alias, or a rulebook family"},
                           {"name": "quarter", "in": "path", "required": True,
                            "schema": {"type": "string", "pattern": "^[0-9]{4}Q[1-4]$"}}],
            "responses": {"200": {"description": "The compiled rulebook, described.", "content": _json("Object")},
                          "404": bad["404"], "422": bad["422"]}}},
        "/v1/diff": {"post": {
            "summary": "What changed between two rulebooks, and which claims it changes", "operationId": "diff",
            "requestBody": {"required": True, "content": _json("DiffRequest")},
            "responses": {"200": {"description": "The semantic diff (`changes`), and with claims the replay "
                                                 "(`claims`, `summary`).", "content": _json("Object")},
                          "400": bad["400"], "404": bad["404"], "413": bad["413"], "422": bad["422"]}}},
        "/v1/remit": {"post": {
            "summary": "Measure every rule against the payer's remittances (835)", "operationId": "remit",
            "description": "Body: `{\"remittances\": [{\"name\", \"text\"}], \"claims\": [{\"name\", \"text\"}]}`: "
                           "835 files, and the claims that were sent (JSON, JSON Lines, FHIR, 837P) or saved "
                           "results of `payerlint check`. `?format=html` answers the offline HTML report; "
                           "`?charts=svg` adds its charts to the JSON (docs/remit.md).",
            "parameters": [{"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "html"]}},
                           {"name": "charts", "in": "query", "schema": {"type": "string", "enum": ["svg"]}}],
            "requestBody": {"required": True, "content": _json("Object")},
            "responses": {"200": {"description": "The report.", "content": dict(
                _json("RemitReport"), **{"text/html": {"schema": {"type": "string"}}})},
                          "400": bad["400"], "413": bad["413"]}}},
        "/v1/reload": {"post": {
            "summary": "Read the payer files and rulebooks again", "operationId": "reload",
            "description": "For a rule tree changed on disk: later checks use the new rules. A registry that "
                           "does not load is a 422 and the service keeps the rules it had.",
            "responses": {"200": {"description": "How many payers and rulebook quarters there are now.",
                                  "content": _json("Object")}, "422": bad["422"]}}},
        "/v1/schemas/{name}": {"get": {
            "summary": "A shipped JSON Schema", "operationId": "schema",
            "parameters": [{"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string", "enum": ["claim", "result", "diagnostic", "payer",
                                                                   "remit-report"]}}],
            "responses": {"200": {"description": "The schema.", "content": _json("Object")},
                          "404": bad["404"]}}},
    }
    doc: JSONObject = {
        "openapi": "3.1.0",
        "info": {"title": "payerlint", "version": version,
                 "description": "Check outpatient therapy claims against payer rules before submission.",
                 "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"}},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if token:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        doc["security"] = secured
        # Every operation but the health check answers 401 without the token (the
        # middleware checks it before a byte of the body is read).
        unauthorized = _problem("The bearer token is missing or wrong.")
        for operations in paths.values():
            for operation in operations.values():
                if operation.get("security") != []:
                    operation["responses"]["401"] = unauthorized
    return doc
