//! The OpenAPI 3 description of the API, built from the data dictionary so that the row
//! schemas of `POST /tables/{table}/rows` cannot drift from the rules. `csvgate openapi`
//! prints it; the committed `openapi.json` is its output, and a test keeps the two equal.

use serde_json::{Value, json};

use super::DEFAULT_BUCKET;
use crate::batch::MAX_ROWS;
use crate::dictionary::{Bounds, ColumnKind, Dictionary, Table};
use crate::ledger::Status;

/// The document served at `/openapi.json`, for `dictionary`'s tables.
pub fn document(dictionary: &Dictionary) -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "csvgate",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Upload CSV files of the HR tables, insert batches of rows, follow runs and read the two business reports. Every error answer is a JSON object with an `error` message.",
        },
        "security": [{ "apiKey": [] }, { "bearer": [] }],
        "paths": paths(dictionary),
        "components": {
            "securitySchemes": {
                "apiKey": { "type": "apiKey", "in": "header", "name": "x-api-key" },
                "bearer": { "type": "http", "scheme": "bearer" },
            },
            "schemas": schemas(dictionary),
        },
    })
}

fn paths(dictionary: &Dictionary) -> Value {
    let table_names = dictionary.names();
    let error = |description: &str| json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } });
    let json_of = |schema: Value| json!({ "application/json": { "schema": schema } });
    let exact = json!({ "name": "exact", "in": "query", "schema": { "type": "boolean", "default": false }, "description": "true: scan the rows even where the report reads a rollup kept up to date with them (the same answer, to compare)." });
    let report = |summary: &str, row: &str| {
        json!({ "get": {
            "summary": summary,
            "parameters": [
                { "name": "year", "in": "query", "schema": { "type": "integer", "default": crate::report::DEFAULT_YEAR, "minimum": crate::report::YEARS.start(), "maximum": crate::report::YEARS.end() } },
                { "name": "engine", "in": "query", "schema": { "type": "string", "enum": ["datafusion", "mysql"] }, "description": "Default: mysql when a MySQL target is configured, else datafusion." },
                exact,
            ],
            "responses": {
                "200": { "description": "One object per row; CSV with a header for `Accept: text/csv`.", "content": {
                    "application/json": { "schema": { "type": "array", "items": { "$ref": format!("#/components/schemas/{row}") } } },
                    "text/csv": { "schema": { "type": "string" } },
                } },
                "400": error("The engine asked for is not configured."),
                "401": error("Missing or wrong API key."),
            },
        } })
    };
    json!({
        "/{bucket}/{key}": { "put": {
            "summary": "Store a CSV file in the landing bucket and process it.",
            "parameters": [
                { "name": "bucket", "in": "path", "required": true, "schema": { "type": "string", "default": DEFAULT_BUCKET } },
                { "name": "key", "in": "path", "required": true, "schema": { "type": "string" }, "description": "A relative path naming its table: `hired_employees.csv`, `jobs/2024.csv`." },
                { "name": "wait", "in": "query", "schema": { "type": "boolean", "default": false }, "description": "Answer when the run has ended." },
            ],
            "requestBody": { "required": true, "content": { "*/csv": { "schema": { "type": "string", "format": "binary" } }, "text/csv": { "schema": { "type": "string" } } } },
            "responses": {
                "200": { "description": "The run has ended (with `wait=true`).", "content": json_of(json!({ "$ref": "#/components/schemas/Run" })) },
                "202": { "description": "Stored and queued; `Location` is the run.", "headers": { "Location": { "schema": { "type": "string" } } }, "content": json_of(json!({ "$ref": "#/components/schemas/Run" })) },
                "400": error("Bad key, empty body or a file naming no table."),
                "401": error("Missing or wrong API key."),
                "404": error("Not the landing bucket."),
                "413": error("Body over the size limit."),
                "429": error("As many uploads as the server takes at once are in progress; retry after `Retry-After` seconds."),
                "503": error("Too many runs wait for the worker, or the server is shutting down; retry after `Retry-After` seconds."),
            },
        } },
        "/tables/{table}/rows": { "post": {
            "summary": format!("Insert 1 to {MAX_ROWS} rows, checked by the same rules as files."),
            "parameters": [{ "name": "table", "in": "path", "required": true, "schema": { "type": "string", "enum": table_names } }],
            "requestBody": { "required": true, "content": json_of(json!({ "type": "array", "minItems": 1, "maxItems": MAX_ROWS, "items": { "oneOf": dictionary.tables().iter().map(|table| json!({ "$ref": format!("#/components/schemas/{}", table.name) })).collect::<Vec<_>>() } })) },
            "responses": {
                "200": { "description": "Accepted count and the rejected rows.", "content": json_of(json!({ "$ref": "#/components/schemas/BatchAnswer" })) },
                "400": error("Malformed JSON, or no rows."),
                "401": error("Missing or wrong API key."),
                "404": error("No such table."),
                "413": error("More rows than allowed."),
            },
        } },
        "/events/s3": { "post": {
            "summary": "An S3 event notification: each ObjectCreated record of the landing bucket becomes a queued run; other events are ignored.",
            "requestBody": { "required": true, "content": json_of(json!({ "type": "object", "properties": { "Records": { "type": "array", "items": { "type": "object" } } } })) },
            "responses": {
                "202": { "description": "One outcome per record, in order.", "content": json_of(json!({ "$ref": "#/components/schemas/EventAnswer" })) },
                "400": error("Not an S3 event notification."),
                "401": error("Missing or wrong API key."),
            },
        } },
        "/runs": { "get": {
            "summary": "Ledger entries, oldest first, a page at a time; the next page's URL is in a `Link: <...>; rel=\"next\"` header.",
            "parameters": [
                { "name": "status", "in": "query", "schema": { "type": "string", "enum": statuses() } },
                { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 1000, "default": 1000 } },
                { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0, "default": 0 } },
            ],
            "responses": { "200": { "description": "Ledger entries.", "content": json_of(json!({ "type": "array", "items": { "$ref": "#/components/schemas/LedgerEntry" } })) }, "400": error("A parameter out of range."), "401": error("Missing or wrong API key.") },
        } },
        "/runs/{id}": { "get": {
            "summary": "One run: its state and ledger entries.",
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
            "responses": { "200": { "description": "The run.", "content": json_of(json!({ "$ref": "#/components/schemas/Run" })) }, "401": error("Missing or wrong API key."), "404": error("No such run.") },
        } },
        "/backups": {
            "post": {
                "summary": "Snapshot tables into the backups location (MySQL: one consistent snapshot; warehouse: a pinned version per table).",
                "requestBody": { "required": false, "content": json_of(json!({ "type": "object", "properties": {
                    "tables": { "type": "array", "items": { "type": "string", "enum": table_names }, "description": "Default: every table." },
                    "format": { "type": "string", "enum": ["avro", "parquet"], "default": "avro" },
                } })) },
                "responses": { "201": { "description": "The manifests of the snapshots made.", "content": json_of(json!({ "type": "array", "items": { "$ref": "#/components/schemas/Snapshot" } })) }, "400": error("A body that is not the object described."), "401": error("Missing or wrong API key."), "404": error("No such table.") },
            },
            "get": {
                "summary": "The complete snapshots, oldest first.",
                "parameters": [{ "name": "table", "in": "query", "schema": { "type": "string", "enum": table_names } }],
                "responses": { "200": { "description": "Their manifests.", "content": json_of(json!({ "type": "array", "items": { "$ref": "#/components/schemas/Snapshot" } })) }, "400": error("A query string that does not parse."), "401": error("Missing or wrong API key."), "404": error("No such table.") },
            },
        },
        "/tables/{table}/restore": { "post": {
            "summary": "Replace a table's contents with a snapshot, verified first, in one commit; or put the warehouse's table back to one of its versions.",
            "parameters": [{ "name": "table", "in": "path", "required": true, "schema": { "type": "string", "enum": table_names } }],
            "requestBody": { "required": false, "content": json_of(json!({ "type": "object", "properties": {
                "snapshot": { "type": "string", "default": "latest" },
                "as_of": { "type": "string", "description": "Instead of a snapshot: a warehouse version number or an RFC 3339 time." },
                "force": { "type": "boolean", "default": false, "description": "Restore even if rows would be left pointing at missing ids." },
            } })) },
            "responses": {
                "200": { "description": "Restored.", "content": json_of(json!({ "type": "object", "properties": {
                    "table": { "type": "string" }, "from": { "type": "string" }, "rows": { "type": "integer" },
                    "run_id": { "type": "string" }, "dangling": { "type": "array", "items": { "type": "string" } },
                } })) },
                "400": error("A malformed request, or as_of on a MySQL target."),
                "401": error("Missing or wrong API key."),
                "404": error("No such table or snapshot."),
                "409": error("Refused, nothing changed: the snapshot failed verification, rows would be orphaned, or the version is past retention."),
            },
        } },
        "/reports/hires-by-quarter": report("Q1: hires per department and job in a year, by quarter.", "HiresByQuarter"),
        "/reports/departments-above-mean": report("Q2: departments that hired more than the mean in a year.", "DepartmentAboveMean"),
        "/reports/{name}": { "get": {
            "summary": "A named report: built in (q1_hires_by_quarter, q2_departments_above_mean) or of the deployment's queries folder (`csvgate report --list`).",
            "parameters": [
                { "name": "name", "in": "path", "required": true, "schema": { "type": "string" }, "description": "The report file's stem, or q1 / q2." },
                { "name": "engine", "in": "query", "schema": { "type": "string", "enum": ["datafusion", "mysql"] }, "description": "Default: mysql when a MySQL target is configured, else datafusion." },
                exact,
                { "name": "params", "in": "query", "style": "form", "explode": true, "schema": { "type": "object", "additionalProperties": { "type": "string" } }, "description": "The parameters the report declares, by name (`year=2024`)." },
            ],
            "responses": {
                "200": { "description": "One object per row; CSV with a header for `Accept: text/csv`.", "content": {
                    "application/json": { "schema": { "type": "array", "items": { "type": "object" } } },
                    "text/csv": { "schema": { "type": "string" } },
                } },
                "400": error("A parameter the report does not declare, a missing or mistyped one, or an engine the report is not written for."),
                "401": error("Missing or wrong API key."),
                "404": error("No report of that name."),
            },
        } },
        "/healthz": { "get": { "summary": "Health: the worker takes runs and the target answers; needs no key.", "security": [], "responses": {
            "200": { "description": "Healthy.", "content": json_of(json!({ "$ref": "#/components/schemas/Health" })) },
            "503": { "description": "The worker stopped (shutting down) or the target does not answer.", "content": json_of(json!({ "$ref": "#/components/schemas/Health" })) },
        } } },
        "/openapi.json": { "get": { "summary": "This document; needs no key.", "security": [], "responses": { "200": { "description": "OpenAPI 3." } } } },
    })
}

