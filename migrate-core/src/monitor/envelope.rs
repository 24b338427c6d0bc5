//! The JSON form of an event in sinks: its serde form plus `seq` and `ts`.

use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::event::Event;

/// `event`'s serde form (`{"event": "migration_applied", "name": …}`) with `seq` (its 1-based
/// position in the sink's stream) and `ts` (now, RFC 3339 UTC with milliseconds) added.
#[must_use]
pub fn event_json(event: &Event, seq: u64) -> Value {
    let mut object = match serde_json::to_value(event) {
        Ok(Value::Object(map)) => map,
        // Every variant is a struct or unit variant under a tag, hence an object; keep the
        // event rather than lose it should that ever change.
        Ok(other) => Map::from_iter([("event".to_owned(), other)]),
        Err(e) => Map::from_iter([
            ("event".to_owned(), Value::from("unserializable")),
            ("error".to_owned(), Value::from(e.to_string())),
        ]),
    };
    object.insert("seq".to_owned(), Value::from(seq));
    object.insert(
        "ts".to_owned(),
        Value::from(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)),
    );
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn event_json_adds_seq_and_utc_timestamp() {
        let value = event_json(
            &Event::MigrationApplied {
                name: "20240101_init".into(),
                duration: Duration::from_millis(1500),
            },
            7,
        );
        assert_eq!(value["event"], "migration_applied");
        assert_eq!(value["name"], "20240101_init");
        assert_eq!(value["duration_ms"], 1500.0);
        assert_eq!(value["seq"], 7);
        let ts = value["ts"].as_str().unwrap();
        assert!(ts.ends_with('Z'), "{ts}");
        assert!(chrono::DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
    }
}
