//! Rules the body parser enforces on every request, written into the schemas so that the
//! document promises what the server accepts and nothing more: objects of request bodies are
//! closed (an unknown field is a 422), and no string of a body or query may hold NUL
//! (PostgreSQL cannot store it). Also what code generators need from serde's shapes: flattened
//! structs merged, internally tagged enums with their discriminator. Works on the JSON form
//! of the document.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

const SCHEMAS: &str = "#/components/schemas/";
/// Any text without NUL (U+0000).
pub const NO_NUL: &str = "^[^\\x00]*$";
/// Text without NUL that is not blank: the parser trims what must not be empty.
pub const NOT_BLANK: &str = "^[^\\x00]*[^\\s\\x00][^\\x00]*$";

/// Applies the rules to `doc`, the JSON of the whole document.
pub fn apply(doc: &mut Value) {
    flatten_all_of(doc);
    drop_unreferenced_schemas(doc);
    add_discriminators(doc);
    let (bodies, queries) = request_schemas(doc);
    let mut visited = BTreeSet::new();
    for pointer in bodies {
        let mut schema = doc
            .pointer_mut(&pointer)
            .map(Value::take)
            .unwrap_or_default();
        close(doc, &mut schema, &mut visited);
        if let Some(slot) = doc.pointer_mut(&pointer) {
            *slot = schema;
        }
    }
    for pointer in queries {
        if let Some(schema) = doc.pointer_mut(&pointer) {
            forbid_nul(schema);
        }
    }
}

/// JSON pointers to the schemas of every request body and every query parameter.
fn request_schemas(doc: &Value) -> (Vec<String>, Vec<String>) {
    let escape = |s: &str| s.replace('~', "~0").replace('/', "~1");
    let (mut bodies, mut queries) = (Vec::new(), Vec::new());
    let paths = doc["paths"].as_object().into_iter().flatten();
    for (path, item) in paths {
        for (method, op) in item.as_object().into_iter().flatten() {
            let at = format!("/paths/{}/{method}", escape(path));
            for media in op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                bodies.push(format!(
                    "{at}/requestBody/content/{}/schema",
                    escape(media.0)
                ));
            }
            let parameters = op["parameters"].as_array().into_iter().flatten();
            for (i, parameter) in parameters.enumerate() {
                if parameter["in"] == "query" {
                    queries.push(format!("{at}/parameters/{i}/schema"));
                }
            }
        }
    }
    (bodies, queries)
}

/// Serde's `flatten` comes out as `allOf: [{$ref}, {own fields}]`: merged into one object, so
/// that the referenced schema can be closed without closing out the fields beside it.
fn flatten_all_of(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object().cloned() else {
        return;
    };
    for (name, schema) in &schemas {
        let Some(parts) = schema["allOf"].as_array() else {
            continue;
        };
        let mut properties = Map::new();
        let mut required = Vec::new();
        for part in parts {
            let part = match part["$ref"].as_str().and_then(|r| r.strip_prefix(SCHEMAS)) {
                Some(target) => &schemas[target],
                None => part,
            };
            if let Some(own) = part["properties"].as_object() {
                properties.extend(own.clone());
            }
            required.extend(part["required"].as_array().cloned().unwrap_or_default());
        }
        let mut merged = serde_json::json!({"type": "object", "properties": properties});
        if !required.is_empty() {
            merged["required"] = Value::Array(required);
        }
        if let Some(description) = schema.get("description") {
            merged["description"] = description.clone();
        }
        doc["components"]["schemas"][name] = merged;
    }
}

/// `#[serde(tag = "kind")]` comes out as a `oneOf` of inline objects that each fix `kind` to
/// one value: each becomes a component of its own (`UnreadableReasonLoginRefused`) and the
/// union names `kind` as its discriminator, mapping every value to its schema.
fn add_discriminators(doc: &mut Value) {
    let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
        return;
    };
    let mut added = Vec::new();
    for (name, schema) in schemas.iter_mut() {
        let Some(Value::Array(members)) = schema.get_mut("oneOf") else {
            continue;
        };
        let tags: BTreeSet<Option<String>> = members.iter().map(fixed_property).collect();
        let Some(Some(tag)) = tags.first().filter(|_| tags.len() == 1).cloned() else {
            continue;
        };
        let mut mapping = Map::new();
        for member in members.iter_mut() {
            let value = member["properties"][&tag]["enum"][0]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let component = format!("{name}{}", pascal_case(&value));
            let reference = format!("{SCHEMAS}{component}");
            mapping.insert(value, Value::String(reference.clone()));
            added.push((
                component,
                std::mem::replace(member, serde_json::json!({ "$ref": reference })),
            ));
        }
        schema["discriminator"] = serde_json::json!({ "propertyName": tag, "mapping": mapping });
    }
    schemas.extend(added);
}