fn schemas(dictionary: &Dictionary) -> Value {
    let mut schemas = json!({
        "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
        "Health": { "type": "object", "required": ["status", "worker", "queued", "uploads", "target"], "properties": {
            "status": { "type": "string", "enum": ["ok", "unavailable"] },
            "worker": { "type": "string", "enum": ["running", "stopped"] },
            "queued": { "type": "integer", "description": "Runs accepted and not started yet." },
            "uploads": { "type": "integer", "description": "Upload bodies streaming now." },
            "target": { "type": "string", "description": "`ok`, or why the target does not answer." },
        } },
        "Run": { "type": "object", "properties": {
            "run_id": { "type": "string" },
            "status": { "type": "string", "enum": run_statuses() },
            "entries": { "type": "array", "items": { "$ref": "#/components/schemas/LedgerEntry" } },
        } },
        "LedgerEntry": { "type": "object", "properties": {
            "run_id": { "type": "string" }, "location": { "type": "string" }, "key": { "type": "string" },
            "object_version": { "type": "string" }, "table_name": { "type": "string" },
            "status": { "type": "string", "enum": statuses() }, "rows_read": { "type": "integer" }, "rows_valid": { "type": "integer" },
            "rows_invalid": { "type": "integer" }, "invalid_object": { "type": "string" },
            "started_at": { "type": "string", "format": "date-time" }, "finished_at": { "type": "string", "format": "date-time" },
            "error": { "type": "string" },
            "contract_id": { "type": "string", "description": "The `id` of the contract the rows were judged by (absent in entries written before csvgate recorded it)." },
            "contract_version": { "type": "string" },
            "contract_hash": { "type": "string", "description": "SHA-256 of the rules csvgate enforced of that contract." },
        } },
        "EventAnswer": { "type": "object", "properties": {
            "records": { "type": "array", "items": { "type": "object", "properties": {
                "key": { "type": "string" },
                "event": { "type": "string" },
                "status": { "type": "string", "enum": ["queued", "ignored", "failed"] },
                "run_id": { "type": "string" },
                "error": { "type": "string" },
            } } },
        } },
        "BatchAnswer": { "type": "object", "properties": {
            "run_id": { "type": "string" },
            "accepted": { "type": "integer" },
            "rejected": { "type": "array", "items": { "type": "object", "properties": { "index": { "type": "integer" }, "reason": { "type": "string" } } } },
        } },
        "Snapshot": { "type": "object", "properties": {
            "id": { "type": "string" }, "table": { "type": "string" },
            "format": { "type": "string", "enum": ["avro", "parquet"] }, "rows": { "type": "integer" },
            "schema": { "type": "array", "items": { "type": "object", "properties": { "name": { "type": "string" }, "data_type": { "type": "string" } } } },
            "files": { "type": "array", "items": { "type": "object", "properties": { "name": { "type": "string" }, "bytes": { "type": "integer" }, "sha256": { "type": "string" } } } },
            "source": { "type": "object", "properties": { "target": { "type": "string" }, "version": { "type": "integer" } } },
            "created_at": { "type": "string", "format": "date-time" }, "csvgate_version": { "type": "string" },
        } },
        "HiresByQuarter": { "type": "object", "properties": {
            "department": { "type": "string" }, "job": { "type": "string" },
            "Q1": { "type": "integer" }, "Q2": { "type": "integer" }, "Q3": { "type": "integer" }, "Q4": { "type": "integer" },
        } },
        "DepartmentAboveMean": { "type": "object", "properties": {
            "id": { "type": "integer" }, "department": { "type": "string" }, "hired": { "type": "integer" },
        } },
    });
    for table in dictionary.tables() {
        schemas[&table.name] = row_schema(table);
    }
    schemas
}

