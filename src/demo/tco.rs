//! The demo's cost per unit of output: a believable stack and classed categories (issue 13).
use crate::audit::Actor;
use crate::state::AppState;
use crate::study::StudyId;

/// The cost per unit of a replayed study (issue 13): a unit of value, the entered lines of Layers 0 to 2
/// with their sources (licences come from the renewal assumptions; oversight and rework are measured), and
/// the outcome classes: two categories valued as decision acceleration, two as process automation (all
/// three DAPM conditions recorded), and one claimed as automation with a condition unmet, which the report
/// values as acceleration and says why.
pub(super) async fn cost_stack(
    state: &AppState,
    admin: &Actor,
    id: StudyId,
    employees: usize,
) -> crate::error::Result<()> {
    use crate::tco::service::{ConditionForm, UnitForm, set_class, set_line, set_unit};
    let units = (employees * 40).to_string();
    set_unit(
        state,
        admin,
        id,
        UnitForm {
            unit: "completed work item",
            units_per_month: &units,
            units_source: "Jira: tickets closed per month by the studied teams, Jan–Sep 2026",
            before_per_unit: "",
            before_source: "",
        },
    )
    .await?;
    let scale = employees as f64 / 1000.0;
    for (line, monthly, source) in [
        (
            "model_spend",
            18_000.0,
            "Azure OpenAI invoices, Jul–Sep 2026 average",
        ),
        (
            "data",
            4_500.0,
            "Data platform: share of the retrieval index and storage",
        ),
        (
            "platform",
            12_000.0,
            "AI platform team: 2 FTE and hosting, cost centre 4410",
        ),
        (
            "integration",
            6_000.0,
            "IDE and repository integration, amortised over 3 years",
        ),
        ("security", 3_500.0, "DLP and prompt logging licences"),
        (
            "governance",
            9_000.0,
            "AI governance office: 1.5 FTE reviewing use and policy",
        ),
    ] {
        let amount = format!("{:.0}", monthly * scale);
        set_line(state, admin, id, line, &amount, source).await?;
    }
    let met = |by: &'static str, evidence: &'static str| ConditionForm {
        met: true,
        confirmed_by: by,
        evidence,
    };
    let not_met = |by: &'static str, evidence: &'static str| ConditionForm {
        met: false,
        confirmed_by: by,
        evidence,
    };
    let none = || ConditionForm {
        met: false,
        confirmed_by: "",
        evidence: "",
    };
    for (category, class, reason, conditions) in [
        (
            "Code",
            "acceleration",
            "An engineer still designs, reviews and merges every change",
            [none(), none(), none()],
        ),
        (
            "Writing and editing",
            "acceleration",
            "Drafts are faster, but the author still decides what is sent",
            [none(), none(), none()],
        ),
        (
            "Email and messages",
            "automation",
            "Routine status replies are sent by the assistant without a person",
            [
                met(
                    "Head of Service Operations",
                    "Runbook SO-12: the bot executes, the queue owner holds authority",
                ),
                met(
                    "Works council, 2026-09-14",
                    "Escalation within 15 minutes, logged in the ticket",
                ),
                met(
                    "COO office",
                    "Decision rights matrix v3 moves routine replies to the assistant",
                ),
            ],
        ),
        (
            "Data and spreadsheets",
            "automation",
            "Monthly reconciliations run as a pipeline, reviewed by exception",
            [
                met(
                    "Finance controller",
                    "Pipeline executes; controller signs off exceptions only",
                ),
                met("Finance controller", "Exceptions reviewed the same day"),
                met(
                    "CFO office",
                    "Approval policy FIN-7 rewritten for the pipeline",
                ),
            ],
        ),
        (
            "Summarising documents",
            "automation",
            "Meeting summaries are posted without review",
            [
                met("Head of PMO", "Summaries posted by the assistant"),
                not_met(
                    "Head of PMO",
                    "Corrections wait for the next weekly meeting",
                ),
                not_met("COO office", "No decision on who owns a wrong summary"),
            ],
        ),
    ] {
        set_class(state, admin, id, category, class, reason, conditions).await?;
    }
    Ok(())
}
