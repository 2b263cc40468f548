//! create, update and patch: the write path every resource shares.

use rand::Rng;
use rkube_api::apply::{self, ApplyError};
use rkube_api::status::{ApiError, ApiResult, Cause};
use rkube_api::{conversion, defaults, meta, validation};
use serde_json::{Value, json};

use super::read::to_client;
use super::{App, Ctx, Resp, body};
use crate::http::negotiation::{BodyFormat, body_format};
use crate::http::response;
use crate::registry::managed_fields::{self, WriteBy};
use crate::registry::store::{decode, parse_resource_version, qualified};
use crate::registry::strategy::{self, Part};

const GENERATE_NAME_ATTEMPTS: usize = 8;

/// Five characters from the alphabet upstream uses for generated names
/// (no vowels, so no words).
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The body converted to the form it is stored in.
fn to_storage(ctx: &Ctx, obj: Value) -> Value {
    conversion::to_storage(ctx.def, obj)
}

fn field_manager(ctx: &Ctx) -> ApiResult<String> {
    match ctx.query.field_manager.as_deref() {
        Some(m) if m.chars().count() > 128 => Err(ApiError::invalid(
            "meta.k8s.io",
            "CreateOptions",
            "",
            vec![Cause::with_detail(
                "fieldManager",
                "FieldValueTooLong",
                "Too long: may not be more than 128 bytes".into(),
            )],
        )),
        Some(m) if !m.is_empty() => Ok(m.to_string()),
        _ => Ok(managed_fields::default_manager(ctx.user_agent())),
    }
}

/// The namespace a namespaced write goes to, checked against the body,
/// and refused when missing or terminating (the NamespaceLifecycle
/// admission plugin).
async fn admit_namespace(app: &App, ctx: &Ctx, obj: &mut Value) -> ApiResult<()> {
    if !ctx.def.namespaced {
        if let Some(md) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            md.remove("namespace");
        }
        return Ok(());
    }
    let ns = ctx.info.namespace.clone().unwrap_or_default();
    let body_ns = meta::namespace(obj).to_string();
    if !body_ns.is_empty() && body_ns != ns {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    meta::metadata_mut(obj).insert("namespace".into(), json!(ns));
    let ns_def = rkube_api::catalogue::lookup("", "v1", "namespaces").expect("namespaces");
    let namespace = app.registry.get(ns_def, None, &ns).await?;
    if namespace["status"]["phase"] == "Terminating"
        || namespace["metadata"]["deletionTimestamp"].is_string()
    {
        return Err(ApiError::forbidden(format!(
            "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            ctx.def.qualified_name(),
            meta::name(obj)
        ))
        .with_details(json!({
            "name": meta::name(obj),
            "kind": ctx.def.plural,
            "causes": [{"reason": "NamespaceTerminating", "message": format!("namespace {ns} is being terminated"), "field": "metadata.namespace"}]
        })));
    }
    Ok(())
}

/// Upstream's decoder refuses some malformed values (quantities) with a
/// 400 before validation ever sees them.
fn check_decodable(ctx: &Ctx, obj: &Value) -> ApiResult<()> {
    validation::check_decodable(ctx.def, obj, &ctx.version).map_err(ApiError::bad_request)
}

fn check_valid(ctx: &Ctx, obj: &Value, old: Option<&Value>) -> ApiResult<()> {
    let mut causes = Vec::new();
    if meta::name(obj).is_empty() {
        causes.push(Cause::required_detail(
            "metadata.name",
            "name or generateName is required",
        ));
    }
    causes.extend(validation::validate(ctx.def, obj, old));
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(
            ctx.def.group,
            ctx.def.kind,
            meta::name(obj),
            causes,
        ))
    }
}

pub async fn create(app: &App, ctx: &Ctx, bytes: bytes::Bytes) -> ApiResult<Resp> {
    let directive = body::field_validation(ctx, "CreateOptions")?;
    let mut obj = body::decode_object(&ctx.headers, &bytes)?;
    body::check_type(ctx, &mut obj, ctx.def.kind)?;
    let warnings = check_fields(ctx, &mut obj, &bytes, directive)?;
    let mut resp = create_object(app, ctx, obj, Track::Update).await?;
    body::add_warnings(&mut resp, &warnings);
    Ok(resp)
}

