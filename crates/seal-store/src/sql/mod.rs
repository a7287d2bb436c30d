//! The SQL of the store: one text per statement, portable between SQLite and PostgreSQL
//! (`$N` placeholders, 64-bit integers, 0/1 booleans, UUIDs as text), and the hand-written
//! conversion of rows into records.

use seal_core::audit::AuditEvent;
use seal_core::department::DepartmentName;
use seal_core::ids::{ApiTokenId, DepartmentId, OrgId, PersonId, RoleId};
use seal_core::org::{OrgCode, OrgName, Uscc};
use seal_core::permission::{Permission, PermissionSet};
use seal_core::person::{Email, Login, PersonName, PersonStatus, Phone};
use seal_core::role::{BuiltinRole, RoleKind, RoleName};
use seal_core::time::Timestamp;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row, Transaction};

use crate::records::{
    ApiTokenRecord, AuditRecord, Credentials, DepartmentRecord, NewPerson, OrgRecord, PeopleFilter,
    PersonRecord, RoleRecord, SessionRecord,
};
use crate::{Backend, Store, StoreError};

pub(crate) mod applications;
pub(crate) mod bulk;
pub(crate) mod comparisons;
pub(crate) mod devices;
pub(crate) mod log;
pub(crate) mod seals;
pub(crate) mod stamps;
mod webhooks;

/// One transaction: every use case reads and writes through one, then commits. Dropping
/// it without [`Tx::commit`] rolls everything back.
pub struct Tx {
    tx: Transaction<'static, Any>,
    backend: Backend,
    /// Log entries queued by this transaction's changes, appended by [`Tx::commit`].
    log: Vec<log::PendingEntry>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}

/// Filter for [`Tx::audit_events`].
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    pub offset: i64,
    pub limit: i64,
}

/// The most rows one page may hold; larger or negative limits are clamped (the engines
/// disagree on negative ones).
const MAX_PAGE: i64 = 1000;

const PERSON_COLUMNS: &str = "id, org_id, name, phone, email, department_id, status, \
     must_change_password, totp_enabled, created_at, updated_at";

impl Tx {
    pub(crate) fn new(tx: Transaction<'static, Any>, backend: Backend) -> Self {
        Self {
            tx,
            backend,
            log: Vec::new(),
        }
    }

