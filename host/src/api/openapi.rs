//! The OpenAPI 3 document, generated from the route table.

use super::routes::{Access, ROUTES};
use serde_json::{json, Map, Value};

/// The document served at `/v1/openapi.json`.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let params: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| {
                json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
            })
            .collect();
        let security = match route.access {
            Access::Public => json!([]),
            Access::Signed | Access::Admin => json!([{"bearer": []}]),
        };
        let role = match route.access {
            Access::Public => "public",
            Access::Signed => "admin or agent",
            Access::Admin => "admin",
        };
        let mut responses = json!({
            "200": {"description": "success"},
            "400": {"$ref": "#/components/responses/Error"},
            "404": {"$ref": "#/components/responses/Error"}
        });
        if route.access != Access::Public {
            responses["401"] = json!({"$ref": "#/components/responses/Error"});
            responses["403"] = json!({"$ref": "#/components/responses/Error"});
        }
        let operation = json!({
            "summary": route.summary,
            "operationId": format!("{:?}", route.op),
            "description": format!("Who may call it: {role}."),
            "parameters": params,
            "security": security,
            "responses": responses,
        });
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        entry[route.method.to_ascii_lowercase()] = operation;
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "tocsin",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Help-desk event engine: events in, rules, audit, help-desk commands out."
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {"Error": {
                "description": "an error",
                "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"error": {"type": "object", "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "path": {"type": "string", "nullable": true}
                    }}}
                }}}
            }}
        }
    })
}