/// The schema root of an object in the version its body names.
fn root_of(ctx: &Ctx, obj: &Value) -> Option<&'static str> {
    let gv = obj["apiVersion"].as_str().unwrap_or("");
    let version = gv.rsplit_once('/').map_or(gv, |(_, v)| v);
    rkube_api::patch::root_definition(ctx.def.group, version, ctx.def.kind)
}

/// Drops the body's unknown fields (always, as upstream's decoder does)
/// and reports them and repeated keys as `fieldValidation` asks: a 400
/// worded as a decoding failure of the kind, or Warning texts.
fn check_fields(
    ctx: &Ctx,
    obj: &mut Value,
    bytes: &[u8],
    directive: body::FieldValidation,
) -> ApiResult<Vec<String>> {
    let unknown = root_of(ctx, obj)
        .map(|root| body::drop_unknown_fields(obj, root))
        .unwrap_or_default();
    let duplicate = match body_format(&ctx.headers)? {
        BodyFormat::Json => body::duplicate_fields(bytes),
        _ => Vec::new(),
    };
    let version = obj["apiVersion"]
        .as_str()
        .and_then(|gv| gv.rsplit('/').next())
        .unwrap_or(&ctx.version)
        .to_string();
    let kind = ctx.def.kind;
    body::enforce(
        directive,
        body::field_problems(&unknown, &duplicate),
        Some(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: "
        )),
    )
}

/// How a write's field ownership is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Track {
    /// The server's own change: managedFields untouched.
    Raw,
    /// An Update operation: the writer takes the fields it changed.
    Update,
    /// Server-side apply: the apply engine already wrote managedFields.
    Apply,
}

/// Creates a decoded object (a POST body, or the result of an apply to a
/// missing object).
async fn create_object(app: &App, ctx: &Ctx, mut obj: Value, track: Track) -> ApiResult<Resp> {
    check_decodable(ctx, &obj)?;
    if !ctx.def.stored {
        return Err(ApiError::method_not_allowed(format!(
            "{} are not stored by this server",
            ctx.def.qualified_name()
        )));
    }
    admit_namespace(app, ctx, &mut obj).await?;
    let mut obj = to_storage(ctx, obj);
    let manager = field_manager(ctx)?;
    let now = meta::now_rfc3339();
    {
        let md = meta::metadata_mut(&mut obj);
        for server_owned in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            md.remove(server_owned);
        }
        if track != Track::Apply {
            md.remove("managedFields");
        }
        md.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        md.insert("creationTimestamp".into(), json!(now));
    }
    if strategy::tracks_generation(ctx.def) {
        meta::metadata_mut(&mut obj).insert("generation".into(), json!(1));
    } else {
        meta::metadata_mut(&mut obj).remove("generation");
    }
    strategy::prepare_for_create(ctx.def, &mut obj);
    defaults::prepare_for_create(ctx.def, &mut obj);
    defaults::apply(ctx.def, &mut obj);
    let generate = meta::name(&obj)
        .is_empty()
        .then(|| obj["metadata"]["generateName"].as_str().map(str::to_string))
        .flatten()
        .filter(|g| !g.is_empty());
    if let Some(prefix) = &generate {
        meta::metadata_mut(&mut obj)
            .insert("name".into(), json!(format!("{prefix}{}", random_suffix())));
    }
    check_valid(ctx, &obj, None)?;
    if track == Track::Update {
        let by = WriteBy {
            manager: &manager,
            api_version: &ctx.api_version(),
            subresource: None,
            now: &now,
        };
        managed_fields::record_update(ctx.def, &mut obj, None, &by);
    }
    if ctx.query.dry_run {
        return Ok(response::json(201, &to_client(ctx, obj)));
    }
    strategy::allocate(&app.registry, ctx.def, &mut obj)?;
    let mut attempts = 0;
    loop {
        match app.registry.create(ctx.def, obj.clone()).await {
            Ok(created) => return Ok(response::json(201, &to_client(ctx, created))),
            Err(e)
                if e.reason == "AlreadyExists"
                    && generate.is_some()
                    && attempts < GENERATE_NAME_ATTEMPTS =>
            {
                attempts += 1;
                let prefix = generate.as_deref().unwrap_or("");
                meta::metadata_mut(&mut obj)
                    .insert("name".into(), json!(format!("{prefix}{}", random_suffix())));
            }
            Err(e) => {
                strategy::release(&app.registry, ctx.def, &obj);
                return Err(e);
            }
        }
    }
}

