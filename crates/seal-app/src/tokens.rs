//! API tokens for integrations: named, scoped to permissions the creator holds, shown
//! once at creation, revocable; only their SHA-256 is stored.

use seal_core::ids::ApiTokenId;
use seal_core::permission::Permission;
use seal_core::text;
use seal_store::ApiTokenRecord;

use crate::audit::record_by;
use crate::error::{Entity, Invalid};
use crate::policy::{self, Principal};
use crate::{App, AppError, RequestContext, secrets};

pub const NAME_MAX_LEN: usize = 60;

/// A token just created: the record and the secret, which is never shown again.
pub struct CreatedToken {
    pub token: ApiTokenRecord,
    pub secret: String,
}

impl std::fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedToken")
            .field("token", &self.token)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl App {
    /// Creates a token acting as the caller, limited to `scopes` (each must be one the
    /// caller holds). Needs an interactive session: tokens do not mint tokens.
    pub async fn create_api_token(
        &self,
        principal: &Principal,
        name: &str,
        scopes: &[String],
        context: &RequestContext,
    ) -> Result<CreatedToken, AppError> {
        let permit = policy::authorize_interactive(principal, Permission::TokensManage)?;
        let name = text::bounded(name, NAME_MAX_LEN)
            .map_err(|e| AppError::invalid("name", Invalid::Text(e)))?;
        let set = crate::directory::parse_permissions("scopes", scopes)?;
        if let Some(missing) = set.iter().find(|p| !principal.permissions.contains(*p)) {
            return Err(AppError::invalid("scopes", Invalid::ScopeNotHeld(missing)));
        }
        let now = self.now();
        let secret = secrets::api_token_secret();
        let token = ApiTokenRecord {
            id: ApiTokenId::from_bytes(secrets::id_bytes()),
            org_id: permit.org(),
            person_id: permit.person(),
            name,
            scopes: set,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.store().write().await?;
        tx.insert_api_token(&token, &secrets::digest(&secret))
            .await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "token.created",
            format!("token:{}", token.id),
            vec![
                ("name", token.name.clone()),
                (
                    "scopes",
                    set.iter()
                        .map(Permission::key)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(CreatedToken { token, secret })
    }

    /// Every token of the caller's organisation (never the secrets).
    pub async fn list_api_tokens(
        &self,
        principal: &Principal,
    ) -> Result<Vec<ApiTokenRecord>, AppError> {
        let permit = policy::authorize(principal, Permission::TokensManage)?;
        let mut tx = self.store().read().await?;
        let tokens = tx.api_tokens(permit.org()).await?;
        tx.commit().await?;
        Ok(tokens)
    }

    /// Revokes a token; its next request is refused.
    pub async fn revoke_api_token(
        &self,
        principal: &Principal,
        id: ApiTokenId,
        context: &RequestContext,
    ) -> Result<ApiTokenRecord, AppError> {
        let permit = policy::authorize(principal, Permission::TokensManage)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let token = tx
            .api_token(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::ApiToken))?;
        if token.revoked_at.is_none() {
            tx.revoke_api_token(permit.org(), id, now).await?;
            record_by(
                &mut tx,
                &permit,
                now,
                context,
                "token.revoked",
                format!("token:{id}"),
                vec![("name", token.name.clone())],
            )
            .await?;
        }
        let token = tx
            .api_token(permit.org(), id)
            .await?
            .ok_or(AppError::NotFound(Entity::ApiToken))?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(token)
    }
}
