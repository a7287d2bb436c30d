//! Authentication use cases: sign-in with password and optional TOTP, sessions (128-bit
//! random tokens, rotated at sign-in, idle and absolute timeouts, revoked on disable and
//! password change), API tokens, password change, TOTP enrolment and recovery codes.
//! Also the short-lived in-memory cache of principals that keeps authenticated requests
//! cheap.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use seal_core::audit::Actor;
use seal_core::ids::{OrgId, PersonId};
use seal_core::org::OrgCode;
use seal_core::permission::PermissionSet;
use seal_core::person::{Login, PersonStatus};
use seal_core::time::Timestamp;
use seal_store::{SessionRecord, Tx};

use crate::audit::{record, record_by};
use crate::error::Invalid;
use crate::password::check_strength;
use crate::policy::{self, Credential, Principal};
use crate::totp::{self, Enrolment};
use crate::{App, AppError, RequestContext, secrets};

/// What the sign-in form sends.
#[derive(Clone)]
pub struct LoginRequest {
    pub org_code: String,
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("org_code", &self.org_code)
            .field("login", &self.login)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// A session just created. The token is shown to the client once (as a cookie) and
/// only its digest is stored.
#[derive(Clone)]
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    /// The password was right and a second factor must follow before the session is usable.
    pub mfa_pending: bool,
    pub must_change_password: bool,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("token", &"[redacted]")
            .field("mfa_pending", &self.mfa_pending)
            .finish()
    }
}

/// Seconds between two writes of a session's last-seen time.
const TOUCH_EVERY_SECONDS: i64 = 60;
/// The cache is dropped whole when it grows past this many entries.
const CACHE_LIMIT: usize = 10_000;

#[derive(Clone)]
struct CachedPrincipal {
    principal: Principal,
    cached_at: Timestamp,
    session_created_at: Timestamp,
    last_seen_at: Timestamp,
}

/// Principals by the digest of their session token or API token, reused for
/// `auth_cache_seconds`. Any use case that changes people, roles, sessions or tokens
/// clears them.
///
/// Beside them, the time of each session's latest request. The database's `last_seen_at`
/// is written at most once a minute (a write per request would cost an fsync each), so
/// the idle timeout is judged against the later of the two: a session never ends early
/// because its latest requests were not written yet.
#[derive(Default)]
pub struct AuthCache {
    entries: RwLock<HashMap<String, CachedPrincipal>>,
    latest_request: Mutex<HashMap<String, Timestamp>>,
    /// Bumped by every [`AuthCache::clear`]. A principal read from the database is cached
    /// only if no clear happened while it was being read, so a change that commits during
    /// the read cannot be undone by a stale entry.
    generation: AtomicU64,
}