/// POSTs to a named object's subresource (binding, eviction, token).
pub async fn create_subresource(app: &App, ctx: &Ctx, bytes: bytes::Bytes) -> ApiResult<Resp> {
    match (
        ctx.def.group,
        ctx.def.plural,
        ctx.info.subresource.as_deref(),
    ) {
        ("", "pods", Some("binding")) => bind_pod(app, ctx, bytes).await,
        ("", "serviceaccounts", Some("token")) => {
            super::token::request_token(app, ctx, bytes).await
        }
        _ => Err(ApiError::method_not_allowed(
            "the server does not allow this method on the requested resource",
        )),
    }
}

/// pods/binding: set spec.nodeName once, as the scheduler does.
async fn bind_pod(app: &App, ctx: &Ctx, bytes: bytes::Bytes) -> ApiResult<Resp> {
    let mut binding = body::decode_object(&ctx.headers, &bytes)?;
    if binding["kind"].as_str().unwrap_or("Binding") != "Binding" {
        return Err(ApiError::bad_request(
            "the object provided is unrecognized (must be of type Binding)",
        ));
    }
    binding["kind"] = json!("Binding");
    let node = binding["target"]["name"].as_str().unwrap_or("").to_string();
    if node.is_empty() {
        return Err(ApiError::invalid(
            "",
            "Binding",
            ctx.name(),
            vec![Cause::required("target.name")],
        ));
    }
    let name = ctx.name().to_string();
    let ns = ctx.namespace().map(str::to_string);
    guaranteed_update(app, ctx, None, |old| {
        if old["metadata"]["deletionTimestamp"].is_string() {
            return Err(ApiError::conflict(qualified(ctx.def), &name, "pod is being deleted, cannot be assigned to a host"));
        }
        let current = old["spec"]["nodeName"].as_str().unwrap_or("");
        if !current.is_empty() {
            return Err(ApiError::conflict(
                qualified(ctx.def),
                &name,
                &format!("pod {name} is already assigned to node \"{current}\""),
            ));
        }
        let mut new = old.clone();
        new["spec"]["nodeName"] = json!(node);
        let conditions = new["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let mut conditions: Vec<Value> = conditions.into_iter().filter(|c| c["type"] != "PodScheduled").collect();
        conditions.push(json!({"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": meta::now_rfc3339()}));
        new["status"]["conditions"] = Value::Array(conditions);
        Ok(new)
    }, Part::Main, ns.as_deref(), Track::Raw)
    .await?;
    Ok(response::json(
        201,
        &rkube_api::status::success_status(None),
    ))
}

/// Read-modify-write with retries on conflicts, as upstream's
/// GuaranteedUpdate: `change` maps the stored object (storage version) to
/// the new one. `precondition_rv` makes a conflict final instead of
/// retried. `track` says how ownership is recorded; `Track::Raw` also
/// skips the strategy (the change is the server's own).
async fn guaranteed_update(
    app: &App,
    ctx: &Ctx,
    precondition_rv: Option<i64>,
    mut change: impl FnMut(&Value) -> ApiResult<Value>,
    part: Part,
    namespace: Option<&str>,
    track: Track,
) -> ApiResult<Value> {
    let name = ctx.name().to_string();
    loop {
        let kv = app
            .registry
            .get_kv(ctx.def, namespace, &name)
            .await?
            .ok_or_else(|| ApiError::not_found(qualified(ctx.def), &name))?;
        if let Some(rv) = precondition_rv
            && rv != kv.mod_revision
        {
            return Err(ApiError::modified_conflict(qualified(ctx.def), &name));
        }
        let old = decode(&kv)?;
        let mut new = change(&old)?;
        if track != Track::Raw {
            preserve_server_metadata(&mut new, &old);
            strategy::prepare_for_update(ctx.def, &mut new, &old, part);
            defaults::prepare_for_update(ctx.def, &mut new, &old);
            defaults::apply(ctx.def, &mut new);
            check_valid(ctx, &new, Some(&old))?;
            if track == Track::Update {
                let manager = field_manager(ctx)?;
                let by = WriteBy {
                    manager: &manager,
                    api_version: &ctx.api_version(),
                    subresource: match part {
                        Part::Status => Some("status"),
                        Part::Main => None,
                    },
                    now: &meta::now_rfc3339(),
                };
                managed_fields::record_update(ctx.def, &mut new, Some(&old), &by);
            }
        }
        if without_rv(&new) == without_rv(&old) {
            return Ok(old);
        }
        if ctx.query.dry_run {
            return Ok(new);
        }
        // The last finalizer removed from an object being deleted lets it go.
        let finalized = new["metadata"]["deletionTimestamp"].is_string()
            && new["metadata"]["finalizers"]
                .as_array()
                .is_none_or(|f| f.is_empty())
            && !strategy::has_pending_spec_finalizers(ctx.def, &new);
        if finalized {
            match app
                .registry
                .delete(ctx.def, namespace, &name, kv.mod_revision)
                .await?
            {
                Ok(deleted) => {
                    strategy::release(&app.registry, ctx.def, &deleted);
                    return Ok(deleted);
                }
                Err(_) if precondition_rv.is_some() => {
                    return Err(ApiError::modified_conflict(qualified(ctx.def), &name));
                }
                Err(_) => continue,
            }
        }
        match app.registry.update(ctx.def, new, kv.mod_revision).await? {
            Ok(updated) => return Ok(updated),
            Err(_) if precondition_rv.is_some() => {
                return Err(ApiError::modified_conflict(qualified(ctx.def), &name));
            }
            Err(_) => continue,
        }
    }
}

fn without_rv(obj: &Value) -> Value {
    let mut c = obj.clone();
    if let Some(md) = c.get_mut("metadata").and_then(Value::as_object_mut) {
        md.remove("resourceVersion");
        // A write that changes nothing but the managedFields timestamp is
        // not a change.
        if let Some(Value::Array(mf)) = md.get_mut("managedFields") {
            for e in mf {
                if let Some(m) = e.as_object_mut() {
                    m.remove("time");
                }
            }
        }
    }
    c
}

/// Metadata the client cannot change through an update.
fn preserve_server_metadata(new: &mut Value, old: &Value) {
    let old_md = old["metadata"].as_object().cloned().unwrap_or_default();
    let md = meta::metadata_mut(new);
    for key in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "namespace",
        "name",
        "generation",
    ] {
        match old_md.get(key) {
            Some(v) => md.insert(key.into(), v.clone()),
            None => md.remove(key),
        };
    }
    md.remove("selfLink");
    if !md.contains_key("managedFields")
        && let Some(mf) = old_md.get("managedFields")
    {
        md.insert("managedFields".into(), mf.clone());
    }
}

