//! Data values (JSON, or CSV strings) → minijinja values, types kept.

use std::collections::BTreeMap;

use minijinja::Value;

/// The row's variables as a template context. JSON values keep their types (numbers,
/// lists, nested objects); CSV values are strings.
pub(crate) fn context(values: &serde_json::Map<String, serde_json::Value>) -> Value {
    Value::from(
        values
            .iter()
            .map(|(k, v)| (k.clone(), json_value(v)))
            .collect::<BTreeMap<String, Value>>(),
    )
}

fn json_value(value: &serde_json::Value) -> Value {
    match value {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => {
            Value::from(items.iter().map(json_value).collect::<Vec<_>>())
        }
        serde_json::Value::Object(map) => context(map),
    }
}
