//! Approval flows: the organisation's default and seals' own flows, edited by people
//! who manage the seal registry.

use seal_core::application::StampKind;
use seal_core::flow::{Approvers, Condition, Flow, FlowName, Step, StepName, StepRule};
use seal_core::ids::{FlowId, OrgId, PersonId, RoleId};
use seal_core::permission::Permission;
use seal_store::{FlowRecord, Tx};

use crate::audit::record_by;
use crate::error::{Conflict, Entity, Invalid};
use crate::policy::{self, Principal};
use crate::{App, AppError, RequestContext, secrets};

/// One step as submitted (text fields parsed here).
#[derive(Clone, Debug, Default)]
pub struct StepInput {
    pub name: String,
    /// `people`, `role`, `department_head` or `seal_keeper`.
    pub approvers: String,
    /// Person ids (for `people`).
    pub people: Vec<String>,
    /// A role id (for `role`).
    pub role: String,
    /// `any` or `all`.
    pub rule: String,
    /// Empty (always), `count_above`, `seal_level1` or `stamp_kind`.
    pub condition: String,
    /// The number for `count_above`, the stamp kind for `stamp_kind`.
    pub condition_value: String,
}

/// A flow as submitted.
#[derive(Clone, Debug, Default)]
pub struct FlowInput {
    pub name: String,
    pub is_default: bool,
    pub steps: Vec<StepInput>,
}

impl App {
    /// The organisation's flows (`seals.read`): the default first.
    pub async fn flows(&self, principal: &Principal) -> Result<Vec<FlowRecord>, AppError> {
        let permit = policy::authorize(principal, Permission::SealsRead)?;
        let mut tx = self.store().read().await?;
        Ok(tx.flows(permit.org()).await?)
    }