fn part_of(ctx: &Ctx) -> Part {
    match ctx.info.subresource.as_deref() {
        Some("status") => Part::Status,
        _ => Part::Main,
    }
}

/// Checks a client may not skip on update: the name in the body matches
/// the URL, and uid, when sent, is the stored one.
fn check_identity(ctx: &Ctx, obj: &Value, old: &Value) -> ApiResult<()> {
    let body_name = meta::name(obj);
    if body_name != ctx.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            ctx.name()
        )));
    }
    if let Some(uid) = obj["metadata"]["uid"].as_str()
        && !uid.is_empty()
        && Some(uid) != old["metadata"]["uid"].as_str()
    {
        return Err(ApiError::conflict(
            qualified(ctx.def),
            ctx.name(),
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                old["metadata"]["uid"].as_str().unwrap_or("")
            ),
        ));
    }
    Ok(())
}

pub async fn update(app: &App, ctx: &Ctx, bytes: bytes::Bytes) -> ApiResult<Resp> {
    let directive = body::field_validation(ctx, "UpdateOptions")?;
    let mut obj = body::decode_object(&ctx.headers, &bytes)?;
    body::check_type(ctx, &mut obj, ctx.def.kind)?;
    let warnings = check_fields(ctx, &mut obj, &bytes, directive)?;
    check_decodable(ctx, &obj)?;
    if ctx.def.namespaced {
        let body_ns = meta::namespace(&obj);
        if !body_ns.is_empty() && Some(body_ns) != ctx.namespace() {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
    }
    let body_name = meta::name(&obj);
    if body_name != ctx.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            ctx.name()
        )));
    }
    let obj = to_storage(ctx, obj);
    let precondition = match obj["metadata"]["resourceVersion"].as_str() {
        Some(rv) if !rv.is_empty() => Some(parse_resource_version(rv)?),
        _ => None,
    };
    let part = part_of(ctx);
    let updated = guaranteed_update(
        app,
        ctx,
        precondition,
        |old| {
            check_identity(ctx, &obj, old)?;
            Ok(obj.clone())
        },
        part,
        ctx.namespace(),
        Track::Update,
    )
    .await?;
    let mut resp = response::json(200, &to_client(ctx, updated));
    body::add_warnings(&mut resp, &warnings);
    Ok(resp)
}

