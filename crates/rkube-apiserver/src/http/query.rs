//! Query parameters of resource requests, parsed once.

use rkube_api::status::ApiError;

/// Parameters that list, watch, get, write and delete requests share.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub watch: bool,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub limit: Option<i64>,
    pub continue_token: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub allow_watch_bookmarks: bool,
    pub send_initial_events: Option<bool>,
    pub dry_run: bool,
    pub field_manager: Option<String>,
    pub field_validation: Option<String>,
    pub force: bool,
    pub grace_period_seconds: Option<i64>,
    pub propagation_policy: Option<String>,
    pub orphan_dependents: Option<bool>,
    pub include_object: Option<String>,
    pub pretty: bool,
}

fn parse_bool(key: &str, value: &str) -> Result<bool, ApiError> {
    match value {
        "" | "1" | "true" | "True" | "TRUE" | "t" | "T" => Ok(true),
        "0" | "false" | "False" | "FALSE" | "f" | "F" => Ok(false),
        _ => Err(ApiError::bad_request(format!(
            "failed to parse query parameter {key}: strconv.ParseBool: parsing {value:?}: invalid syntax"
        ))),
    }
}

fn parse_int<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, ApiError> {
    value.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "failed to parse query parameter {key}: strconv.ParseInt: parsing {value:?}: invalid syntax"
        ))
    })
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut q = Query::default();
        let Some(raw) = raw else { return Ok(q) };
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            let v = value.as_ref();
            match key.as_ref() {
                "watch" => q.watch = parse_bool("watch", v)?,
                "resourceVersion" => q.resource_version = Some(v.to_string()),
                "resourceVersionMatch" => q.resource_version_match = Some(v.to_string()),
                "labelSelector" => q.label_selector = Some(v.to_string()),
                "fieldSelector" => q.field_selector = Some(v.to_string()),
                "limit" => q.limit = Some(parse_int("limit", v)?),
                "continue" => q.continue_token = Some(v.to_string()),
                "timeoutSeconds" => q.timeout_seconds = Some(parse_int("timeoutSeconds", v)?),
                "allowWatchBookmarks" => {
                    q.allow_watch_bookmarks = parse_bool("allowWatchBookmarks", v)?
                }
                "sendInitialEvents" => {
                    q.send_initial_events = Some(parse_bool("sendInitialEvents", v)?)
                }
                "dryRun" => {
                    if v != "All" {
                        return Err(ApiError::bad_request(format!(
                            "Invalid dryRun value: {v}; supported values: [\"All\"]"
                        )));
                    }
                    q.dry_run = true
                }
                "fieldManager" => q.field_manager = Some(v.to_string()),
                "fieldValidation" => q.field_validation = Some(v.to_string()),
                "force" => q.force = parse_bool("force", v)?,
                "gracePeriodSeconds" => {
                    q.grace_period_seconds = Some(parse_int("gracePeriodSeconds", v)?)
                }
                "propagationPolicy" => q.propagation_policy = Some(v.to_string()),
                "orphanDependents" => {
                    q.orphan_dependents = Some(parse_bool("orphanDependents", v)?)
                }
                "includeObject" => q.include_object = Some(v.to_string()),
                "pretty" => q.pretty = parse_bool("pretty", v)?,
                _ => {}
            }
        }
        Ok(q)
    }
}
