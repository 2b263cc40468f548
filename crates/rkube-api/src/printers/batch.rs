//! `batch`: jobs and cron jobs.

use serde_json::{Value, json};

use super::format::{
    arr, bool_ptr, containers, has, human_duration, i, label_selector, or, parse_time, s,
};
use super::{AGE, CONTAINERS, Column, IMAGES, NAME, Printer, Row, col, wide};

pub(crate) const PRINTERS: &[Printer] = &[
    Printer {
        group: "batch",
        plural: "jobs",
        columns: JOB_COLUMNS,
        cells: job_cells,
    },
    Printer {
        group: "batch",
        plural: "cronjobs",
        columns: CRONJOB_COLUMNS,
        cells: cronjob_cells,
    },
];

const JOB_COLUMNS: &[Column] = &[
    NAME,
    col("Status", "string", "Status of the job."),
    col(
        "Completions",
        "string",
        "Succeeded pods out of the completions the job needs.",
    ),
    col("Duration", "string", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "string",
        "The label selector of the job's pods.",
    ),
];

/// Whether the first condition of this type is true.
fn condition(job: &Value, type_: &str) -> bool {
    arr(job, "/status/conditions")
        .iter()
        .find(|c| s(c, "/type") == type_)
        .is_some_and(|c| s(c, "/status") == "True")
}

fn job_status(job: &Value) -> &'static str {
    if condition(job, "Complete") {
        "Complete"
    } else if condition(job, "Failed") {
        "Failed"
    } else if has(job, "/metadata/deletionTimestamp") {
        "Terminating"
    } else if condition(job, "Suspended") {
        "Suspended"
    } else if condition(job, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

fn job_cells(row: &Row) -> Vec<Value> {
    let job = row.obj;
    let succeeded = i(job, "/status/succeeded");
    let completions = if has(job, "/spec/completions") {
        format!("{succeeded}/{}", i(job, "/spec/completions"))
    } else {
        match i(job, "/spec/parallelism") {
            p if p > 1 => format!("{succeeded}/1 of {p}"),
            _ => format!("{succeeded}/1"),
        }
    };
    let duration = match (
        parse_time(s(job, "/status/startTime")),
        parse_time(s(job, "/status/completionTime")),
    ) {
        (None, _) => String::new(),
        (Some(start), None) => human_duration(row.now - start),
        (Some(start), Some(end)) => human_duration(end - start),
    };
    let (names, images) = containers(arr(job, "/spec/template/spec/containers"));
    vec![
        row.name(),
        json!(job_status(job)),
        json!(completions),
        json!(duration),
        row.age(),
        json!(names),
        json!(images),
        json!(label_selector(job.pointer("/spec/selector"))),
    ]
}

const CRONJOB_COLUMNS: &[Column] = &[
    NAME,
    col("Schedule", "string", "The schedule, in cron format."),
    col(
        "Timezone",
        "string",
        "The time zone the schedule is read in.",
    ),
    col("Suspend", "boolean", "Whether new runs are suspended."),
    col("Active", "integer", "How many of its jobs are running."),
    col("Last Schedule", "string", "When a job was last scheduled."),
    AGE,
    CONTAINERS,
    IMAGES,
    wide(
        "Selector",
        "string",
        "The label selector of the job template.",
    ),
];

fn cronjob_cells(row: &Row) -> Vec<Value> {
    let cj = row.obj;
    let last = match s(cj, "/status/lastScheduleTime") {
        "" => "<none>".to_string(),
        t => row.since(t),
    };
    let template = cj.pointer("/spec/jobTemplate/spec").unwrap_or(&Value::Null);
    let (names, images) = containers(arr(template, "/template/spec/containers"));
    vec![
        row.name(),
        json!(s(cj, "/spec/schedule")),
        json!(or(s(cj, "/spec/timeZone"), "<none>")),
        // A string, though the column says boolean: upstream prints it so.
        json!(bool_ptr(cj.pointer("/spec/suspend"))),
        json!(arr(cj, "/status/active").len()),
        json!(last),
        row.age(),
        json!(names),
        json!(images),
        json!(label_selector(template.get("selector"))),
    ]
}