pub async fn patch(app: &App, ctx: &Ctx, bytes: bytes::Bytes) -> ApiResult<Resp> {
    let directive = body::field_validation(ctx, "PatchOptions")?;
    let format = body_format(&ctx.headers)?;
    let strategic_root = match format {
        BodyFormat::StrategicMergePatch => Some(
            rkube_api::patch::root_definition(ctx.def.group, &ctx.version, ctx.def.kind)
                .ok_or_else(|| {
                    ApiError::unsupported_media_type("application/strategic-merge-patch+json")
                })?,
        ),
        _ => None,
    };
    let patch_doc = match format {
        BodyFormat::MergePatch | BodyFormat::JsonPatch | BodyFormat::StrategicMergePatch => {
            body::parse_json(&bytes)?
        }
        BodyFormat::ApplyPatch => return apply_patch(app, ctx, &bytes).await,
        _ => {
            return Err(ApiError::unsupported_media_type(
                ctx.headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(""),
            ));
        }
    };
    let duplicate = body::duplicate_fields(&bytes);
    let mut warnings = Vec::new();
    let part = part_of(ctx);
    let updated = guaranteed_update(
        app,
        ctx,
        None,
        |old| {
            warnings.clear();
            let mut doc = to_client(ctx, old.clone());
            match format {
                BodyFormat::StrategicMergePatch => {
                    if !patch_doc.is_object() {
                        return Err(ApiError::bad_request(
                            "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
                        ));
                    }
                    let root = strategic_root.expect("set for strategic patches");
                    doc = rkube_api::patch::strategic_merge(&doc, &patch_doc, &rkube_api::patch::BUILTIN, root)
                        .map_err(|e| ApiError::new(e.code(), e.reason(), e.status_message().to_string()))?;
                }
                BodyFormat::MergePatch => {
                    if !patch_doc.is_object() {
                        return Err(ApiError::bad_request(
                            "json: cannot unmarshal non-object into Go value of type map[string]interface {}",
                        ));
                    }
                    json_patch::merge(&mut doc, &patch_doc);
                }
                _ => {
                    let ops: json_patch::Patch = serde_json::from_value(patch_doc.clone())
                        .map_err(|e| ApiError::bad_request(format!("the server rejected our request due to an error in our request: {e}")))?;
                    json_patch::patch(&mut doc, &ops).map_err(|e| {
                        ApiError::new(422, "Invalid", format!("the server rejected our request due to an error in our request: {e}"))
                    })?;
                }
            }
            if !doc.is_object() {
                return Err(ApiError::bad_request("the patch turned the object into a non-object"));
            }
            // A resourceVersion in the patch is a precondition.
            if let Some(rv) = doc["metadata"]["resourceVersion"].as_str()
                && rv != old["metadata"]["resourceVersion"].as_str().unwrap_or("")
            {
                return Err(ApiError::modified_conflict(qualified(ctx.def), ctx.name()));
            }
            check_identity(ctx, &doc, old)?;
            check_decodable(ctx, &doc)?;
            doc["apiVersion"] = json!(ctx.api_version());
            doc["kind"] = json!(ctx.def.kind);
            let unknown = root_of(ctx, &doc)
                .map(|root| body::drop_unknown_fields(&mut doc, root))
                .unwrap_or_default();
            warnings = body::enforce(directive, body::field_problems(&unknown, &duplicate), None)?;
            Ok(to_storage(ctx, doc))
        },
        part,
        ctx.namespace(),
        Track::Update,
    )
    .await?;
    let mut resp = response::json(200, &to_client(ctx, updated));
    body::add_warnings(&mut resp, &warnings);
    Ok(resp)
}

/// The 409 of an apply that would take fields from other managers, or
/// the other errors of the engine, as kube-apiserver words them.
fn apply_error(ctx: &Ctx, e: ApplyError) -> ApiError {
    match e {
        ApplyError::Conflicts(c) => {
            let causes: Vec<Value> = c
                .causes()
                .into_iter()
                .map(|(message, field)| {
                    json!({"type": "FieldManagerConflict", "message": message, "field": field})
                })
                .collect();
            ApiError::new(409, "Conflict", c.message()).with_details(json!({"causes": causes}))
        }
        ApplyError::BadRequest(m) => ApiError::bad_request(m),
        // Upstream reports these as a plain error: a 500 without a reason.
        ApplyError::Typed(m) => {
            let gv = if ctx.def.group.is_empty() {
                format!("/{}", ctx.version)
            } else {
                ctx.api_version()
            };
            ApiError::new(
                500,
                "",
                format!(
                    "failed to create typed patch object ({gv}, Kind={}): {m}",
                    ctx.def.kind
                ),
            )
        }
    }
}