impl AuthCache {
    fn get(&self, key: &str) -> Option<CachedPrincipal> {
        self.entries.read().ok()?.get(key).cloned()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Caches `value` unless the cache was cleared since `generation` was read.
    fn put(&self, key: String, value: CachedPrincipal, generation: u64) {
        if let Ok(mut entries) = self.entries.write() {
            // Checked under the write lock, which `clear` also takes.
            if self.generation() != generation {
                return;
            }
            if entries.len() >= CACHE_LIMIT {
                entries.clear();
            }
            entries.insert(key, value);
        }
    }

    /// Notes a request on a session; returns the previous one noted.
    fn note_request(&self, key: &str, now: Timestamp) -> Option<Timestamp> {
        let mut seen = self.latest_request.lock().ok()?;
        if seen.len() >= CACHE_LIMIT {
            seen.clear();
        }
        seen.insert(key.to_owned(), now)
    }

    fn latest_request(&self, key: &str) -> Option<Timestamp> {
        self.latest_request.lock().ok()?.get(key).copied()
    }

    /// Forgets every cached principal.
    pub fn clear(&self) {
        if let Ok(mut entries) = self.entries.write() {
            self.generation.fetch_add(1, Ordering::SeqCst);
            entries.clear();
        }
    }
}

impl App {
    /// Signs a person in with organisation code, phone or e-mail, and password. When they
    /// enrolled TOTP the new session is pending until [`App::complete_mfa`]. A session the
    /// client already had (`previous_token`) is ended: tokens rotate at every sign-in.
    pub async fn login(
        &self,
        request: &LoginRequest,
        context: &RequestContext,
        previous_token: Option<&str>,
    ) -> Result<NewSession, AppError> {
        let org_code = OrgCode::parse(&request.org_code)
            .map_err(|e| AppError::invalid("org_code", Invalid::OrgCode(e)))?;
        let login =
            Login::parse(&request.login).map_err(|_| AppError::invalid("login", Invalid::Login))?;
        let account_key = format!("{}|{}", org_code, login);
        self.limiter()
            .check(Some(&account_key), &context.source)
            .map_err(|retry_after_seconds| AppError::RateLimited {
                retry_after_seconds,
            })?;

        // Read and verify outside any write transaction: argon2 takes tens of milliseconds
        // and must not hold SQLite's write lock while it runs.
        let (org, read_credentials) = {
            let mut tx = self.store().read().await?;
            let org = tx.org_by_code(&org_code).await?;
            let credentials = match &org {
                Some(org) => tx.credentials_by_login(org.id, &login).await?,
                None => None,
            };
            tx.commit().await?;
            (org, credentials)
        };
        let password_ok = self
            .hasher()
            .verify(
                &request.password,
                read_credentials.as_ref().map(|c| c.password_hash.as_str()),
            )
            .await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        // The password was checked against what was read; it must still be the current one.
        let credentials = match (&org, &read_credentials, password_ok) {
            (Some(org), Some(read), true) => tx
                .credentials(org.id, read.person_id)
                .await?
                .filter(|now| now.password_hash == read.password_hash),
            _ => None,
        };
        let (Some(org), Some(credentials)) = (org.as_ref(), credentials) else {
            let org_id = org.as_ref().map(|o| o.id);
            record(
                &mut tx,
                now,
                org_id,
                &Actor::Anonymous,
                context,
                "auth.sign_in_failed",
                String::new(),
                vec![
                    ("login", login.to_string()),
                    ("org_code", org_code.to_string()),
                ],
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::BadCredentials);
        };
        if credentials.status == PersonStatus::Disabled {
            record(
                &mut tx,
                now,
                Some(org.id),
                &Actor::Person(credentials.person_id),
                context,
                "auth.sign_in_refused",
                person_subject(credentials.person_id),
                vec![("reason", "disabled".to_owned())],
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::AccountDisabled);
        }
        if let Some(previous) = previous_token {
            tx.delete_session(&secrets::digest(previous)).await?;
        }
        let person = tx
            .person(org.id, credentials.person_id)
            .await?
            .ok_or(AppError::BadCredentials)?;
        let session = insert_session(
            &mut tx,
            org.id,
            credentials.person_id,
            credentials.totp_enabled,
            now,
            context,
        )
        .await?;
        let action = if credentials.totp_enabled {
            "auth.password_accepted"
        } else {
            "auth.signed_in"
        };
        record(
            &mut tx,
            now,
            Some(org.id),
            &Actor::Person(credentials.person_id),
            context,
            action,
            person_subject(credentials.person_id),
            vec![],
        )
        .await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(NewSession {
            must_change_password: person.must_change_password,
            ..session
        })
    }