/// A ledger entry's statuses.
fn statuses() -> Vec<&'static str> {
    Status::ALL.iter().map(|status| status.as_str()).collect()
}

/// A run's statuses: its last entry's, or `running` while this server works on it.
fn run_statuses() -> Vec<&'static str> {
    let mut statuses = statuses();
    statuses.insert(1, "running");
    statuses
}

/// A table's row as JSON: from the dictionary, so the API documents the rules files obey.
fn row_schema(table: &Table) -> Value {
    let mut properties = serde_json::Map::new();
    for column in &table.columns {
        let mut schema = value_schema(&column.kind);
        if let Some(target) = &column.reference {
            schema["description"] = json!(format!("The id of a row of {target}."));
        }
        if !column.required {
            schema["nullable"] = json!(true);
        }
        properties.insert(column.name.clone(), schema);
    }
    let required: Vec<&str> = (table.columns.iter())
        .filter(|column| column.required)
        .map(|column| column.name.as_str())
        .collect();
    json!({
        "type": "object",
        "required": required,
        "properties": properties,
    })
}

/// The JSON a field of `kind` may be sent as (every field may also be its text).
fn value_schema(kind: &ColumnKind) -> Value {
    match kind {
        ColumnKind::Integer(bounds) => with_bounds(json!({ "type": "integer" }), bounds, true),
        ColumnKind::Number(bounds) => with_bounds(json!({ "type": "number" }), bounds, false),
        // A JSON number is a binary float on most clients: exact decimals travel as text.
        ColumnKind::Decimal {
            precision, scale, ..
        } => json!({ "type": "string", "pattern": decimal_pattern(*precision, *scale) }),
        ColumnKind::Text(rule) => {
            let mut schema = json!({ "type": "string", "minLength": rule.min_chars.unwrap_or(1) });
            if let Some(max) = rule.max_chars {
                schema["maxLength"] = json!(max);
            }
            if let Some(pattern) = &rule.pattern {
                schema["pattern"] = json!(pattern);
            }
            schema
        }
        ColumnKind::Date => json!({ "type": "string", "format": "date" }),
        ColumnKind::Timestamp => json!({ "type": "string", "format": "date-time" }),
        ColumnKind::Boolean => json!({ "type": "boolean" }),
    }
}

