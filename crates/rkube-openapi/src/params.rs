//! The parameters of the operations, in the Swagger 2.0 form. The names,
//! locations and types are the ones kube-apiserver declares; clients look
//! them up by name (kubectl checks `fieldValidation` on PATCH before it
//! leaves validation to the server).

use serde_json::{Value, json};

use crate::definitions::{META, V2_REF};

fn query(name: &str, ty: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "type": ty,
        "uniqueItems": true,
    })
}

fn path(name: &str, description: String) -> Value {
    json!({
        "name": name,
        "in": "path",
        "description": description,
        "required": true,
        "type": "string",
        "uniqueItems": true,
    })
}

pub(crate) fn name(kind: &str) -> Value {
    path("name", format!("name of the {kind}"))
}

pub(crate) fn namespace() -> Value {
    path(
        "namespace",
        "object name and auth scope, such as for teams and projects".into(),
    )
}

pub(crate) fn pretty() -> Value {
    query(
        "pretty",
        "string",
        "If 'true', the output is indented for people to read.",
    )
}

/// The request body: an object of definition `def`.
pub(crate) fn body(def: &str, required: bool) -> Value {
    json!({
        "name": "body",
        "in": "body",
        "required": required,
        "schema": {"$ref": format!("{V2_REF}{def}")},
    })
}

pub(crate) fn patch_definition() -> String {
    format!("{META}Patch")
}

fn dry_run() -> Value {
    query(
        "dryRun",
        "string",
        "When present, the request is validated and admitted but not persisted. The only valid value is All.",
    )
}

fn field_manager() -> Value {
    query(
        "fieldManager",
        "string",
        "Name of the actor making the change, recorded in managedFields. At most 128 printable characters. Required for apply patches.",
    )
}

fn field_validation() -> Value {
    query(
        "fieldValidation",
        "string",
        "What the server does with unknown or duplicate fields in the body: Ignore drops them silently, Warn drops them and returns a warning for each (the default), Strict fails the request.",
    )
}

/// The parameters of create, replace and patch.
pub(crate) fn write() -> Vec<Value> {
    vec![dry_run(), field_manager(), field_validation()]
}

pub(crate) fn force() -> Value {
    query(
        "force",
        "boolean",
        "Apply patches only: take over fields other managers own instead of failing with a conflict.",
    )
}

fn selectors_and_paging() -> Vec<Value> {
    vec![
        query(
            "continue",
            "string",
            "Opaque token from a previous list response, to fetch the next page of results.",
        ),
        query(
            "fieldSelector",
            "string",
            "Restrict the returned objects by their fields. Defaults to everything.",
        ),
        query(
            "labelSelector",
            "string",
            "Restrict the returned objects by their labels. Defaults to everything.",
        ),
        query(
            "limit",
            "integer",
            "Maximum number of objects to return in one page; a continue token is returned when more exist.",
        ),
        query(
            "resourceVersion",
            "string",
            "Which version of the collection to serve, as constrained by resourceVersionMatch. Defaults to the most recent.",
        ),
        query(
            "resourceVersionMatch",
            "string",
            "How resourceVersion applies to list calls: Exact or NotOlderThan.",
        ),
        query(
            "sendInitialEvents",
            "boolean",
            "With watch=true, start the stream with synthetic events for the current state, then a bookmark.",
        ),
        query(
            "timeoutSeconds",
            "integer",
            "Timeout for the list or watch call, whatever the activity.",
        ),
    ]
}

/// The parameters of list and watch.
pub(crate) fn list() -> Vec<Value> {
    let mut out = vec![query(
        "allowWatchBookmarks",
        "boolean",
        "Ask for BOOKMARK watch events; servers may ignore the request.",
    )];
    out.extend(selectors_and_paging());
    out.push(query(
        "watch",
        "boolean",
        "Watch for changes to the described resources instead of listing them.",
    ));
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    out
}

fn deletion() -> Vec<Value> {
    vec![
        query(
            "gracePeriodSeconds",
            "integer",
            "Seconds before the object is deleted; zero means immediately. Defaults to the kind's own value.",
        ),
        query(
            "ignoreStoreReadErrorWithClusterBreakingPotential",
            "boolean",
            "Delete an object that cannot be read from storage. Dangerous.",
        ),
        query(
            "orphanDependents",
            "boolean",
            "Deprecated: use propagationPolicy. Whether dependents are orphaned.",
        ),
        query(
            "propagationPolicy",
            "string",
            "Whether and how garbage collection deletes dependents: Orphan, Background or Foreground.",
        ),
    ]
}

/// The parameters of delete.
pub(crate) fn delete() -> Vec<Value> {
    let mut out = vec![dry_run()];
    out.extend(deletion());
    out
}

/// The parameters of deletecollection.
pub(crate) fn delete_collection() -> Vec<Value> {
    let mut out = vec![dry_run()];
    out.extend(deletion());
    out.extend(selectors_and_paging());
    out.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    out
}