/// Server-side apply (`application/apply-patch+yaml`, YAML or JSON): the
/// configuration is merged into the live object by the apply engine, or
/// creates the object when there is none.
async fn apply_patch(app: &App, ctx: &Ctx, bytes: &[u8]) -> ApiResult<Resp> {
    let manager = match ctx.query.field_manager.as_deref() {
        Some(m) if !m.is_empty() => field_manager(ctx).map(|_| m.to_string())?,
        _ => {
            return Err(ApiError::invalid(
                "meta.k8s.io",
                "PatchOptions",
                "",
                vec![Cause::required_detail(
                    "fieldManager",
                    "is required for apply patch",
                )],
            ));
        }
    };
    let root = rkube_api::patch::root_definition(ctx.def.group, &ctx.version, ctx.def.kind)
        .ok_or_else(|| ApiError::unsupported_media_type("application/apply-patch+yaml"))?;
    let mut config = body::parse_yaml(bytes)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {}", e.message)))?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: the apply configuration is not an object",
        ));
    }
    let sent_gv = config["apiVersion"].as_str().unwrap_or("").to_string();
    if sent_gv != ctx.api_version() {
        return Err(ApiError::bad_request(format!(
            "Incorrect version specified in apply patch. Specified patch version: {sent_gv}, expected: {}",
            ctx.api_version()
        )));
    }
    body::check_type(ctx, &mut config, ctx.def.kind)?;
    // Apply walks the schema itself: a field it does not have is an error
    // whatever fieldValidation says.
    if let Some(first) = body::drop_unknown_fields(&mut config.clone(), root).first() {
        return Err(apply_error(
            ctx,
            ApplyError::Typed(format!(".{first}: field not declared in schema")),
        ));
    }
    let part = part_of(ctx);
    let subresource = match part {
        Part::Status => Some("status"),
        Part::Main => None,
    };
    let now = meta::now_rfc3339();
    let api_version = ctx.api_version();
    let writer = apply::Writer {
        root,
        manager: &manager,
        api_version: &api_version,
        subresource,
        scope: managed_fields::scope(ctx.def, subresource),
        now: &now,
    };
    let result = guaranteed_update(
        app,
        ctx,
        None,
        |old| {
            let live = to_client(ctx, old.clone());
            let out = apply::apply(Some(&live), &config, &writer, ctx.query.force)
                .map_err(|e| apply_error(ctx, e))?;
            if let Some(rv) = config["metadata"]["resourceVersion"].as_str()
                && !rv.is_empty()
                && rv != old["metadata"]["resourceVersion"].as_str().unwrap_or("")
            {
                return Err(ApiError::modified_conflict(qualified(ctx.def), ctx.name()));
            }
            check_identity(ctx, &out, old)?;
            check_decodable(ctx, &out)?;
            Ok(to_storage(ctx, out))
        },
        part,
        ctx.namespace(),
        Track::Apply,
    )
    .await;
    match result {
        Ok(updated) => Ok(response::json(200, &to_client(ctx, updated))),
        // Apply creates what is missing (never through a subresource).
        Err(e) if e.reason == "NotFound" && part == Part::Main => {
            if meta::name(&config) != ctx.name() {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({}) does not match the name on the URL ({})",
                    meta::name(&config),
                    ctx.name()
                )));
            }
            let created = apply::apply(None, &config, &writer, ctx.query.force)
                .map_err(|e| apply_error(ctx, e))?;
            create_object(app, ctx, created, Track::Apply).await
        }
        Err(e) => Err(e),
    }
}

/// Used by delete (finalizers) and scale.
pub(super) async fn update_with(
    app: &App,
    ctx: &Ctx,
    precondition_rv: Option<i64>,
    change: impl FnMut(&Value) -> ApiResult<Value>,
    raw: bool,
) -> ApiResult<Value> {
    guaranteed_update(
        app,
        ctx,
        precondition_rv,
        change,
        Part::Main,
        ctx.namespace(),
        if raw { Track::Raw } else { Track::Update },
    )
    .await
}