    /// Serialises this transaction with every other that locks the same organisation,
    /// for rules that span several rows (such as "at least one active admin"). SQLite
    /// write transactions are already exclusive (`BEGIN IMMEDIATE`); PostgreSQL locks the
    /// organisation's row until commit.
    pub async fn lock_org(&mut self, org: OrgId) -> Result<(), StoreError> {
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT id FROM organisations WHERE id = $1 FOR UPDATE")
                .bind(org.to_string())
                .fetch_optional(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Appends the queued log entries, then commits: the changes and the leaves that
    /// record them are durable together or not at all.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        self.flush_log().await?;
        self.tx.commit().await?;
        Ok(())
    }

    fn conn(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }

    // ----- organisations -------------------------------------------------------------

    pub async fn insert_org(&mut self, org: &OrgRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO organisations (id, code, name, uscc, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org.id.to_string())
        .bind(org.code.as_str().to_owned())
        .bind(org.name.as_str().to_owned())
        .bind(org.uscc.as_ref().map(|u| u.as_str().to_owned()))
        .bind(org.created_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn org_by_code(&mut self, code: &OrgCode) -> Result<Option<OrgRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, code, name, uscc, created_at FROM organisations WHERE code = $1",
        )
        .bind(code.as_str().to_owned())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    pub async fn org(&mut self, id: OrgId) -> Result<Option<OrgRecord>, StoreError> {
        let row =
            sqlx::query("SELECT id, code, name, uscc, created_at FROM organisations WHERE id = $1")
                .bind(id.to_string())
                .fetch_optional(self.conn())
                .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    /// Whether another organisation already uses this credit code.
    pub async fn uscc_taken(
        &mut self,
        uscc: &Uscc,
        except: Option<OrgId>,
    ) -> Result<bool, StoreError> {
        let except = except.map(|id| id.to_string()).unwrap_or_default();
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM organisations WHERE uscc = $1 AND id <> $2")
                .bind(uscc.as_str().to_owned())
                .bind(except)
                .fetch_one(self.conn())
                .await?;
        Ok(count > 0)
    }

    pub async fn update_org(
        &mut self,
        id: OrgId,
        name: &OrgName,
        uscc: Option<&Uscc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE organisations SET name = $1, uscc = $2 WHERE id = $3")
            .bind(name.as_str().to_owned())
            .bind(uscc.map(|u| u.as_str().to_owned()))
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    // ----- departments ---------------------------------------------------------------

    pub async fn insert_department(
        &mut self,
        department: &DepartmentRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO departments (id, org_id, parent_id, name, head_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(department.id.to_string())
        .bind(department.org_id.to_string())
        .bind(department.parent.map(|p| p.to_string()))
        .bind(department.name.as_str().to_owned())
        .bind(department.head.map(|h| h.to_string()))
        .bind(department.created_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn department(
        &mut self,
        org: OrgId,
        id: DepartmentId,
    ) -> Result<Option<DepartmentRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, parent_id, name, head_id, created_at FROM departments WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(department_from_row).transpose()
    }

    /// All departments of the organisation, ordered by name.
    pub async fn departments(&mut self, org: OrgId) -> Result<Vec<DepartmentRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, org_id, parent_id, name, head_id, created_at FROM departments WHERE org_id = $1 ORDER BY name, id",
        )
        .bind(org.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(department_from_row).collect()
    }

    pub async fn update_department(
        &mut self,
        org: OrgId,
        id: DepartmentId,
        name: &DepartmentName,
        parent: Option<DepartmentId>,
        head: Option<PersonId>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE departments SET name = $1, parent_id = $2, head_id = $5 WHERE org_id = $3 AND id = $4",
        )
        .bind(name.as_str().to_owned())
        .bind(parent.map(|p| p.to_string()))
        .bind(org.to_string())
        .bind(id.to_string())
        .bind(head.map(|h| h.to_string()))
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn delete_department(
        &mut self,
        org: OrgId,
        id: DepartmentId,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM departments WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// How many people and how many sub-departments a department has.
    pub async fn department_contents(
        &mut self,
        org: OrgId,
        id: DepartmentId,
    ) -> Result<(i64, i64), StoreError> {
        let people: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM people WHERE org_id = $1 AND department_id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_one(self.conn())
        .await?;
        let children: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM departments WHERE org_id = $1 AND parent_id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_one(self.conn())
        .await?;
        Ok((people, children))
    }

    // ----- people --------------------------------------------------------------------

    pub async fn insert_person(&mut self, person: &NewPerson) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO people (id, org_id, name, phone, email, department_id, status, password_hash, \
             must_change_password, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $9)",
        )
        .bind(person.id.to_string())
        .bind(person.org_id.to_string())
        .bind(person.name.as_str().to_owned())
        .bind(person.phone.as_ref().map(|p| p.as_str().to_owned()))
        .bind(person.email.as_ref().map(|e| e.as_str().to_owned()))
        .bind(person.department.map(|d| d.to_string()))
        .bind(person.password_hash.clone())
        .bind(i64::from(person.must_change_password))
        .bind(person.created_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn person(
        &mut self,
        org: OrgId,
        id: PersonId,
    ) -> Result<Option<PersonRecord>, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    /// One page of people matching `filter`, ordered by name, and the total that match.
    pub async fn people(
        &mut self,
        org: OrgId,
        filter: &PeopleFilter,
    ) -> Result<(Vec<PersonRecord>, i64), StoreError> {
        // Each optional condition is written as `($n = '' OR …)` so one text serves every
        // combination and every engine; empty strings stand for "no filter". The search
        // is case-insensitive the same way on both engines (LOWER on both sides) and
        // treats `%`, `_` and `\` in the query literally (escaped, with ESCAPE '\').
        let conditions = "org_id = $1 \
             AND ($2 = '' OR LOWER(name) LIKE $2 ESCAPE '\\' OR LOWER(phone) LIKE $2 ESCAPE '\\' \
                  OR LOWER(email) LIKE $2 ESCAPE '\\') \
             AND ($3 = '' OR department_id = $3) \
             AND ($4 = '' OR status = $4) \
             AND ($5 = '' OR id IN (SELECT person_id FROM person_roles WHERE role_id = $5))";
        let pattern = filter
            .query
            .as_deref()
            .map(|q| {
                let escaped = q
                    .to_lowercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                format!("%{escaped}%")
            })
            .unwrap_or_default();
        let department = filter.department.map(|d| d.to_string()).unwrap_or_default();
        let status = filter
            .status
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        let role = filter.role.map(|r| r.to_string()).unwrap_or_default();
        let count_sql = format!("SELECT COUNT(*) FROM people WHERE {conditions}");
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(count_sql))
            .bind(org.to_string())
            .bind(pattern.clone())
            .bind(department.clone())
            .bind(status.clone())
            .bind(role.clone())
            .fetch_one(self.conn())
            .await?;
        let list_sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE {conditions} ORDER BY name, id LIMIT $6 OFFSET $7"
        );
        let rows = sqlx::query(AssertSqlSafe(list_sql))
            .bind(org.to_string())
            .bind(pattern)
            .bind(department)
            .bind(status)
            .bind(role)
            .bind(filter.limit.clamp(0, MAX_PAGE))
            .bind(filter.offset.max(0))
            .fetch_all(self.conn())
            .await?;
        let people = rows.iter().map(person_from_row).collect::<Result<_, _>>()?;
        Ok((people, total))
    }

    /// Writes a person's name, phone, e-mail and department as given in `person`.
    pub async fn update_person(
        &mut self,
        person: &PersonRecord,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (org, id) = (person.org_id, person.id);
        let (name, phone, email, department) = (
            &person.name,
            person.phone.as_ref(),
            person.email.as_ref(),
            person.department,
        );
        sqlx::query(
            "UPDATE people SET name = $1, phone = $2, email = $3, department_id = $4, updated_at = $5 \
             WHERE org_id = $6 AND id = $7",
        )
        .bind(name.as_str().to_owned())
        .bind(phone.map(|p| p.as_str().to_owned()))
        .bind(email.map(|e| e.as_str().to_owned()))
        .bind(department.map(|d| d.to_string()))
        .bind(now.as_millis())
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn set_person_status(
        &mut self,
        org: OrgId,
        id: PersonId,
        status: PersonStatus,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE people SET status = $1, updated_at = $2 WHERE org_id = $3 AND id = $4")
            .bind(status.as_str().to_owned())
            .bind(now.as_millis())
            .bind(org.to_string())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn set_password(
        &mut self,
        org: OrgId,
        id: PersonId,
        password_hash: &str,
        must_change: bool,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE people SET password_hash = $1, must_change_password = $2, updated_at = $3 \
             WHERE org_id = $4 AND id = $5",
        )
        .bind(password_hash.to_owned())
        .bind(i64::from(must_change))
        .bind(now.as_millis())
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Whether someone else in the organisation already signs in with this login.
    pub async fn login_taken(
        &mut self,
        org: OrgId,
        login: &Login,
        except: Option<PersonId>,
    ) -> Result<bool, StoreError> {
        let (column_sql, value) = match login {
            Login::Phone(phone) => (
                "SELECT COUNT(*) FROM people WHERE org_id = $1 AND phone = $2 AND id <> $3",
                phone.as_str(),
            ),
            Login::Email(email) => (
                "SELECT COUNT(*) FROM people WHERE org_id = $1 AND email = $2 AND id <> $3",
                email.as_str(),
            ),
        };
        let count: i64 = sqlx::query_scalar(column_sql)
            .bind(org.to_string())
            .bind(value.to_owned())
            .bind(except.map(|p| p.to_string()).unwrap_or_default())
            .fetch_one(self.conn())
            .await?;
        Ok(count > 0)
    }

    pub async fn credentials_by_login(
        &mut self,
        org: OrgId,
        login: &Login,
    ) -> Result<Option<Credentials>, StoreError> {
        let (sql, value) = match login {
            Login::Phone(phone) => (
                "SELECT id, org_id, status, password_hash, totp_secret, totp_enabled, totp_last_step FROM people WHERE org_id = $1 AND phone = $2",
                phone.as_str(),
            ),
            Login::Email(email) => (
                "SELECT id, org_id, status, password_hash, totp_secret, totp_enabled, totp_last_step FROM people WHERE org_id = $1 AND email = $2",
                email.as_str(),
            ),
        };
        let row = sqlx::query(sql)
            .bind(org.to_string())
            .bind(value.to_owned())
            .fetch_optional(self.conn())
            .await?;
        row.as_ref().map(credentials_from_row).transpose()
    }

    pub async fn credentials(
        &mut self,
        org: OrgId,
        id: PersonId,
    ) -> Result<Option<Credentials>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, status, password_hash, totp_secret, totp_enabled, totp_last_step FROM people WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(credentials_from_row).transpose()
    }

    /// Sets (or clears) the TOTP secret and whether it is in force. A new secret starts a
    /// new sequence of steps, so the replay guard restarts with it.
    pub async fn set_totp(
        &mut self,
        org: OrgId,
        id: PersonId,
        secret: Option<&str>,
        enabled: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE people SET totp_last_step = CASE WHEN totp_secret IS NULL OR totp_secret <> COALESCE($1, '') \
             THEN 0 ELSE totp_last_step END, totp_secret = $1, totp_enabled = $2 WHERE org_id = $3 AND id = $4",
        )
        .bind(secret.map(str::to_owned))
        .bind(i64::from(enabled))
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// Records the TOTP step just accepted; refuses (returns false) when a step at or after
    /// it was already accepted, so one code never signs in twice.
    pub async fn advance_totp_step(
        &mut self,
        org: OrgId,
        id: PersonId,
        step: i64,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE people SET totp_last_step = $1 WHERE org_id = $2 AND id = $3 AND totp_last_step < $1",
        )
        .bind(step)
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    // ----- roles ---------------------------------------------------------------------

    pub async fn insert_role(&mut self, role: &RoleRecord) -> Result<(), StoreError> {
        let (builtin, permissions) = role_columns(role.kind);
        sqlx::query(
            "INSERT INTO roles (id, org_id, builtin, name, permissions, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(role.id.to_string())
        .bind(role.org_id.to_string())
        .bind(builtin)
        .bind(role.name.as_str().to_owned())
        .bind(permissions)
        .bind(role.created_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    /// The organisation's roles: built-in ones first, then custom ones by name.
    pub async fn roles(&mut self, org: OrgId) -> Result<Vec<RoleRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, org_id, builtin, name, permissions, created_at FROM roles WHERE org_id = $1 \
             ORDER BY CASE WHEN builtin IS NULL THEN 1 ELSE 0 END, \
             CASE WHEN builtin IS NULL THEN name ELSE '' END, created_at, id",
        )
        .bind(org.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(role_from_row).collect()
    }

    pub async fn role(&mut self, org: OrgId, id: RoleId) -> Result<Option<RoleRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, builtin, name, permissions, created_at FROM roles WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(role_from_row).transpose()
    }

    pub async fn role_name_taken(
        &mut self,
        org: OrgId,
        name: &RoleName,
        except: Option<RoleId>,
    ) -> Result<bool, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM roles WHERE org_id = $1 AND name = $2 AND id <> $3",
        )
        .bind(org.to_string())
        .bind(name.as_str().to_owned())
        .bind(except.map(|r| r.to_string()).unwrap_or_default())
        .fetch_one(self.conn())
        .await?;
        Ok(count > 0)
    }

    pub async fn update_role(&mut self, org: OrgId, role: &RoleRecord) -> Result<(), StoreError> {
        let (_, permissions) = role_columns(role.kind);
        sqlx::query("UPDATE roles SET name = $1, permissions = $2 WHERE org_id = $3 AND id = $4")
            .bind(role.name.as_str().to_owned())
            .bind(permissions)
            .bind(org.to_string())
            .bind(role.id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    pub async fn delete_role(&mut self, org: OrgId, id: RoleId) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM roles WHERE org_id = $1 AND id = $2")
            .bind(org.to_string())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// The people who hold a role.
    pub async fn role_holders(
        &mut self,
        org: OrgId,
        role: RoleId,
    ) -> Result<Vec<PersonId>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT pr.person_id FROM person_roles pr JOIN people p ON p.id = pr.person_id \
             WHERE p.org_id = $1 AND pr.role_id = $2 ORDER BY pr.person_id",
        )
        .bind(org.to_string())
        .bind(role.to_string())
        .fetch_all(self.conn())
        .await?;
        ids.iter().map(|id| parse_id(id, PersonId::parse)).collect()
    }

    /// How many active people hold a built-in role.
    pub async fn active_holders_of(
        &mut self,
        org: OrgId,
        role: BuiltinRole,
    ) -> Result<i64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM people p JOIN person_roles pr ON pr.person_id = p.id \
             JOIN roles r ON r.id = pr.role_id \
             WHERE p.org_id = $1 AND r.org_id = $1 AND r.builtin = $2 AND p.status = 'active'",
        )
        .bind(org.to_string())
        .bind(role.key().to_owned())
        .fetch_one(self.conn())
        .await?;
        Ok(count)
    }

    pub async fn person_roles(
        &mut self,
        org: OrgId,
        person: PersonId,
    ) -> Result<Vec<RoleRecord>, StoreError> {
        person_roles_on(self.conn(), org, person).await
    }

    /// Replaces the roles a person holds.
    pub async fn set_person_roles(
        &mut self,
        org: OrgId,
        person: PersonId,
        roles: &[RoleId],
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM person_roles WHERE person_id = (SELECT id FROM people WHERE org_id = $1 AND id = $2)",
        )
        .bind(org.to_string())
        .bind(person.to_string())
        .execute(self.conn())
        .await?;
        for role in roles {
            sqlx::query(
                "INSERT INTO person_roles (person_id, role_id) \
                 SELECT p.id, r.id FROM people p, roles r \
                 WHERE p.org_id = $1 AND p.id = $2 AND r.org_id = $1 AND r.id = $3",
            )
            .bind(org.to_string())
            .bind(person.to_string())
            .bind(role.to_string())
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    // ----- sessions ------------------------------------------------------------------

    pub async fn insert_session(&mut self, session: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, org_id, person_id, csrf_token, mfa_pending, created_at, \
             last_seen_at, source, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(session.token_hash.clone())
        .bind(session.org_id.to_string())
        .bind(session.person_id.to_string())
        .bind(session.csrf_token.clone())
        .bind(i64::from(session.mfa_pending))
        .bind(session.created_at.as_millis())
        .bind(session.last_seen_at.as_millis())
        .bind(session.source.clone())
        .bind(session.user_agent.clone())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn session(&mut self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        session_on(self.conn(), token_hash).await
    }

    pub async fn delete_session(&mut self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Ends every session of a person (disabled, password changed).
    pub async fn delete_sessions_of(
        &mut self,
        org: OrgId,
        person: PersonId,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE org_id = $1 AND person_id = $2")
            .bind(org.to_string())
            .bind(person.to_string())
            .execute(self.conn())
            .await?;
        Ok(result.rows_affected())
    }

    // ----- housekeeping ------------------------------------------------------------

    /// Deletes sessions last seen before `seen_before`, created before `created_before`,
    /// or still waiting for a second factor since before `pending_before`. Returns how many.
    pub async fn delete_expired_sessions(
        &mut self,
        seen_before: Timestamp,
        created_before: Timestamp,
        pending_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2 \
             OR (mfa_pending = 1 AND created_at < $3)",
        )
        .bind(seen_before.as_millis())
        .bind(created_before.as_millis())
        .bind(pending_before.as_millis())
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected())
    }

    // ----- API tokens ----------------------------------------------------------------

    pub async fn insert_api_token(
        &mut self,
        token: &ApiTokenRecord,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_tokens (id, org_id, person_id, name, token_hash, scopes, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token.id.to_string())
        .bind(token.org_id.to_string())
        .bind(token.person_id.to_string())
        .bind(token.name.clone())
        .bind(token_hash.to_owned())
        .bind(permissions_text(token.scopes))
        .bind(token.created_at.as_millis())
        .execute(self.conn())
        .await?;
        Ok(())
    }

    pub async fn api_tokens(&mut self, org: OrgId) -> Result<Vec<ApiTokenRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, org_id, person_id, name, scopes, created_at, last_used_at, revoked_at \
             FROM api_tokens WHERE org_id = $1 ORDER BY created_at DESC, id",
        )
        .bind(org.to_string())
        .fetch_all(self.conn())
        .await?;
        rows.iter().map(api_token_from_row).collect()
    }

    pub async fn api_token(
        &mut self,
        org: OrgId,
        id: ApiTokenId,
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, person_id, name, scopes, created_at, last_used_at, revoked_at \
             FROM api_tokens WHERE org_id = $1 AND id = $2",
        )
        .bind(org.to_string())
        .bind(id.to_string())
        .fetch_optional(self.conn())
        .await?;
        row.as_ref().map(api_token_from_row).transpose()
    }