    /// Completes a sign-in that is waiting for the second factor, with a TOTP code or a
    /// recovery code. The pending session is replaced by a new one.
    pub async fn complete_mfa(
        &self,
        pending_token: &str,
        code: &str,
        context: &RequestContext,
    ) -> Result<NewSession, AppError> {
        let now = self.now();
        let hash = secrets::digest(pending_token);
        let mut tx = self.store().write().await?;
        let session = tx.session(&hash).await?.ok_or(AppError::Unauthenticated)?;
        if !session.mfa_pending {
            // A full session has nothing to complete; leave it alone.
            return Err(AppError::Unauthenticated);
        }
        if now.seconds_since(session.created_at) > self.settings().mfa_pending_seconds {
            tx.delete_session(&hash).await?;
            tx.commit().await?;
            return Err(AppError::Unauthenticated);
        }
        self.limiter()
            .check(Some(&format!("mfa|{}", session.person_id)), &context.source)
            .map_err(|retry_after_seconds| AppError::RateLimited {
                retry_after_seconds,
            })?;
        let credentials = tx
            .credentials(session.org_id, session.person_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if credentials.status == PersonStatus::Disabled {
            tx.delete_session(&hash).await?;
            tx.commit().await?;
            return Err(AppError::AccountDisabled);
        }
        let method = self
            .check_second_factor(&mut tx, &credentials, code, now)
            .await?;
        let Some(method) = method else {
            record(
                &mut tx,
                now,
                Some(session.org_id),
                &Actor::Person(session.person_id),
                context,
                "auth.second_factor_failed",
                person_subject(session.person_id),
                vec![],
            )
            .await?;
            tx.commit().await?;
            return Err(AppError::BadSecondFactor);
        };
        tx.delete_session(&hash).await?;
        let person = tx
            .person(session.org_id, session.person_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let new_session = insert_session(
            &mut tx,
            session.org_id,
            session.person_id,
            false,
            now,
            context,
        )
        .await?;
        record(
            &mut tx,
            now,
            Some(session.org_id),
            &Actor::Person(session.person_id),
            context,
            "auth.signed_in",
            person_subject(session.person_id),
            vec![("second_factor", method.to_owned())],
        )
        .await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(NewSession {
            must_change_password: person.must_change_password,
            ..new_session
        })
    }

    /// A TOTP code (never the same step twice) or an unused recovery code. Returns which
    /// one matched.
    async fn check_second_factor(
        &self,
        tx: &mut Tx,
        credentials: &seal_store::Credentials,
        code: &str,
        now: Timestamp,
    ) -> Result<Option<&'static str>, AppError> {
        let Some(secret) = credentials
            .totp_secret
            .as_deref()
            .filter(|_| credentials.totp_enabled)
        else {
            return Ok(None);
        };
        let unix_seconds = u64::try_from(now.as_millis() / 1000).unwrap_or(0);
        if let Some(step) = totp::matching_step(secret, code, unix_seconds)? {
            let fresh = tx
                .advance_totp_step(credentials.org_id, credentials.person_id, step as i64)
                .await?;
            return Ok(fresh.then_some("totp"));
        }
        let normalised = secrets::normalise_recovery_code(code);
        if normalised.len() == 14
            && tx
                .use_recovery_code(credentials.person_id, &secrets::digest(&normalised), now)
                .await?
        {
            return Ok(Some("recovery_code"));
        }
        Ok(None)
    }

    /// Deletes sessions that can no longer be used (idle or absolute timeout passed, second
    /// factor never given). Housekeeping, run periodically by the server; expired sessions
    /// are already refused when presented, so this only keeps the table small.
    pub async fn purge_expired_sessions(&self) -> Result<u64, AppError> {
        let now = self.now();
        let settings = self.settings();
        // last_seen_at may lag the latest request by up to a minute (see AuthCache).
        let seen_before = now.plus_seconds(-(settings.session_idle_seconds + TOUCH_EVERY_SECONDS));
        let created_before = now.plus_seconds(-settings.session_absolute_seconds);
        let pending_before = now.plus_seconds(-settings.mfa_pending_seconds);
        let mut tx = self.store().write().await?;
        let deleted = tx
            .delete_expired_sessions(seen_before, created_before, pending_before)
            .await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// Ends the caller's session.
    pub async fn logout(
        &self,
        principal: &Principal,
        context: &RequestContext,
    ) -> Result<(), AppError> {
        let permit = policy::own_account(principal)?;
        let Credential::Session { token_hash, .. } = &principal.credential else {
            return Err(AppError::SessionRequired);
        };
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.delete_session(token_hash).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "auth.signed_out",
            person_subject(permit.person()),
            vec![],
        )
        .await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(())
    }

    /// The principal behind a session token: `Unauthenticated` when it is unknown, timed
    /// out or its person is disabled; `MfaRequired` while the second factor is pending.
    pub async fn authenticate_session(&self, token: &str) -> Result<Principal, AppError> {
        let now = self.now();
        let hash = secrets::digest(token);
        let settings = self.settings();
        let within_limits = |created: Timestamp, seen: Timestamp| {
            now.seconds_since(seen) <= settings.session_idle_seconds
                && now.seconds_since(created) <= settings.session_absolute_seconds
        };
        let noted = self.auth_cache().latest_request(&hash);
        let latest = |stored: Timestamp| noted.map_or(stored, |n| n.max(stored));
        if let Some(hit) = self.auth_cache().get(&hash)
            && now.seconds_since(hit.cached_at) < settings.auth_cache_seconds
            && within_limits(hit.session_created_at, latest(hit.last_seen_at))
        {
            self.auth_cache().note_request(&hash, now);
            return Ok(hit.principal);
        }
        let generation = self.auth_cache().generation();
        let session = self
            .store()
            .session(&hash)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if !within_limits(session.created_at, latest(session.last_seen_at)) {
            self.store().delete_session(&hash).await?;
            return Err(AppError::Unauthenticated);
        }
        if session.mfa_pending {
            return Err(AppError::MfaRequired);
        }
        let credential = Credential::Session {
            token_hash: hash.clone(),
            csrf_token: session.csrf_token.clone(),
        };
        let principal = self
            .load_principal(session.org_id, session.person_id, credential, None)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let mut last_seen = session.last_seen_at;
        if now.seconds_since(session.last_seen_at) >= TOUCH_EVERY_SECONDS {
            self.store().touch_session(&hash, now).await?;
            last_seen = now;
        }
        self.auth_cache().note_request(&hash, now);
        self.auth_cache().put(
            hash,
            CachedPrincipal {
                principal: principal.clone(),
                cached_at: now,
                session_created_at: session.created_at,
                last_seen_at: last_seen,
            },
            generation,
        );
        Ok(principal)
    }

    /// The principal behind an API token (`Authorization: Bearer skt_…`), limited to the
    /// token's scopes and to what its person may still do.
    pub async fn authenticate_token(&self, secret: &str) -> Result<Principal, AppError> {
        let now = self.now();
        let hash = secrets::digest(secret);
        if let Some(hit) = self.auth_cache().get(&hash)
            && now.seconds_since(hit.cached_at) < self.settings().auth_cache_seconds
        {
            return Ok(hit.principal);
        }
        let generation = self.auth_cache().generation();
        let token = self
            .store()
            .api_token_by_hash(&hash)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if token.revoked_at.is_some() {
            return Err(AppError::Unauthenticated);
        }
        let principal = self
            .load_principal(
                token.org_id,
                token.person_id,
                Credential::ApiToken { id: token.id },
                Some(token.scopes),
            )
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if token
            .last_used_at
            .is_none_or(|used| now.seconds_since(used) >= TOUCH_EVERY_SECONDS)
        {
            self.store().touch_api_token(token.id, now).await?;
        }
        self.auth_cache().put(
            hash,
            CachedPrincipal {
                principal: principal.clone(),
                cached_at: now,
                session_created_at: now,
                last_seen_at: now,
            },
            generation,
        );
        Ok(principal)
    }

    /// Reads a person, their roles and organisation; `None` when the person is gone or
    /// disabled.
    async fn load_principal(
        &self,
        org_id: OrgId,
        person_id: PersonId,
        credential: Credential,
        scopes: Option<PermissionSet>,
    ) -> Result<Option<Principal>, AppError> {
        let mut tx = self.store().read().await?;
        let Some(person) = tx.person(org_id, person_id).await? else {
            return Ok(None);
        };
        let Some(org) = tx.org(org_id).await? else {
            return Ok(None);
        };
        let roles = tx.person_roles(org_id, person_id).await?;
        tx.commit().await?;
        if person.status != PersonStatus::Active {
            return Ok(None);
        }
        let held = policy::permissions_of(&roles);
        let permissions = match scopes {
            Some(scopes) => held.intersection(scopes),
            None => held,
        };
        Ok(Some(Principal {
            person,
            org,
            roles,
            permissions,
            credential,
        }))
    }

    /// Changes the caller's password after checking the current one. Every session of the
    /// person ends; the caller gets a fresh one.
    pub async fn change_password(
        &self,
        principal: &Principal,
        current: &str,
        new: &str,
        context: &RequestContext,
    ) -> Result<NewSession, AppError> {
        let permit = policy::own_account(principal)?;
        let checked = self
            .verify_own_password(&permit, current, "current_password", context)
            .await?;
        let personal = personal_words(&principal.person, principal.org.code.as_str());
        let personal: Vec<&str> = personal.iter().map(String::as_str).collect();
        check_strength(new, &personal)
            .map_err(|p| AppError::invalid("new_password", Invalid::Password(p)))?;
        if new == current {
            return Err(AppError::invalid("new_password", Invalid::SameAsCurrent));
        }
        let hash = self.hasher().hash(new).await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let unchanged = tx
            .credentials(permit.org(), permit.person())
            .await?
            .is_some_and(|c| c.password_hash == checked.password_hash);
        if !unchanged {
            return Err(AppError::invalid(
                "current_password",
                Invalid::WrongPassword,
            ));
        }
        tx.set_password(permit.org(), permit.person(), &hash, false, now)
            .await?;
        tx.delete_sessions_of(permit.org(), permit.person()).await?;
        let session =
            insert_session(&mut tx, permit.org(), permit.person(), false, now, context).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "auth.password_changed",
            person_subject(permit.person()),
            vec![],
        )
        .await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(session)
    }