fn pascal_case(snake: &str) -> String {
    snake
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}

/// The required property a `oneOf` member fixes to one value, if exactly one does.
fn fixed_property(member: &Value) -> Option<String> {
    let required = member.get("required")?.as_array()?;
    let fixed: Vec<&String> = member
        .get("properties")?
        .as_object()?
        .iter()
        .filter(|(name, p)| {
            p.get("enum")
                .and_then(Value::as_array)
                .is_some_and(|e| e.len() == 1)
                && required.iter().any(|r| r == name.as_str())
        })
        .map(|(name, _)| name)
        .collect();
    match fixed.as_slice() {
        [one] => Some(one.to_string()),
        _ => None,
    }
}

/// Schemas only ever merged into others (a flattened struct) are no component of their own.
fn drop_unreferenced_schemas(doc: &mut Value) {
    loop {
        let mut referenced = BTreeSet::new();
        collect_refs(doc, &mut referenced);
        let Some(schemas) = doc["components"]["schemas"].as_object_mut() else {
            return;
        };
        let before = schemas.len();
        schemas.retain(|name, _| referenced.contains(&format!("{SCHEMAS}{name}")));
        if schemas.len() == before {
            return;
        }
    }
}

fn collect_refs(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.insert(target.clone());
            }
            map.values().for_each(|v| collect_refs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, found)),
        _ => {}
    }
}

/// Closes every object `schema` reaches (following `$ref`s once each) and forbids NUL in its
/// strings.
fn close(doc: &mut Value, schema: &mut Value, visited: &mut BTreeSet<String>) {
    if let Some(target) = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix(SCHEMAS))
    {
        let target = target.to_string();
        if visited.insert(target.clone()) {
            let mut component = doc["components"]["schemas"][&target].take();
            close(doc, &mut component, visited);
            doc["components"]["schemas"][&target] = component;
        }
        return;
    }
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.contains_key("properties") && !object.contains_key("additionalProperties") {
        object.insert("additionalProperties".into(), Value::Bool(false));
    }
    forbid_nul(schema);
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    // `get_mut`, not indexing: indexing a missing key would insert `null`.
    if let Some(Value::Object(children)) = object.get_mut("properties") {
        for child in children.values_mut() {
            close(doc, child, visited);
        }
    }
    for key in ["items", "additionalProperties", "propertyNames"] {
        if let Some(child) = object.get_mut(key).filter(|c| c.is_object()) {
            close(doc, child, visited);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(parts)) = object.get_mut(key) {
            for part in parts {
                close(doc, part, visited);
            }
        }
    }
}

/// A free-text string (no format, enum or pattern of its own) may not hold NUL, and one that
/// may not be empty may not be blank either (`\S`, the pattern of "not only white space",
/// says the same).
fn forbid_nul(schema: &mut Value) {
    let is_string = match &schema["type"] {
        Value::String(t) => t == "string",
        Value::Array(types) => types.iter().any(|t| t == "string"),
        _ => false,
    };
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if !is_string
        || ["format", "enum", "const"]
            .iter()
            .any(|k| object.contains_key(*k))
    {
        return;
    }
    let not_empty = object.get("minLength").and_then(Value::as_u64).unwrap_or(0) > 0;
    let pattern = match object.get("pattern").and_then(Value::as_str) {
        None if not_empty => NOT_BLANK,
        None => NO_NUL,
        Some("\\S") => NOT_BLANK,
        Some(_) => return,
    };
    object.insert("pattern".into(), Value::String(pattern.into()));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_objects_are_closed_and_flattened() {
        let mut doc = json!({
            "paths": {"/a": {"put": {
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Row"}}}},
                "parameters": [{"in": "query", "name": "q", "schema": {"type": "string"}}]
            }}},
            "components": {"schemas": {
                "Forms": {"type": "object", "properties": {"p": {"type": ["integer", "null"]}}},
                "Row": {"allOf": [{"$ref": "#/components/schemas/Forms"},
                    {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}]}
            }}
        });
        apply(&mut doc);
        let row = &doc["components"]["schemas"]["Row"];
        assert_eq!(row["additionalProperties"], false);
        assert_eq!(row["required"], json!(["id"]));
        assert_eq!(row["properties"]["id"]["pattern"], NO_NUL);
        assert!(row["properties"]["p"].get("pattern").is_none());
        // Only merged into `Row`: no component of its own any more.
        assert!(doc["components"]["schemas"].get("Forms").is_none());
        assert_eq!(
            doc["paths"]["/a"]["put"]["parameters"][0]["schema"]["pattern"],
            NO_NUL
        );
    }
}
