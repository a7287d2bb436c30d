//! The SQL of the seal registry and of approval flows, and the records they hold.

use seal_core::application::StampKind;
use seal_core::flow::{Approvers, Condition, Flow, FlowName, Step, StepName, StepRule};
use seal_core::ids::{FlowId, OrgId, PersonId, RoleId, SealId};
use seal_core::seal::{
    FactorRule, FilingCode, SealKind, SealLevel, SealName, SealShape, SealStatus, SealType,
};
use seal_core::time::Timestamp;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Tx, corrupt, opt_id, parse_id};
use crate::StoreError;

/// A seal in the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealRecord {
    pub id: SealId,
    pub org_id: OrgId,
    pub name: SealName,
    pub kind: SealKind,
    pub seal_type: SealType,
    pub shape: SealShape,
    pub level: SealLevel,
    pub keeper: Option<PersonId>,
    pub status: SealStatus,
    /// Why the seal has its current status (empty for a new active seal).
    pub status_reason: String,
    pub filing_code: Option<FilingCode>,
    /// The seal's own approval flow; `None`: the organisation's default.
    pub flow: Option<FlowId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One entry of a seal's status history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealStatusChange {
    pub seal: SealId,
    pub at: Timestamp,
    /// `None` for the registration.
    pub from: Option<SealStatus>,
    pub to: SealStatus,
    pub reason: String,
    /// Who made the change (an audit actor text).
    pub actor: String,
}

/// An approval flow with its steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowRecord {
    pub id: FlowId,
    pub org_id: OrgId,
    pub name: FlowName,
    pub is_default: bool,
    pub flow: Flow,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const SEAL_COLUMNS: &str = "id, org_id, name, kind, seal_type, shape, width_mm, height_mm, level, \
     keeper_id, status, status_reason, filing_code, flow_id, created_at, updated_at";

