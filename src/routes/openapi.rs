//! The OpenAPI document as clients and fuzzers read it: poem-openapi's spec, completed with
//! what it leaves out. Every operation documents the contract's error answers with the error
//! schema and has an operationId; a property that may be absent is marked nullable, since
//! poem-openapi writes `null` for it; the fields and parameters that take one of a fixed set
//! of names list them, taken from the domain's own enums.

use serde_json::{Map, Value, json};

use crate::{
    campaign::{PhaseKey, WorkKind},
    domain::{listing::Sort, role::Role, vote::VoteStatus, work::WorkStatus},
    storage::sniff::MediaKind,
};

/// Where a name from a fixed set goes in the document.
enum Place {
    /// A property of a component schema.
    Property(&'static str, &'static str),
    /// A query parameter of an operation (method, path, name).
    Query(&'static str, &'static str, &'static str),
}

/// Every place that takes a name from a fixed set, with the names.
fn enums() -> Vec<(Place, Vec<&'static str>)> {
    let roles: Vec<_> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let phases: Vec<_> = PhaseKey::ALL.iter().map(|p| p.as_str()).collect();
    let work_statuses: Vec<_> = WorkStatus::ALL.iter().map(|s| s.as_str()).collect();
    let vote_statuses: Vec<_> = VoteStatus::ALL.iter().map(|s| s.as_str()).collect();
    let media: Vec<_> = MediaKind::ALL.iter().map(|k| k.as_str()).collect();
    vec![
        (Place::Property("NewToken", "role"), roles.clone()),
        (Place::Property("CreatedToken", "role"), roles),
        (
            Place::Property("ReviewRequest", "decision"),
            vec!["approve", "reject"],
        ),
        (Place::Property("PhaseOverride", "phase"), phases.clone()),
        (Place::Property("CampaignView", "phase"), phases.clone()),
        (Place::Property("PhaseNow", "phase"), phases),
        (Place::Property("WorkView", "status"), work_statuses.clone()),
        (Place::Property("VoteRow", "status"), vote_statuses.clone()),
        (
            Place::Property("CategoryView", "kind"),
            WorkKind::ALL.iter().map(|k| k.as_str()).collect(),
        ),
        (Place::Property("MediaView", "kind"), media.clone()),
        (Place::Property("UploadBody", "kind"), media),
        (
            Place::Query("get", "/api/v1/works", "sort"),
            Sort::NAMES.to_vec(),
        ),
        (
            Place::Query("get", "/api/v1/admin/works", "status"),
            work_statuses,
        ),
        (
            Place::Query("get", "/api/v1/admin/votes", "status"),
            vote_statuses,
        ),
    ]
}

fn add_enums(doc: &mut Value) {
    for (place, names) in enums() {
        let schema = match place {
            Place::Property(schema, property) => doc.pointer_mut(&format!(
                "/components/schemas/{schema}/properties/{property}"
            )),
            Place::Query(method, path, name) => doc
                .pointer_mut(&format!(
                    "/paths/{}/{method}/parameters",
                    path.replace('~', "~0").replace('/', "~1")
                ))
                .and_then(Value::as_array_mut)
                .and_then(|params| params.iter_mut().find(|p| p["name"] == name))
                .and_then(|param| param.get_mut("schema")),
        };
        if let Some(schema) = schema.and_then(Value::as_object_mut) {
            schema.insert("enum".to_owned(), json!(names));
        } else {
            tracing::warn!(?names, "OpenAPI: an enum's place is not in the document");
        }
    }
}

/// Error answers any operation may give: (status, code, when), as in the contract.
const ERRORS: [(&str, &str, &str); 13] = [
    (
        "400",
        "bad_request",
        "malformed body or parameter; `fields` names them",
    ),
    (
        "401",
        "unauthenticated",
        "missing, unknown or expired token",
    ),
    (
        "403",
        "forbidden",
        "the role does not allow it, or phase_closed",
    ),
    (
        "404",
        "not_found",
        "no such thing, or not visible to the caller",
    ),
    (
        "408",
        "request_timeout",
        "the body stalled or arrived too slowly",
    ),
    (
        "409",
        "already_voted_today",
        "a second vote for the same work on the same day",
    ),
    ("413", "too_large", "body or upload over its size limit"),
    (
        "415",
        "unsupported_media",
        "a body or upload of a type not taken",
    ),
    (
        "422",
        "invalid_work",
        "a rule is broken (invalid_work, invalid_input, invalid_data)",
    ),
    (
        "429",
        "rate_limited",
        "too many requests or daily_vote_limit; see Retry-After",
    ),
    ("500", "internal", "a bug; the cause is logged"),
    (
        "502",
        "wechat_error",
        "WeChat answered an error that retrying cannot fix",
    ),
    (
        "503",
        "unavailable",
        "database or WeChat unreachable; safe to retry (Retry-After)",
    ),
];

/// The error body every error answer has.
fn error_schema() -> Value {
    let codes: Vec<&str> = ERRORS
        .iter()
        .map(|(_, code, _)| *code)
        .chain([
            "phase_closed",
            "daily_vote_limit",
            "invalid_input",
            "invalid_data",
            "invalid_login_code",
            "login_blocked",
            "method_not_allowed",
        ])
        .collect();
    json!({
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": codes},
                "message": {"type": "string", "description": "Chinese text for the user"},
                "fields": {
                    "type": "object",
                    "description": "field name (or path) → what is wrong with it",
                    "additionalProperties": {"type": "string"}
                }
            }
        }}
    })
}

