//! batch/v1: Jobs and CronJobs, and the cron schedule syntax.

use serde_json::Value;

use super::meta::{self, label_selector};
use super::pod::template;
use super::util::{
    get, go_label_selector, go_string_map, has, int, invalid_raw, invalid_str, nonnegative,
    not_supported, required, required_msg, s, same,
};
use crate::catalogue::ResourceDef;
use crate::names::check_dns1123_label;
use crate::selectors::LabelSelector;
use crate::status::Cause;

const MAX_PARALLELISM_INDEXED: i64 = 100_000;

/// The parts of a job spec shared by Jobs and CronJob job templates.
fn job_spec_common(spec: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for key in [
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
    ] {
        errs.extend(nonnegative(&format!("{path}.{key}"), int(spec, key)));
    }
    if has(spec, "completionMode") {
        let mode = s(spec, "completionMode");
        if mode != "NonIndexed" && mode != "Indexed" {
            errs.push(not_supported(
                format!("{path}.completionMode"),
                get(spec, "completionMode"),
                &["NonIndexed", "Indexed"],
            ));
        }
        if mode == "Indexed" {
            if !has(spec, "completions") {
                errs.push(required_msg(
                    format!("{path}.completions"),
                    "when completion mode is Indexed",
                ));
            }
            if let Some(p) = int(spec, "parallelism").filter(|p| *p > MAX_PARALLELISM_INDEXED) {
                errs.push(invalid_raw(
                    format!("{path}.parallelism"),
                    &p.to_string(),
                    &format!("must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion mode is Indexed"),
                ));
            }
        }
    }
    if has(spec, "podReplacementPolicy") {
        let p = s(spec, "podReplacementPolicy");
        if p != "TerminatingOrFailed" && p != "Failed" {
            errs.push(not_supported(
                format!("{path}.podReplacementPolicy"),
                get(spec, "podReplacementPolicy"),
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }
    let tpl = get(spec, "template");
    errs.extend(template(tpl, &format!("{path}.template")));
    let restart_path = format!("{path}.template.spec.restartPolicy");
    match s(get(tpl, "spec"), "restartPolicy") {
        "" | "Always" => errs.push(required_msg(
            restart_path,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        "OnFailure" | "Never" => {
            if has(spec, "podFailurePolicy") && s(get(tpl, "spec"), "restartPolicy") != "Never" {
                errs.push(invalid_str(
                    restart_path,
                    "OnFailure",
                    "only \"Never\" is supported when podFailurePolicy is specified",
                ));
            }
        }
        _ => errs.push(not_supported(
            restart_path,
            get(get(tpl, "spec"), "restartPolicy"),
            &["OnFailure", "Never"],
        )),
    }
    errs
}

/// Selector required and matching the template labels.
fn job_selector(spec: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let sel = get(spec, "selector");
    if sel.is_null() {
        errs.push(required(format!("{path}.selector")));
    } else {
        errs.extend(label_selector(sel, &format!("{path}.selector")));
    }
    if let Ok(parsed) = LabelSelector::from_match_labels_and_expressions(sel) {
        let tpl = get(spec, "template");
        if !parsed.matches_object(tpl) {
            errs.push(invalid_raw(
                format!("{path}.template.metadata.labels"),
                &go_string_map(tpl.pointer("/metadata/labels")),
                "`selector` does not match template `labels`",
            ));
        }
    }
    errs
}

/// The generated selector: the template must carry the job's labels and the
/// selector must be exactly the controller-uid one.
fn generated_selector(job: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let spec = get(job, "spec");
    if spec.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        return errs;
    }
    let labels = spec.pointer("/template/metadata/labels");
    if labels.is_none_or(Value::is_null) || !has(spec, "selector") {
        return errs;
    }
    let uid = job
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or("");
    let name = job
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    for (key, want) in [
        ("controller-uid", uid),
        ("job-name", name),
        ("batch.kubernetes.io/controller-uid", uid),
        ("batch.kubernetes.io/job-name", name),
    ] {
        let path = format!("spec.template.metadata.labels[{key}]");
        match labels.and_then(|l| l.get(key)).and_then(Value::as_str) {
            None => errs.push(required_msg(path, &format!("must be '{want}'"))),
            Some(v) if v != want => errs.push(invalid_raw(
                path,
                &go_string_map(labels),
                &format!("must be '{want}'"),
            )),
            _ => {}
        }
    }
    let sel = get(spec, "selector");
    let expected = format!("batch.kubernetes.io/controller-uid={uid}");
    let actual = LabelSelector::from_match_labels_and_expressions(sel).map(|s| s.to_string());
    if actual.ok().as_deref() != Some(expected.as_str()) {
        errs.push(invalid_raw(
            "spec.selector",
            &go_label_selector(sel),
            "`selector` not auto-generated",
        ));
    }
    errs
}

pub(crate) fn job(def: &ResourceDef, j: &Value, old: Option<&Value>) -> Vec<Cause> {
    let spec = get(j, "spec");
    let mut errs = match old {
        Some(o) => meta::update(def, j, o),
        None => {
            let mut e = meta::create(def, j);
            e.extend(generated_selector(j));
            e
        }
    };
    errs.extend(job_spec_common(spec, "spec"));
    errs.extend(job_selector(spec, "spec"));
    if old.is_none()
        && s(spec, "completionMode") == "Indexed"
        && let Some(c) = int(spec, "completions").filter(|c| *c > 0)
    {
        let name = j
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let host = format!("{name}-{}", c - 1);
        if !check_dns1123_label(&host).is_empty() {
            errs.push(invalid_str(
                "metadata.name",
                name,
                &format!("will not able to create pod with invalid DNS label: {host}"),
            ));
        }
    }
    if let Some(o) = old {
        let old_spec = get(o, "spec");
        let immutable = |key: &str, errs: &mut Vec<Cause>, render: &dyn Fn(&Value) -> String| {
            if !same(spec.get(key), old_spec.get(key)) {
                errs.push(invalid_raw(
                    format!("spec.{key}"),
                    &render(get(spec, key)),
                    "field is immutable",
                ));
            }
        };
        let plain = |v: &Value| super::util::render(v);
        immutable("completions", &mut errs, &plain);
        immutable("selector", &mut errs, &go_label_selector);
        let (mut t, mut ot) = (
            get(spec, "template").clone(),
            get(old_spec, "template").clone(),
        );
        if spec.get("suspend").and_then(Value::as_bool) == Some(true) {
            for x in [&mut t, &mut ot] {
                for key in ["nodeSelector", "tolerations", "affinity", "schedulingGates"] {
                    if let Some(m) = x.get_mut("spec").and_then(Value::as_object_mut) {
                        m.remove(key);
                    }
                }
            }
        }
        if !same(Some(&t), Some(&ot)) {
            errs.push(invalid_raw(
                "spec.template",
                "core.PodTemplateSpec{...}",
                "field is immutable",
            ));
        }
        for key in [
            "completionMode",
            "podFailurePolicy",
            "backoffLimitPerIndex",
            "managedBy",
            "successPolicy",
            "podReplacementPolicy",
        ] {
            immutable(key, &mut errs, &plain);
        }
    }
    errs
}

pub(crate) fn cron_job(def: &ResourceDef, cj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let spec = get(cj, "spec");
    let mut errs = match old {
        Some(o) => meta::update(def, cj, o),
        None => meta::create(def, cj),
    };
    let schedule = s(spec, "schedule");
    if schedule.is_empty() {
        errs.push(required("spec.schedule"));
    } else {
        if let Err(e) = parse_schedule(schedule) {
            errs.push(invalid_str("spec.schedule", schedule, &e));
        }
        let old_tz = old.is_some_and(|o| s(get(o, "spec"), "schedule").contains("TZ"));
        if old_tz && schedule.contains("TZ") && has(spec, "timeZone") {
            errs.push(invalid_str(
                "spec.schedule",
                schedule,
                "cannot use both timeZone field and TZ or CRON_TZ in schedule",
            ));
        } else if !old_tz && schedule.contains("TZ") {
            errs.push(invalid_str(
                "spec.schedule",
                schedule,
                "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
            ));
        }
    }
    errs.extend(nonnegative(
        "spec.startingDeadlineSeconds",
        int(spec, "startingDeadlineSeconds"),
    ));
    if has(spec, "timeZone") && s(spec, "timeZone").is_empty() {
        errs.push(invalid_str(
            "spec.timeZone",
            "",
            "unknown time zone, must not be empty",
        ));
    }
    match s(spec, "concurrencyPolicy") {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(required("spec.concurrencyPolicy")),
        _ => errs.push(not_supported(
            "spec.concurrencyPolicy",
            get(spec, "concurrencyPolicy"),
            &["Allow", "Forbid", "Replace"],
        )),
    }
    let jt = get(get(spec, "jobTemplate"), "spec");
    errs.extend(job_spec_common(jt, "spec.jobTemplate.spec"));
    if has(jt, "selector") {
        errs.push(invalid_raw(
            "spec.jobTemplate.spec.selector",
            &go_label_selector(get(jt, "selector")),
            "`selector` will be auto-generated",
        ));
    }
    if jt.get("manualSelector").and_then(Value::as_bool) == Some(true) {
        errs.push(not_supported(
            "spec.jobTemplate.spec.manualSelector",
            &Value::Bool(true),
            &["nil", "false"],
        ));
    }
    errs.extend(nonnegative(
        "spec.successfulJobsHistoryLimit",
        int(spec, "successfulJobsHistoryLimit"),
    ));
    errs.extend(nonnegative(
        "spec.failedJobsHistoryLimit",
        int(spec, "failedJobsHistoryLimit"),
    ));
    let name = cj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if old.is_none() && name.len() > 52 {
        errs.push(invalid_str(
            "metadata.name",
            name,
            "must be no more than 52 characters",
        ));
    }
    errs
}

/// Check a standard 5-field cron schedule (or a descriptor such as
/// `@hourly`), with the messages of the cron library upstream uses.
pub fn parse_schedule(spec: &str) -> Result<(), String> {
    let mut spec = spec.trim();
    for prefix in ["TZ=", "CRON_TZ="] {
        if let Some(rest) = spec.strip_prefix(prefix) {
            let (_, after) = rest
                .split_once(' ')
                .ok_or_else(|| "provided bad location : unknown time zone".to_string())?;
            spec = after.trim();
        }
    }
    if let Some(d) = spec.strip_prefix('@') {
        return match d {
            "yearly" | "annually" | "monthly" | "weekly" | "daily" | "midnight" | "hourly" => {
                Ok(())
            }
            _ if d.starts_with("every ") => Ok(()),
            _ => Err(format!("unrecognized descriptor: {spec}")),
        };
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    let bounds = [
        (0, 59, None),
        (0, 23, None),
        (1, 31, None),
        (1, 12, Some(MONTHS)),
        (0, 6, Some(DAYS)),
    ];
    for (field, (min, max, names)) in fields.iter().zip(bounds) {
        for part in field.split(',') {
            cron_range(part, min, max, names)?;
        }
    }
    Ok(())
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn cron_number(text: &str, names: Option<&[&str]>, min: i64) -> Result<i64, String> {
    if let Some(list) = names
        && let Some(i) = list.iter().position(|n| n.eq_ignore_ascii_case(text))
    {
        return Ok(i as i64 + if min == 1 { 1 } else { 0 });
    }
    let n: i64 = text.parse().map_err(|_| {
        format!("failed to parse int from {text}: strconv.Atoi: parsing {text:?}: invalid syntax")
    })?;
    if n < 0 {
        return Err(format!("negative number ({n}) not allowed: {text}"));
    }
    Ok(n)
}

fn cron_range(expr: &str, min: i64, max: i64, names: Option<&[&str]>) -> Result<(), String> {
    let slash: Vec<&str> = expr.split('/').collect();
    let hyphen: Vec<&str> = slash[0].split('-').collect();
    let single = hyphen.len() == 1;
    let (start, end) = if hyphen[0] == "*" || hyphen[0] == "?" {
        (min, max)
    } else {
        let start = cron_number(hyphen[0], names, min)?;
        let end = match hyphen.len() {
            1 => start,
            2 => cron_number(hyphen[1], names, min)?,
            _ => return Err(format!("too many hyphens: {expr}")),
        };
        (start, end)
    };
    let (end, step) = match slash.len() {
        1 => (end, 1),
        2 => {
            let step = cron_number(slash[1], None, min)?;
            (
                if single && hyphen[0] != "*" && hyphen[0] != "?" {
                    max
                } else {
                    end
                },
                step,
            )
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({min}): {expr}"
        ));
    }
    if end > max {
        return Err(format!(
            "end of range ({end}) above maximum ({max}): {expr}"
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_schedule;

    #[test]
    fn cron_schedules() {
        assert!(parse_schedule("*/5 * * * *").is_ok());
        assert!(parse_schedule("0 0 1 jan mon-fri").is_ok());
        assert!(parse_schedule("@hourly").is_ok());
        assert_eq!(
            parse_schedule("* * * *").unwrap_err(),
            "expected exactly 5 fields, found 4: [* * * *]"
        );
        assert_eq!(
            parse_schedule("60 * * * *").unwrap_err(),
            "end of range (60) above maximum (59): 60"
        );
        assert_eq!(
            parse_schedule("x * * * *").unwrap_err(),
            "failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            parse_schedule("@often").unwrap_err(),
            "unrecognized descriptor: @often"
        );
    }
}