impl Tx {
    pub async fn insert_seal(&mut self, seal: &SealRecord) -> Result<(), StoreError> {
        let (w, h) = seal.shape.size_mm();
        sqlx::query(
            "INSERT INTO seals (id, org_id, name, kind, seal_type, shape, width_mm, height_mm, level, \
             keeper_id, status, status_reason, filing_code, flow_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(seal.id.to_string())
        .bind(seal.org_id.to_string())
        .bind(seal.name.as_str().to_owned())
        .bind(seal.kind.key())
        .bind(seal.seal_type.key())
        .bind(seal.shape.key())
        .bind(i64::from(w))
        .bind(i64::from(h))
        .bind(i64::from(seal.level.get()))
        .bind(seal.keeper.map(|k| k.to_string()))
        .bind(seal.status.key())
        .bind(seal.status_reason.clone())
        .bind(seal.filing_code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(seal.flow.map(|f| f.to_string()))
        .bind(seal.created_at.as_millis())
        .bind(seal.updated_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Writes every changeable field of a seal back (not its id, organisation or
    /// creation time).
    pub async fn update_seal(&mut self, seal: &SealRecord) -> Result<(), StoreError> {
        let (w, h) = seal.shape.size_mm();
        sqlx::query(
            "UPDATE seals SET name = $3, kind = $4, seal_type = $5, shape = $6, width_mm = $7, \
             height_mm = $8, level = $9, keeper_id = $10, status = $11, status_reason = $12, \
             filing_code = $13, flow_id = $14, updated_at = $15 WHERE org_id = $1 AND id = $2",
        )
        .bind(seal.org_id.to_string())
        .bind(seal.id.to_string())
        .bind(seal.name.as_str().to_owned())
        .bind(seal.kind.key())
        .bind(seal.seal_type.key())
        .bind(seal.shape.key())
        .bind(i64::from(w))
        .bind(i64::from(h))
        .bind(i64::from(seal.level.get()))
        .bind(seal.keeper.map(|k| k.to_string()))
        .bind(seal.status.key())
        .bind(seal.status_reason.clone())
        .bind(seal.filing_code.as_ref().map(|c| c.as_str().to_owned()))
        .bind(seal.flow.map(|f| f.to_string()))
        .bind(seal.updated_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn seal(&mut self, org: OrgId, id: SealId) -> Result<Option<SealRecord>, StoreError> {
        let sql = format!("SELECT {SEAL_COLUMNS} FROM seals WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(seal_from_row).transpose()
    }

    /// The organisation's seals, by name.
    pub async fn seals(&mut self, org: OrgId) -> Result<Vec<SealRecord>, StoreError> {
        let sql = format!("SELECT {SEAL_COLUMNS} FROM seals WHERE org_id = $1 ORDER BY name, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org.to_string())
            .fetch_all(self.conn())
            .await?;
        rows.iter().map(seal_from_row).collect()
    }

    pub async fn insert_seal_status_change(
        &mut self,
        org: OrgId,
        change: &SealStatusChange,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO seal_status_changes (seal_id, org_id, seq, at, from_status, to_status, reason, actor) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(seq), 0) + 1 FROM seal_status_changes WHERE seal_id = $1), \
             $3, $4, $5, $6, $7)",
        )
        .bind(change.seal.to_string())
        .bind(org.to_string())
        .bind(change.at.as_millis())
        .bind(change.from.map(|s| s.key()))
        .bind(change.to.key())
        .bind(change.reason.clone())
        .bind(change.actor.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// A seal's status history in the order the changes were made.
    pub async fn seal_status_changes(
        &mut self,
        org: OrgId,
        seal: SealId,
    ) -> Result<Vec<SealStatusChange>, StoreError> {
        let rows = sqlx::query(
            "SELECT seal_id, at, from_status, to_status, reason, actor FROM seal_status_changes \
             WHERE org_id = $1 AND seal_id = $2 ORDER BY seq",
        )
        .bind(org.to_string())
        .bind(seal.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter()
            .map(|row| {
                let seal: String = row.try_get("seal_id")?;
                let from: Option<String> = row.try_get("from_status")?;
                let to: String = row.try_get("to_status")?;
                Ok(SealStatusChange {
                    seal: parse_id(&seal, SealId::parse)?,
                    at: Timestamp::from_millis(row.try_get("at")?),
                    from: from.as_deref().map(seal_status).transpose()?,
                    to: seal_status(&to)?,
                    reason: row.try_get("reason")?,
                    actor: row.try_get("actor")?,
                })
            })
            .collect()
    }

    /// The factor rules an organisation set for levels 1–3 (`None`: the default).
    pub async fn factor_rules(
        &mut self,
        org: OrgId,
    ) -> Result<[Option<FactorRule>; 3], StoreError> {
        let row = sqlx::query(
            "SELECT factors_level1, factors_level2, factors_level3 FROM organisations WHERE id = $1",
        )
        .bind(org.to_string())
        .fetch_optional(self.conn())
        .await?;
        let Some(row) = row else {
            return Ok([None, None, None]);
        };
        let get = |column: &str| -> Result<Option<FactorRule>, StoreError> {
            let text: Option<String> = row.try_get(column)?;
            text.as_deref()
                .map(FactorRule::parse)
                .transpose()
                .map_err(|e| corrupt("factor rule", e))
        };
        Ok([
            get("factors_level1")?,
            get("factors_level2")?,
            get("factors_level3")?,
        ])
    }

    pub async fn set_factor_rules(
        &mut self,
        org: OrgId,
        rules: [&FactorRule; 3],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE organisations SET factors_level1 = $2, factors_level2 = $3, factors_level3 = $4 \
             WHERE id = $1",
        )
        .bind(org.to_string())
        .bind(rules[0].to_string())
        .bind(rules[1].to_string())
        .bind(rules[2].to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    // ----- flows -----------------------------------------------------------------------

    /// Inserts a flow and its steps. A default flow replaces the previous default.
    pub async fn insert_flow(&mut self, flow: &FlowRecord) -> Result<(), StoreError> {
        if flow.is_default {
            self.clear_default_flow(flow.org_id).await?;
        }
        sqlx::query(
            "INSERT INTO flows (id, org_id, name, is_default, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(flow.id.to_string())
        .bind(flow.org_id.to_string())
        .bind(flow.name.as_str().to_owned())
        .bind(i64::from(flow.is_default))
        .bind(flow.created_at.as_millis())
        .bind(flow.updated_at.as_millis())
        .execute(self.conn())
        .await?;
        self.insert_flow_steps(flow.id, flow.flow.steps()).await
    }

    /// Replaces a flow's name, default flag and steps.
    pub async fn update_flow(&mut self, flow: &FlowRecord) -> Result<(), StoreError> {
        if flow.is_default {
            self.clear_default_flow(flow.org_id).await?;
        }
        sqlx::query(
            "UPDATE flows SET name = $3, is_default = $4, updated_at = $5 WHERE org_id = $1 AND id = $2",
        )
        .bind(flow.org_id.to_string())
        .bind(flow.id.to_string())
        .bind(flow.name.as_str().to_owned())
        .bind(i64::from(flow.is_default))
        .bind(flow.updated_at.as_millis())
        .execute(self.conn())
        .await?;
        sqlx::query("DELETE FROM flow_steps WHERE flow_id = $1")
            .bind(flow.id.to_string())
            .execute(self.conn())
            .await?;
        self.insert_flow_steps(flow.id, flow.flow.steps()).await
    }

    /// Deletes a flow that no seal uses (the caller checks).
    pub async fn delete_flow(&mut self, org: OrgId, id: FlowId) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM flow_steps WHERE flow_id IN (SELECT id FROM flows WHERE org_id = $1 AND id = $2)",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        sqlx::query("DELETE FROM flows WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// How many seals name this flow as their own.
    pub async fn seals_using_flow(&mut self, org: OrgId, id: FlowId) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM seals WHERE org_id = $1 AND flow_id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_one(self.conn())
            .await?;
        Ok(row.try_get("n")?)
    }

    async fn clear_default_flow(&mut self, org: OrgId) -> Result<(), StoreError> {
        sqlx::query("UPDATE flows SET is_default = 0 WHERE org_id = $1 AND is_default = 1")
            .bind(org.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    async fn insert_flow_steps(&mut self, flow: FlowId, steps: &[Step]) -> Result<(), StoreError> {
        for (position, step) in steps.iter().enumerate() {
            let approvers_ref = match &step.approvers {
                Approvers::People(people) => people
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
                Approvers::Role(role) => role.to_string(),
                Approvers::DepartmentHead | Approvers::SealKeeper => String::new(),
            };
            let (condition_kind, condition_value) = match step.condition {
                None => (None, String::new()),
                Some(Condition::CountAbove(n)) => (Some("count_above"), n.to_string()),
                Some(Condition::SealLevel1) => (Some("seal_level1"), String::new()),
                Some(Condition::StampKindIs(kind)) => (Some("stamp_kind"), kind.key().to_owned()),
            };
            sqlx::query(
                "INSERT INTO flow_steps (flow_id, position, name, approvers_kind, approvers_ref, rule, \
                 condition_kind, condition_value) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(flow.to_string())
            .bind(position as i64)
            .bind(step.name.as_str().to_owned())
            .bind(step.approvers.key())
            .bind(approvers_ref)
            .bind(step.rule.key())
            .bind(condition_kind)
            .bind(condition_value)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    pub async fn flow(&mut self, org: OrgId, id: FlowId) -> Result<Option<FlowRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, name, is_default, created_at, updated_at FROM flows \
             WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(self.conn())
        .await?;
        match row {
            Some(row) => Ok(Some(self.flow_from_row(&row).await?)),
            None => Ok(None),
        }
    }

    /// The organisation's default flow, if it has one.
    pub async fn default_flow(&mut self, org: OrgId) -> Result<Option<FlowRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, name, is_default, created_at, updated_at FROM flows \
             WHERE org_id = $1 AND is_default = 1",
        )
        .bind(org.to_string())
        .fetch_optional(self.conn())
        .await?;
        match row {
            Some(row) => Ok(Some(self.flow_from_row(&row).await?)),
            None => Ok(None),
        }
    }

    /// The organisation's flows: the default first, then by name.
    pub async fn flows(&mut self, org: OrgId) -> Result<Vec<FlowRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, org_id, name, is_default, created_at, updated_at FROM flows \
             WHERE org_id = $1 ORDER BY is_default DESC, name, id",
        )
        .bind(org.to_string())
        .fetch_all(self.conn())
        .await?;
        let mut flows = Vec::with_capacity(rows.len());
        for row in &rows {
            flows.push(self.flow_from_row(row).await?);
        }
        Ok(flows)
    }

    async fn flow_from_row(&mut self, row: &AnyRow) -> Result<FlowRecord, StoreError> {
        let id: String = row.try_get("id")?;
        let org: String = row.try_get("org_id")?;
        let name: String = row.try_get("name")?;
        let id = parse_id(&id, FlowId::parse)?;
        let step_rows = sqlx::query(
            "SELECT name, approvers_kind, approvers_ref, rule, condition_kind, condition_value \
             FROM flow_steps WHERE flow_id = $1 ORDER BY position",
        )
        .bind(id.to_string())
        .fetch_all(self.conn())
        .await?;
        let steps = step_rows
            .iter()
            .map(step_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FlowRecord {
            id,
            org_id: parse_id(&org, OrgId::parse)?,
            name: FlowName::parse(&name).map_err(|e| corrupt("flow name", e))?,
            is_default: row.try_get::<i64, _>("is_default")? != 0,
            flow: Flow::new(steps).map_err(|e| corrupt("flow", e))?,
            created_at: Timestamp::from_millis(row.try_get("created_at")?),
            updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
        })
    }
}

fn step_from_row(row: &AnyRow) -> Result<Step, StoreError> {
    let name: String = row.try_get("name")?;
    let kind: String = row.try_get("approvers_kind")?;
    let reference: String = row.try_get("approvers_ref")?;
    let rule: String = row.try_get("rule")?;
    let condition_kind: Option<String> = row.try_get("condition_kind")?;
    let condition_value: String = row.try_get("condition_value")?;
    let approvers = match kind.as_str() {
        "people" => Approvers::People(
            reference
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| parse_id(s, PersonId::parse))
                .collect::<Result<_, _>>()?,
        ),
        "role" => Approvers::Role(parse_id(&reference, RoleId::parse)?),
        "department_head" => Approvers::DepartmentHead,
        "seal_keeper" => Approvers::SealKeeper,
        other => return Err(corrupt("approvers kind", other)),
    };
    let condition = match condition_kind.as_deref() {
        None => None,
        Some("count_above") => Some(Condition::CountAbove(
            condition_value
                .parse()
                .map_err(|e| corrupt("step condition", e))?,
        )),
        Some("seal_level1") => Some(Condition::SealLevel1),
        Some("stamp_kind") => Some(Condition::StampKindIs(
            StampKind::parse(&condition_value)
                .ok_or_else(|| corrupt("stamp kind", &condition_value))?,
        )),
        Some(other) => return Err(corrupt("step condition", other)),
    };
    Ok(Step {
        name: StepName::parse(&name).map_err(|e| corrupt("step name", e))?,
        approvers,
        rule: StepRule::parse(&rule).ok_or_else(|| corrupt("step rule", &rule))?,
        condition,
    })
}

fn seal_status(text: &str) -> Result<SealStatus, StoreError> {
    SealStatus::parse(text).ok_or_else(|| corrupt("seal status", text))
}

fn seal_from_row(row: &AnyRow) -> Result<SealRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let name: String = row.try_get("name")?;
    let kind: String = row.try_get("kind")?;
    let seal_type: String = row.try_get("seal_type")?;
    let shape: String = row.try_get("shape")?;
    let status: String = row.try_get("status")?;
    let filing: Option<String> = row.try_get("filing_code")?;
    Ok(SealRecord {
        id: parse_id(&id, SealId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        name: SealName::parse(&name).map_err(|e| corrupt("seal name", e))?,
        kind: SealKind::parse(&kind).ok_or_else(|| corrupt("seal kind", &kind))?,
        seal_type: SealType::parse(&seal_type).ok_or_else(|| corrupt("seal type", &seal_type))?,
        shape: SealShape::parse(&shape, row.try_get("width_mm")?, row.try_get("height_mm")?)
            .map_err(|e| corrupt("seal shape", e))?,
        level: SealLevel::new(row.try_get("level")?).map_err(|e| corrupt("seal level", e))?,
        keeper: opt_id(row.try_get("keeper_id")?, PersonId::parse)?,
        status: seal_status(&status)?,
        status_reason: row.try_get("status_reason")?,
        filing_code: filing
            .as_deref()
            .map(FilingCode::parse)
            .transpose()
            .map_err(|e| corrupt("filing code", e))?,
        flow: opt_id(row.try_get("flow_id")?, FlowId::parse)?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}
