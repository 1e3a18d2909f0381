//! `StrictJson<T>`: a JSON request body whose values must have the types its OpenAPI schema
//! says. poem-openapi turns a number or a boolean into a string where one is expected; here
//! `{"code": 5}` is a 400 that names `code`, before anything else reads the body.

use poem::{FromRequest, Request, RequestBody};
use poem_openapi::{
    impl_apirequest_for_payload,
    payload::{Json, ParsePayload, Payload},
    registry::{MetaSchema, MetaSchemaRef, Registry},
    types::{ParseFromJSON, Type},
};
use serde_json::Value;

use crate::error::AppError;

/// A JSON body checked value by value against its schema, then parsed.
pub struct StrictJson<T>(pub T);

impl<T> std::ops::Deref for StrictJson<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Type> Payload for StrictJson<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: ParseFromJSON> ParsePayload for StrictJson<T> {
    const IS_REQUIRED: bool = T::IS_REQUIRED;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let data = Vec::<u8>::from_request(request, body).await?;
        let value = if data.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&data)
                .map_err(|err| AppError::BadRequest(format!("JSON: {err}")))?
        };
        let mut registry = Registry::new();
        T::register(&mut registry);
        if let Some((path, expected)) = mismatch(&value, &T::schema_ref(), &registry, "") {
            return Err(AppError::field(&path, format!("应为{expected}")).into());
        }
        let parsed = T::parse_from_json(Some(value))
            .map_err(|err| AppError::BadRequest(err.into_message()))?;
        Ok(Self(parsed))
    }
}

impl_apirequest_for_payload!(StrictJson<T>, T: ParseFromJSON);

/// The first value of `value` whose JSON type is not its schema's: its path and the type asked
/// for, in words. Nulls and schemas without a single type (any, one-of) are left to the parser.
fn mismatch(
    value: &Value,
    schema: &MetaSchemaRef,
    registry: &Registry,
    path: &str,
) -> Option<(String, &'static str)> {
    let schema: &MetaSchema = match schema {
        MetaSchemaRef::Inline(schema) => schema,
        MetaSchemaRef::Reference(name) => registry.schemas.get(name)?,
    };
    if value.is_null() {
        return None;
    }
    let expected = match schema.ty {
        "string" if !value.is_string() => "字符串",
        "integer" if !(value.is_i64() || value.is_u64()) => "整数",
        "number" if !value.is_number() => "数字",
        "boolean" if !value.is_boolean() => "布尔值",
        "array" if !value.is_array() => "数组",
        "object" if !value.is_object() => "对象",
        _ => "",
    };
    if !expected.is_empty() {
        let path = if path.is_empty() { "body" } else { path };
        return Some((path.to_owned(), expected));
    }
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Array(items) => {
            let item_schema = schema.items.as_deref()?;
            items.iter().enumerate().find_map(|(i, item)| {
                mismatch(item, item_schema, registry, &format!("{path}[{i}]"))
            })
        }
        Value::Object(fields) => fields.iter().find_map(|(key, field)| {
            let field_schema = schema
                .properties
                .iter()
                .find(|(name, _)| name == key)
                .map(|(_, schema)| schema)
                .or(schema.additional_properties.as_deref())?;
            mismatch(field, field_schema, registry, &join(key))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use poem_openapi::{Object, registry::Registry, types::Type};
    use serde_json::json;

    use super::mismatch;

    #[derive(Object)]
    struct Inner {
        tags: Vec<String>,
    }

    #[derive(Object)]
    struct Outer {
        code: String,
        count: Option<i64>,
        inner: Option<Inner>,
        answers: Option<std::collections::BTreeMap<String, String>>,
    }

    fn check(value: serde_json::Value) -> Option<(String, &'static str)> {
        let mut registry = Registry::new();
        Outer::register(&mut registry);
        mismatch(&value, &Outer::schema_ref(), &registry, "")
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_path() {
        assert_eq!(check(json!({"code": 5})), Some(("code".into(), "字符串")));
        assert_eq!(
            check(json!({"code": true})),
            Some(("code".into(), "字符串"))
        );
        assert_eq!(
            check(json!({"code": "a", "count": "5"})),
            Some(("count".into(), "整数"))
        );
        assert_eq!(
            check(json!({"code": "a", "count": 1.5})),
            Some(("count".into(), "整数"))
        );
        assert_eq!(
            check(json!({"code": "a", "inner": {"tags": ["x", 2]}})),
            Some(("inner.tags[1]".into(), "字符串"))
        );
        assert_eq!(
            check(json!({"code": "a", "answers": {"t1": 3}})),
            Some(("answers.t1".into(), "字符串"))
        );
        assert_eq!(check(json!([1])), Some(("body".into(), "对象")));
    }

    #[test]
    fn well_typed_bodies_and_nulls_pass() {
        assert_eq!(check(json!({"code": "a"})), None);
        assert_eq!(
            check(json!({"code": "a", "count": null, "inner": null})),
            None
        );
        assert_eq!(
            check(
                json!({"code": "a", "count": 3, "inner": {"tags": []}, "answers": {"t": "accept"}})
            ),
            None
        );
    }
}