    pub async fn revoke_api_token(
        &mut self,
        org: OrgId,
        id: ApiTokenId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL")
            .bind(now.as_millis())
            .bind(org.to_string())
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Revokes every live API token of a person (disabled, password reset); returns how many.
    pub async fn revoke_api_tokens_of(
        &mut self,
        org: OrgId,
        person: PersonId,
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE org_id = $2 AND person_id = $3 AND revoked_at IS NULL",
        )
        .bind(now.as_millis())
        .bind(org.to_string())
        .bind(person.to_string())
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected())
    }

    // ----- recovery codes ------------------------------------------------------------

    /// Replaces a person's recovery codes with new ones (hashes only).
    pub async fn replace_recovery_codes(
        &mut self,
        person: PersonId,
        code_hashes: &[String],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM recovery_codes WHERE person_id = $1")
            .bind(person.to_string())
            .execute(self.conn())
            .await?;
        for hash in code_hashes {
            sqlx::query("INSERT INTO recovery_codes (person_id, code_hash) VALUES ($1, $2)")
                .bind(person.to_string())
                .bind(hash.clone())
                .execute(self.conn())
                .await?;
        }
        Ok(())
    }

    /// Marks an unused recovery code used; false when there is no such unused code.
    pub async fn use_recovery_code(
        &mut self,
        person: PersonId,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 WHERE person_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now.as_millis())
        .bind(person.to_string())
        .bind(code_hash.to_owned())
        .execute(self.conn())
        .await?;
        Ok(result.rows_affected() == 1)
    }

    pub async fn unused_recovery_codes(&mut self, person: PersonId) -> Result<i64, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE person_id = $1 AND used_at IS NULL",
        )
        .bind(person.to_string())
        .fetch_one(self.conn())
        .await?;
        Ok(count)
    }

    // ----- audit ---------------------------------------------------------------------

    /// Appends an audit event in this transaction; returns its sequence number.
    pub async fn append_audit(&mut self, event: &AuditEvent) -> Result<i64, StoreError> {
        let seq: i64 = sqlx::query_scalar(
            "INSERT INTO audit_events (org_id, at, actor, source, action, subject, canonical) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
        )
        .bind(event.org.map(|o| o.to_string()))
        .bind(event.at.as_millis())
        .bind(event.actor.clone())
        .bind(event.source.clone())
        .bind(event.action.clone())
        .bind(event.subject.clone())
        .bind(event.canonical_bytes())
        .fetch_one(self.conn())
        .await?;
        self.log_audit(event);
        Ok(seq)
    }

    /// Queues an audit event's log entry (its canonical bytes, about its subject).
    fn log_audit(&mut self, event: &AuditEvent) {
        self.log(
            seal_core::stamp::EntryKind::Audit,
            event.subject.clone(),
            event.org,
            event.canonical_bytes(),
            event.at,
        );
    }

    /// One page of the organisation's audit events, newest first, and the total.
    pub async fn audit_events(
        &mut self,
        org: OrgId,
        filter: &AuditFilter,
    ) -> Result<(Vec<AuditRecord>, i64), StoreError> {
        let conditions = "org_id = $1 AND ($2 = '' OR actor = $2) AND ($3 = '' OR action = $3) \
             AND at >= $4 AND at < $5";
        let actor = filter.actor.clone().unwrap_or_default();
        let action = filter.action.clone().unwrap_or_default();
        let from = filter.from.map_or(i64::MIN, Timestamp::as_millis);
        let until = filter.until.map_or(i64::MAX, Timestamp::as_millis);
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM audit_events WHERE {conditions}"
        )))
        .bind(org.to_string())
        .bind(actor.clone())
        .bind(action.clone())
        .bind(from)
        .bind(until)
        .fetch_one(self.conn())
        .await?;
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT seq, canonical FROM audit_events WHERE {conditions} ORDER BY seq DESC LIMIT $6 OFFSET $7"
        )))
        .bind(org.to_string())
        .bind(actor)
        .bind(action)
        .bind(from)
        .bind(until)
        .bind(filter.limit.clamp(0, MAX_PAGE))
        .bind(filter.offset.max(0))
        .fetch_all(self.conn())
        .await?;
        let events = rows
            .iter()
            .map(|row| {
                let seq: i64 = row.try_get("seq")?;
                let bytes: Vec<u8> = row.try_get("canonical")?;
                let event =
                    AuditEvent::decode(&bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(AuditRecord { seq, event })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((events, total))
    }

    /// Tries to change an audit event in place; the schema must refuse. Used by tests of
    /// the append-only invariant.
    pub async fn try_tamper_with_audit(&mut self, seq: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE audit_events SET action = 'tampered' WHERE seq = $1")
            .bind(seq)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

/// Reads used on every authenticated request; they go straight to the pool without a
/// transaction.
impl Store {
    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        session_on(&mut conn, token_hash).await
    }

    /// Marks a session seen at `now`.
    pub async fn touch_session(&self, token_hash: &str, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
            .bind(now.as_millis())
            .bind(token_hash.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash.to_owned())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    pub async fn api_token_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<ApiTokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, person_id, name, scopes, created_at, last_used_at, revoked_at \
             FROM api_tokens WHERE token_hash = $1",
        )
        .bind(token_hash.to_owned())
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(api_token_from_row).transpose()
    }

    pub async fn touch_api_token(&self, id: ApiTokenId, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now.as_millis())
            .bind(id.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A person with the roles they hold, for building a principal.
    pub async fn person_with_roles(
        &self,
        org: OrgId,
        id: PersonId,
    ) -> Result<Option<(PersonRecord, Vec<RoleRecord>)>, StoreError> {
        let mut conn = self.pool().acquire().await?;
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND id = $2");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let person = person_from_row(&row)?;
        let roles = person_roles_on(&mut conn, org, id).await?;
        Ok(Some((person, roles)))
    }
}

async fn session_on(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<SessionRecord>, StoreError> {
    let row = sqlx::query(
        "SELECT token_hash, org_id, person_id, csrf_token, mfa_pending, created_at, last_seen_at, source, user_agent \
         FROM sessions WHERE token_hash = $1",
    )
    .bind(token_hash.to_owned())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(session_from_row).transpose()
}

async fn person_roles_on(
    conn: &mut AnyConnection,
    org: OrgId,
    person: PersonId,
) -> Result<Vec<RoleRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT r.id, r.org_id, r.builtin, r.name, r.permissions, r.created_at FROM roles r \
         JOIN person_roles pr ON pr.role_id = r.id WHERE r.org_id = $1 AND pr.person_id = $2 \
         ORDER BY CASE WHEN r.builtin IS NULL THEN 1 ELSE 0 END, \
         CASE WHEN r.builtin IS NULL THEN r.name ELSE '' END, r.created_at, r.id",
    )
    .bind(org.to_string())
    .bind(person.to_string())
    .fetch_all(conn)
    .await?;
    rows.iter().map(role_from_row).collect()
}

// ----- row conversion ----------------------------------------------------------------

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

fn parse_id<T, E: std::fmt::Display>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    parse(text).map_err(|e| corrupt("id", e))
}