/// `schema` with the JSON Schema form of `bounds`; an integer's exclusive bound becomes the
/// inclusive one next to it (`> 0` is `minimum: 1`).
fn with_bounds(mut schema: Value, bounds: &Bounds, integer: bool) -> Value {
    let ends = [
        ("minimum", "exclusiveMinimum", &bounds.lower, 1),
        ("maximum", "exclusiveMaximum", &bounds.upper, -1),
    ];
    for (inclusive, exclusive, bound, step) in ends {
        let Some(bound) = bound else { continue };
        let whole = bound.literal.parse::<i64>().ok().filter(|_| integer);
        match (bound.exclusive, whole) {
            (true, Some(whole)) => schema[inclusive] = json!(whole + step),
            // OpenAPI 3.0's exclusive bounds are flags on the inclusive ones.
            (true, None) => {
                schema[inclusive] = number(&bound.literal);
                schema[exclusive] = json!(true);
            }
            (false, _) => schema[inclusive] = number(&bound.literal),
        }
    }
    schema
}

/// What the rules accept as a `DECIMAL(precision, scale)`, as a pattern: at most
/// `precision - scale` significant digits before the point, `scale` after it.
fn decimal_pattern(precision: u8, scale: u8) -> String {
    let whole = precision - scale;
    let before = match whole {
        0 => "0+".to_owned(),
        _ => format!("0*[0-9]{{1,{whole}}}"),
    };
    match scale {
        0 => format!("^[+-]?{before}\\.?$"),
        _ => format!("^[+-]?({before}(\\.[0-9]{{0,{scale}}})?|\\.[0-9]{{1,{scale}}})$"),
    }
}

/// A bound's literal as a JSON number.
fn number(literal: &str) -> Value {
    serde_json::from_str(literal).unwrap_or_else(|_| json!(literal))
}