    pub async fn flow(&self, principal: &Principal, id: FlowId) -> Result<FlowRecord, AppError> {
        let permit = policy::authorize(principal, Permission::SealsRead)?;
        let mut tx = self.store().read().await?;
        tx.flow(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Flow))
    }

    /// Creates a flow (`seals.manage`). A default flow replaces the previous default.
    pub async fn create_flow(
        &self,
        principal: &Principal,
        input: &FlowInput,
        context: &RequestContext,
    ) -> Result<FlowRecord, AppError> {
        let permit = policy::authorize(principal, Permission::SealsManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let name = FlowName::parse(&input.name)
            .map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
        let flow = parse_flow(&mut tx, permit.org(), &input.steps).await?;
        let record = FlowRecord {
            id: FlowId::from_bytes(secrets::id_bytes()),
            org_id: permit.org(),
            name,
            is_default: input.is_default,
            flow,
            created_at: now,
            updated_at: now,
        };
        tx.insert_flow(&record).await.map_err(name_taken)?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "flow.created",
            format!("flow:{}", record.id),
            flow_details(&record),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Replaces a flow's name, default flag and steps (`seals.manage`). Applications
    /// already submitted keep the steps they were resolved to.
    pub async fn update_flow(
        &self,
        principal: &Principal,
        id: FlowId,
        input: &FlowInput,
        context: &RequestContext,
    ) -> Result<FlowRecord, AppError> {
        let permit = policy::authorize(principal, Permission::SealsManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let mut record = tx
            .flow(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Flow))?;
        let name = FlowName::parse(&input.name)
            .map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
        let flow = parse_flow(&mut tx, permit.org(), &input.steps).await?;
        record.name = name;
        record.flow = flow;
        record.is_default = input.is_default;
        record.updated_at = now;
        tx.update_flow(&record).await.map_err(name_taken)?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "flow.updated",
            format!("flow:{id}"),
            flow_details(&record),
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Deletes a flow no seal names as its own (`seals.manage`).
    pub async fn delete_flow(
        &self,
        principal: &Principal,
        id: FlowId,
        context: &RequestContext,
    ) -> Result<(), AppError> {
        let permit = policy::authorize(principal, Permission::SealsManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.lock_org(permit.org()).await?;
        let record = tx
            .flow(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::Flow))?;
        let seals = tx.seals_using_flow(permit.org(), id).await?;
        if seals > 0 {
            return Err(AppError::Conflict(Conflict::FlowInUse { seals }));
        }
        tx.delete_flow(permit.org(), id).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "flow.deleted",
            format!("flow:{id}"),
            vec![("name", record.name.as_str().to_owned())],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The store's uniqueness conflict on a flow is its name (`UNIQUE (org_id, name)`; the
/// one-default rule cannot clash because the organisation is locked and the previous
/// default cleared first).
fn name_taken(error: seal_store::StoreError) -> AppError {
    match error {
        seal_store::StoreError::Conflict => AppError::Conflict(Conflict::FlowNameTaken),
        other => other.into(),
    }
}

/// Parses and checks submitted steps; named people and roles must exist in `org`.
async fn parse_flow(tx: &mut Tx, org: OrgId, steps: &[StepInput]) -> Result<Flow, AppError> {
    let mut parsed = Vec::with_capacity(steps.len());
    for input in steps {
        let name = StepName::parse(&input.name)
            .map_err(|e| AppError::invalid("steps", Invalid::Text(e)))?;
        let approvers = match input.approvers.trim() {
            "people" => {
                let mut people = Vec::new();
                for id in input.people.iter().filter(|s| !s.trim().is_empty()) {
                    let id =
                        PersonId::parse(id).map_err(|_| AppError::invalid("steps", Invalid::Id))?;
                    if tx.person(org, id).await?.is_none() {
                        return Err(AppError::invalid("steps", Invalid::UnknownPerson));
                    }
                    if !people.contains(&id) {
                        people.push(id);
                    }
                }
                Approvers::People(people)
            }
            "role" => {
                let id = RoleId::parse(&input.role)
                    .map_err(|_| AppError::invalid("steps", Invalid::UnknownRole))?;
                if tx.role(org, id).await?.is_none() {
                    return Err(AppError::invalid("steps", Invalid::UnknownRole));
                }
                Approvers::Role(id)
            }
            "department_head" => Approvers::DepartmentHead,
            "seal_keeper" => Approvers::SealKeeper,
            other => {
                return Err(AppError::invalid(
                    "steps",
                    Invalid::UnknownKey(other.to_owned()),
                ));
            }
        };
        let rule = StepRule::parse(&input.rule)
            .ok_or_else(|| AppError::invalid("steps", Invalid::UnknownKey(input.rule.clone())))?;
        let condition = match input.condition.trim() {
            "" | "always" => None,
            "count_above" => Some(Condition::CountAbove(
                input
                    .condition_value
                    .trim()
                    .parse()
                    .map_err(|_| AppError::invalid("steps", Invalid::Count))?,
            )),
            "seal_level1" => Some(Condition::SealLevel1),
            "stamp_kind" => Some(Condition::StampKindIs(
                StampKind::parse(&input.condition_value).ok_or_else(|| {
                    AppError::invalid("steps", Invalid::UnknownKey(input.condition_value.clone()))
                })?,
            )),
            other => {
                return Err(AppError::invalid(
                    "steps",
                    Invalid::UnknownKey(other.to_owned()),
                ));
            }
        };
        parsed.push(Step {
            name,
            approvers,
            rule,
            condition,
        });
    }
    Flow::new(parsed).map_err(|e| AppError::invalid("steps", Invalid::Flow(e)))
}

fn flow_details(record: &FlowRecord) -> Vec<(&'static str, String)> {
    let steps = record
        .flow
        .steps()
        .iter()
        .map(|s| format!("{}:{}:{}", s.name.as_str(), s.approvers.key(), s.rule.key()))
        .collect::<Vec<_>>()
        .join("; ");
    vec![
        ("name", record.name.as_str().to_owned()),
        ("default", record.is_default.to_string()),
        ("steps", steps),
    ]
}