    /// Checks the caller's own password (to confirm a change to their account) outside any
    /// write transaction, rate-limited like sign-in; a wrong one is audited.
    async fn verify_own_password(
        &self,
        permit: &policy::Permit,
        password: &str,
        field: &'static str,
        context: &RequestContext,
    ) -> Result<seal_store::Credentials, AppError> {
        self.limiter()
            .check(
                Some(&format!("password|{}", permit.person())),
                &context.source,
            )
            .map_err(|retry_after_seconds| AppError::RateLimited {
                retry_after_seconds,
            })?;
        let credentials = {
            let mut tx = self.store().read().await?;
            let found = tx.credentials(permit.org(), permit.person()).await?;
            tx.commit().await?;
            found.ok_or(AppError::Unauthenticated)?
        };
        if self
            .hasher()
            .verify(password, Some(&credentials.password_hash))
            .await?
        {
            return Ok(credentials);
        }
        let now = self.now();
        let mut tx = self.store().write().await?;
        record_by(
            &mut tx,
            permit,
            now,
            context,
            "auth.password_check_failed",
            person_subject(permit.person()),
            vec![],
        )
        .await?;
        tx.commit().await?;
        Err(AppError::invalid(field, Invalid::WrongPassword))
    }

    /// Starts TOTP enrolment: a new secret, not yet in force until confirmed with a code.
    pub async fn start_totp_enrolment(
        &self,
        principal: &Principal,
        context: &RequestContext,
    ) -> Result<Enrolment, AppError> {
        let permit = policy::own_account(principal)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let credentials = tx
            .credentials(permit.org(), permit.person())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if credentials.totp_enabled {
            return Err(AppError::Conflict(
                crate::error::Conflict::TotpAlreadyEnabled,
            ));
        }
        let secret = totp::new_secret();
        tx.set_totp(permit.org(), permit.person(), Some(&secret), false)
            .await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "auth.totp_enrolment_started",
            person_subject(permit.person()),
            vec![],
        )
        .await?;
        tx.commit().await?;
        totp::enrolment(
            &secret,
            &self.settings().totp_issuer,
            &totp_account(principal),
        )
    }