fn opt_id<T, E: std::fmt::Display>(
    text: Option<String>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    text.as_deref().map(|t| parse_id(t, &parse)).transpose()
}

fn org_from_row(row: &AnyRow) -> Result<OrgRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let code: String = row.try_get("code")?;
    let name: String = row.try_get("name")?;
    let uscc: Option<String> = row.try_get("uscc")?;
    Ok(OrgRecord {
        id: parse_id(&id, OrgId::parse)?,
        code: OrgCode::parse(&code).map_err(|e| corrupt("organisation code", e))?,
        name: OrgName::parse(&name).map_err(|e| corrupt("organisation name", e))?,
        uscc: uscc
            .as_deref()
            .map(Uscc::parse)
            .transpose()
            .map_err(|e| corrupt("credit code", e))?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

fn department_from_row(row: &AnyRow) -> Result<DepartmentRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let name: String = row.try_get("name")?;
    Ok(DepartmentRecord {
        id: parse_id(&id, DepartmentId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        parent: opt_id(row.try_get("parent_id")?, DepartmentId::parse)?,
        name: DepartmentName::parse(&name).map_err(|e| corrupt("department name", e))?,
        head: opt_id(row.try_get("head_id")?, PersonId::parse)?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

fn person_from_row(row: &AnyRow) -> Result<PersonRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let name: String = row.try_get("name")?;
    let phone: Option<String> = row.try_get("phone")?;
    let email: Option<String> = row.try_get("email")?;
    let status: String = row.try_get("status")?;
    Ok(PersonRecord {
        id: parse_id(&id, PersonId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        name: PersonName::parse(&name).map_err(|e| corrupt("person name", e))?,
        phone: phone
            .as_deref()
            .map(Phone::parse)
            .transpose()
            .map_err(|e| corrupt("phone", e))?,
        email: email
            .as_deref()
            .map(Email::parse)
            .transpose()
            .map_err(|e| corrupt("email", e))?,
        department: opt_id(row.try_get("department_id")?, DepartmentId::parse)?,
        status: PersonStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
        totp_enabled: row.try_get::<i64, _>("totp_enabled")? != 0,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn credentials_from_row(row: &AnyRow) -> Result<Credentials, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let status: String = row.try_get("status")?;
    Ok(Credentials {
        person_id: parse_id(&id, PersonId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        status: PersonStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        password_hash: row.try_get("password_hash")?,
        totp_secret: row.try_get("totp_secret")?,
        totp_enabled: row.try_get::<i64, _>("totp_enabled")? != 0,
        totp_last_step: row.try_get("totp_last_step")?,
    })
}

fn role_columns(kind: RoleKind) -> (Option<String>, String) {
    match kind {
        RoleKind::Builtin(role) => (Some(role.key().to_owned()), String::new()),
        RoleKind::Custom(permissions) => (None, permissions_text(permissions)),
    }
}

fn permissions_text(permissions: PermissionSet) -> String {
    permissions
        .iter()
        .map(Permission::key)
        .collect::<Vec<_>>()
        .join(" ")
}

fn permissions_from_text(text: &str) -> Result<PermissionSet, StoreError> {
    text.split_whitespace()
        .map(|key| Permission::parse(key).ok_or_else(|| corrupt("permission", key)))
        .collect()
}

fn role_from_row(row: &AnyRow) -> Result<RoleRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let builtin: Option<String> = row.try_get("builtin")?;
    let name: String = row.try_get("name")?;
    let permissions: String = row.try_get("permissions")?;
    let kind = match builtin {
        Some(key) => RoleKind::Builtin(
            BuiltinRole::parse(&key).ok_or_else(|| corrupt("built-in role", &key))?,
        ),
        None => RoleKind::Custom(permissions_from_text(&permissions)?),
    };
    Ok(RoleRecord {
        id: parse_id(&id, RoleId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        kind,
        name: RoleName::parse(&name).map_err(|e| corrupt("role name", e))?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

fn session_from_row(row: &AnyRow) -> Result<SessionRecord, StoreError> {
    let org: String = row.try_get("org_id")?;
    let person: String = row.try_get("person_id")?;
    Ok(SessionRecord {
        token_hash: row.try_get("token_hash")?,
        org_id: parse_id(&org, OrgId::parse)?,
        person_id: parse_id(&person, PersonId::parse)?,
        csrf_token: row.try_get("csrf_token")?,
        mfa_pending: row.try_get::<i64, _>("mfa_pending")? != 0,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        last_seen_at: Timestamp::from_millis(row.try_get("last_seen_at")?),
        source: row.try_get("source")?,
        user_agent: row.try_get("user_agent")?,
    })
}

fn api_token_from_row(row: &AnyRow) -> Result<ApiTokenRecord, StoreError> {
    let id: String = row.try_get("id")?;
    let org: String = row.try_get("org_id")?;
    let person: String = row.try_get("person_id")?;
    let scopes: String = row.try_get("scopes")?;
    Ok(ApiTokenRecord {
        id: parse_id(&id, ApiTokenId::parse)?,
        org_id: parse_id(&org, OrgId::parse)?,
        person_id: parse_id(&person, PersonId::parse)?,
        name: row.try_get("name")?,
        scopes: permissions_from_text(&scopes)?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at")?
            .map(Timestamp::from_millis),
        revoked_at: row
            .try_get::<Option<i64>, _>("revoked_at")?
            .map(Timestamp::from_millis),
    })
}