/// Route labels as people read them: poem's pattern of each documented path
/// (`/api/v1/works/:param0`) to the document's template (`/api/v1/works/{id}`).
pub fn route_templates(spec: &str) -> std::collections::HashMap<String, String> {
    let Ok(doc) = serde_json::from_str::<Value>(spec) else {
        return std::collections::HashMap::new();
    };
    let paths = doc.get("paths").and_then(Value::as_object);
    paths
        .into_iter()
        .flat_map(|paths| paths.keys())
        .map(|template| {
            let mut index = 0;
            let pattern = template
                .split('/')
                .map(|segment| {
                    if segment.starts_with('{') && segment.ends_with('}') {
                        let name = format!(":param{index}");
                        index += 1;
                        name
                    } else {
                        segment.to_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            (pattern, template.clone())
        })
        .collect()
}

/// A route label for a pattern no document names: `:name` and `*name` as `{name}`.
pub fn plain_template(pattern: &str) -> String {
    pattern
        .split('/')
        .map(
            |segment| match segment.strip_prefix(':').or(segment.strip_prefix('*')) {
                Some(name) => format!("{{{name}}}"),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Completes poem-openapi's JSON document; a document that does not parse is returned as is.
pub fn complete(spec: &str) -> String {
    let Ok(mut doc) = serde_json::from_str::<Value>(spec) else {
        return spec.to_owned();
    };
    add_enums(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                if let Some(operation) = operation.as_object_mut() {
                    complete_operation(method, path, operation);
                }
            }
        }
    }
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for schema in schemas.values_mut() {
            mark_nullable(schema);
        }
        schemas.insert("Error".to_owned(), error_schema());
    } else if let Some(root) = doc.as_object_mut() {
        root.insert(
            "components".to_owned(),
            json!({"schemas": {"Error": error_schema()}}),
        );
    }
    serde_json::to_string(&doc).unwrap_or_else(|_| spec.to_owned())
}

fn complete_operation(method: &str, path: &str, operation: &mut Map<String, Value>) {
    if !operation.contains_key("operationId") {
        let id: String = format!("{method}_{path}")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect::<String>()
            .split('_')
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("_");
        operation.insert("operationId".to_owned(), Value::String(id));
    }
    let responses = operation
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(responses) = responses else {
        return;
    };
    for (status, code, when) in ERRORS {
        responses.entry(status).or_insert_with(|| {
            json!({
                "description": format!("{code}: {when}"),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            })
        });
    }
}

/// Marks every property that is not required as nullable, in `schema` and the object schemas
/// inside it.
fn mark_nullable(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let required: Vec<String> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(|n| n.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            mark_nullable(property);
            if required.contains(name) {
                continue;
            }
            if property.get("$ref").is_some() {
                // OpenAPI 3.0 ignores siblings of $ref: wrap it.
                let reference = std::mem::take(property);
                *property = json!({"allOf": [reference], "nullable": true});
            } else if let Some(property) = property.as_object_mut() {
                property.insert("nullable".to_owned(), Value::Bool(true));
                // OpenAPI 3.0: an enum lists null itself for a nullable property.
                if let Some(names) = property.get_mut("enum").and_then(Value::as_array_mut) {
                    names.push(Value::Null);
                }
            }
        }
    }
    if let Some(items) = object.get_mut("items") {
        mark_nullable(items);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::complete;

    fn doc() -> Value {
        json!({
            "openapi": "3.0.0",
            "paths": {"/api/v1/works/{id}": {"get": {"responses": {"200": {"description": "ok"}}}}},
            "components": {"schemas": {"Work": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "integer"},
                    "title": {"type": "string"},
                    "author": {"$ref": "#/components/schemas/Author"},
                    "media": {"type": "array", "items": {"type": "object", "properties": {"url": {"type": "string"}}}}
                }
            }}}
        })
    }

    #[test]
    fn route_labels_read_as_the_document_names_them() {
        let spec = json!({"paths": {
            "/api/v1/works/{id}": {},
            "/api/v1/admin/export/{file}": {},
            "/healthz": {}
        }})
        .to_string();
        let labels = super::route_templates(&spec);
        assert_eq!(labels["/api/v1/works/:param0"], "/api/v1/works/{id}");
        assert_eq!(
            labels["/api/v1/admin/export/:param0"],
            "/api/v1/admin/export/{file}"
        );
        assert_eq!(labels["/healthz"], "/healthz");
        assert_eq!(super::plain_template("/media/*key"), "/media/{key}");
    }

    #[test]
    fn every_operation_gets_an_id_and_the_error_answers() {
        let done: Value = serde_json::from_str(&complete(&doc().to_string())).unwrap();
        let op = &done["paths"]["/api/v1/works/{id}"]["get"];
        assert_eq!(op["operationId"], "get_api_v1_works_id");
        assert_eq!(op["responses"]["200"]["description"], "ok", "kept");
        for status in ["400", "401", "403", "404", "422", "429", "503"] {
            assert_eq!(
                op["responses"][status]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/Error",
                "{status}"
            );
        }
        assert!(done["components"]["schemas"]["Error"].is_object());
    }

    #[test]
    fn optional_properties_are_nullable_and_required_ones_are_not() {
        let done: Value = serde_json::from_str(&complete(&doc().to_string())).unwrap();
        let work = &done["components"]["schemas"]["Work"]["properties"];
        assert!(work["id"].get("nullable").is_none());
        assert_eq!(work["title"]["nullable"], true);
        assert_eq!(work["author"]["nullable"], true);
        assert_eq!(
            work["author"]["allOf"][0]["$ref"],
            "#/components/schemas/Author"
        );
        assert_eq!(
            work["media"]["items"]["properties"]["url"]["nullable"],
            true
        );
    }
}