    /// The enrolment still waiting for its confirming code, if one was started (so a form
    /// can show the same QR code again after a wrong code).
    pub async fn current_totp_enrolment(
        &self,
        principal: &Principal,
    ) -> Result<Option<Enrolment>, AppError> {
        let permit = policy::own_account(principal)?;
        let mut tx = self.store().read().await?;
        let credentials = tx.credentials(permit.org(), permit.person()).await?;
        tx.commit().await?;
        match credentials {
            Some(c) if !c.totp_enabled => match c.totp_secret {
                Some(secret) => Ok(Some(totp::enrolment(
                    &secret,
                    &self.settings().totp_issuer,
                    &totp_account(principal),
                )?)),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// Confirms enrolment with a code from the app; TOTP is then demanded at every sign-in.
    /// Returns ten recovery codes, shown this once.
    pub async fn confirm_totp(
        &self,
        principal: &Principal,
        code: &str,
        context: &RequestContext,
    ) -> Result<Vec<String>, AppError> {
        let permit = policy::own_account(principal)?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let credentials = tx
            .credentials(permit.org(), permit.person())
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if credentials.totp_enabled {
            return Err(AppError::Conflict(
                crate::error::Conflict::TotpAlreadyEnabled,
            ));
        }
        let Some(secret) = credentials.totp_secret.as_deref() else {
            return Err(AppError::Conflict(crate::error::Conflict::TotpNotEnrolling));
        };
        let unix_seconds = u64::try_from(now.as_millis() / 1000).unwrap_or(0);
        let Some(step) = totp::matching_step(secret, code, unix_seconds)? else {
            return Err(AppError::BadSecondFactor);
        };
        if !tx
            .advance_totp_step(permit.org(), permit.person(), step as i64)
            .await?
        {
            return Err(AppError::BadSecondFactor);
        }
        tx.set_totp(permit.org(), permit.person(), Some(secret), true)
            .await?;
        let codes = new_recovery_codes(&mut tx, permit.person()).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "auth.totp_enabled",
            person_subject(permit.person()),
            vec![],
        )
        .await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(codes)
    }

    /// How many unused recovery codes the caller has left.
    pub async fn recovery_codes_left(&self, principal: &Principal) -> Result<i64, AppError> {
        let permit = policy::own_account_read(principal);
        let mut tx = self.store().read().await?;
        let left = tx.unused_recovery_codes(permit.person()).await?;
        tx.commit().await?;
        Ok(left)
    }

    /// Replaces the caller's recovery codes with ten new ones, after checking the
    /// password; the old ones stop working. Shown once.
    pub async fn regenerate_recovery_codes(
        &self,
        principal: &Principal,
        password: &str,
        context: &RequestContext,
    ) -> Result<Vec<String>, AppError> {
        let permit = policy::own_account(principal)?;
        if !principal.person.totp_enabled {
            return Err(AppError::Conflict(crate::error::Conflict::TotpNotEnabled));
        }
        self.verify_own_password(&permit, password, "password", context)
            .await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        let codes = new_recovery_codes(&mut tx, permit.person()).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "auth.recovery_codes_replaced",
            person_subject(permit.person()),
            vec![],
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// Turns TOTP off after checking the password.
    pub async fn remove_totp(
        &self,
        principal: &Principal,
        password: &str,
        context: &RequestContext,
    ) -> Result<(), AppError> {
        let permit = policy::own_account(principal)?;
        if !principal.person.totp_enabled {
            return Err(AppError::Conflict(crate::error::Conflict::TotpNotEnabled));
        }
        self.verify_own_password(&permit, password, "password", context)
            .await?;
        let now = self.now();
        let mut tx = self.store().write().await?;
        tx.set_totp(permit.org(), permit.person(), None, false)
            .await?;
        tx.replace_recovery_codes(permit.person(), &[]).await?;
        record_by(
            &mut tx,
            &permit,
            now,
            context,
            "auth.totp_removed",
            person_subject(permit.person()),
            vec![],
        )
        .await?;
        tx.commit().await?;
        self.auth_cache().clear();
        Ok(())
    }
}

pub(crate) async fn insert_session(
    tx: &mut Tx,
    org: OrgId,
    person: PersonId,
    mfa_pending: bool,
    now: Timestamp,
    context: &RequestContext,
) -> Result<NewSession, AppError> {
    let token = secrets::token_128();
    let csrf_token = secrets::token_128();
    tx.insert_session(&SessionRecord {
        token_hash: secrets::digest(&token),
        org_id: org,
        person_id: person,
        csrf_token: csrf_token.clone(),
        mfa_pending,
        created_at: now,
        last_seen_at: now,
        source: context.source.clone(),
        user_agent: context.user_agent.chars().take(200).collect(),
    })
    .await?;
    Ok(NewSession {
        token,
        csrf_token,
        mfa_pending,
        must_change_password: false,
    })
}

pub(crate) fn person_subject(person: PersonId) -> String {
    format!("person:{person}")
}

/// Ten fresh recovery codes for `person`, replacing any before; only digests are stored.
async fn new_recovery_codes(tx: &mut Tx, person: PersonId) -> Result<Vec<String>, AppError> {
    let codes: Vec<String> = (0..10).map(|_| secrets::recovery_code()).collect();
    let hashes: Vec<String> = codes.iter().map(|c| secrets::digest(c)).collect();
    tx.replace_recovery_codes(person, &hashes).await?;
    Ok(codes)
}

/// How the account is named in the authenticator app: login and organisation code.
fn totp_account(principal: &Principal) -> String {
    let person = &principal.person;
    let login = person
        .phone
        .as_ref()
        .map(|p| p.to_string())
        .or_else(|| person.email.as_ref().map(|e| e.to_string()))
        .unwrap_or_default();
    format!("{login} ({})", principal.org.code.as_str())
}

/// Words an attacker could guess from the person: fed to the strength estimator.
pub(crate) fn personal_words(person: &seal_store::PersonRecord, org_code: &str) -> Vec<String> {
    let mut words = vec![person.name.as_str().to_owned(), org_code.to_owned()];
    words.extend(person.phone.as_ref().map(|p| p.to_string()));
    if let Some(email) = &person.email {
        words.push(email.to_string());
        words.extend(email.as_str().split('@').next().map(str::to_owned));
    }
    words
}
