//! API errors as kube-apiserver reports them: a `meta.k8s.io/v1` Status with
//! the same code, reason, message wording and details.

use serde_json::{Value, json};

/// One field-level problem inside an `Invalid` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`,
    /// `FieldValueDuplicate`, `FieldValueForbidden`, `FieldValueTooLong`, ...
    pub reason: &'static str,
    /// The full message, e.g. `Required value` or
    /// `Invalid value: "Foo": a lowercase RFC 1123 ...`.
    pub message: String,
    /// The field path, e.g. `metadata.name` or `spec.containers[0].image`.
    pub field: String,
}

impl Cause {
    pub fn required(field: impl Into<String>) -> Self {
        Self::with_detail(field, "FieldValueRequired", "Required value".to_string())
    }

    pub fn required_detail(field: impl Into<String>, detail: &str) -> Self {
        Self::with_detail(
            field,
            "FieldValueRequired",
            format!("Required value: {detail}"),
        )
    }

    /// `Invalid value: <value>: <detail>`.
    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Self {
        let shown = render_value(value);
        let message = if detail.is_empty() {
            format!("Invalid value: {shown}")
        } else {
            format!("Invalid value: {shown}: {detail}")
        };
        Self::with_detail(field, "FieldValueInvalid", message)
    }

    pub fn not_supported(field: impl Into<String>, value: &Value, supported: &[&str]) -> Self {
        let list: Vec<String> = supported.iter().map(|s| format!("\"{s}\"")).collect();
        let message = format!(
            "Unsupported value: {}: supported values: {}",
            render_value(value),
            list.join(", ")
        );
        Self::with_detail(field, "FieldValueNotSupported", message)
    }

    pub fn duplicate(field: impl Into<String>, value: &Value) -> Self {
        let message = format!("Duplicate value: {}", render_value(value));
        Self::with_detail(field, "FieldValueDuplicate", message)
    }

    pub fn forbidden(field: impl Into<String>, detail: &str) -> Self {
        Self::with_detail(field, "FieldValueForbidden", format!("Forbidden: {detail}"))
    }

    pub fn with_detail(field: impl Into<String>, reason: &'static str, message: String) -> Self {
        Cause {
            reason,
            message,
            field: field.into(),
        }
    }
}

/// How upstream's field errors print a value: strings quoted, numbers bare.
fn render_value(value: &Value) -> String {
    match value {
        Value::String(s) => format!("{s:?}"),
        Value::Null => "null".to_string(),
        other => other.to_string(),
    }
}

/// An error answered to a client as a Status object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    /// Empty for errors upstream sends without a reason (plain 400s).
    pub reason: &'static str,
    pub message: String,
    /// `details` of the Status (name, group, kind, causes, retryAfterSeconds).
    pub details: Option<Value>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;

/// What a resource is called in error details: the plural and group.
#[derive(Debug, Clone, Copy)]
pub struct Qualified<'a> {
    pub group: &'a str,
    pub resource: &'a str,
}

impl Qualified<'_> {
    fn display(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    fn details(&self, name: &str) -> Value {
        let mut d = json!({"name": name});
        if !self.group.is_empty() {
            d["group"] = json!(self.group);
        }
        d["kind"] = json!(self.resource);
        d
    }
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn not_found(what: Qualified<'_>, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", what.display(), name),
        )
        .with_details(what.details(name))
    }

    pub fn already_exists(what: Qualified<'_>, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", what.display(), name),
        )
        .with_details(what.details(name))
    }

    /// The optimistic-concurrency conflict.
    pub fn conflict(what: Qualified<'_>, name: &str, detail: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                what.display(),
                name,
                detail
            ),
        )
        .with_details(what.details(name))
    }

    pub fn modified_conflict(what: Qualified<'_>, name: &str) -> Self {
        Self::conflict(
            what,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// 422 with field causes: `Pod "x" is invalid: [a: Required value, b: ...]`.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> Self {
        let rendered: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let summary = if rendered.len() == 1 {
            rendered[0].clone()
        } else {
            format!("[{}]", rendered.join(", "))
        };
        let qualified_kind = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let mut details = json!({"name": name});
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        details["kind"] = json!(kind);
        details["causes"] = Value::Array(
            causes
                .iter()
                .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                .collect(),
        );
        Self::new(
            422,
            "Invalid",
            format!("{qualified_kind} \"{name}\" is invalid: {summary}"),
        )
        .with_details(details)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {content_type})"
            ),
        )
    }

    pub fn not_acceptable(message: impl Into<String>) -> Self {
        Self::new(406, "NotAcceptable", message)
    }

    /// 410 Expired for a resourceVersion older than the compaction window.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Gone", message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(413, "RequestEntityTooLarge", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    pub fn too_many_requests(message: impl Into<String>) -> Self {
        Self::new(429, "TooManyRequests", message)
    }

    /// The `Status` object sent to the client.
    pub fn to_status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        });
        if !self.reason.is_empty() {
            status["reason"] = json!(self.reason);
        }
        if let Some(d) = &self.details {
            status["details"] = d.clone();
        }
        status["code"] = json!(self.code);
        status
    }
}

/// A `Success` Status, as upstream returns for some deletes.
pub fn success_status(details: Option<Value>) -> Value {
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
    });
    if let Some(d) = details {
        status["details"] = d;
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_reads_like_upstream() {
        let e = ApiError::not_found(
            Qualified {
                group: "apps",
                resource: "deployments",
            },
            "web",
        );
        let s = e.to_status();
        assert_eq!(s["message"], "deployments.apps \"web\" not found");
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["code"], 404);
        assert_eq!(s["details"]["group"], "apps");
    }

    #[test]
    fn invalid_lists_causes() {
        let e = ApiError::invalid(
            "",
            "Pod",
            "x",
            vec![
                Cause::required("spec.containers"),
                Cause::invalid("metadata.name", &json!("X"), "bad"),
            ],
        );
        assert_eq!(
            e.message,
            "Pod \"x\" is invalid: [spec.containers: Required value, metadata.name: Invalid value: \"X\": bad]"
        );
        assert_eq!(e.code, 422);
    }
}
