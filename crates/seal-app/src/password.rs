//! Password rules and hashing: at least 10 characters and a zxcvbn score of 3 or more
//! (with the person's own name, phone, e-mail and organisation code counted as guessable),
//! hashed with argon2id.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::AppError;

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 128;
pub const MIN_SCORE: u8 = 3;

/// Why a password was refused; the feedback items name zxcvbn's warnings and suggestions
/// by stable keys so that the server can show them in the reader's language.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort { min: usize },
    TooLong { max: usize },
    Weak { score: u8, feedback: Vec<String> },
}

/// Checks a new password against the rules. `personal` holds words an attacker could
/// guess from the person (name, phone, e-mail, organisation code).
pub fn check_strength(password: &str, personal: &[&str]) -> Result<(), PasswordProblem> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(PasswordProblem::TooShort { min: MIN_LENGTH });
    }
    if length > MAX_LENGTH {
        return Err(PasswordProblem::TooLong { max: MAX_LENGTH });
    }
    let entropy = zxcvbn::zxcvbn(password, personal);
    let score = entropy.score() as u8;
    if score >= MIN_SCORE {
        return Ok(());
    }
    let mut feedback = Vec::new();
    if let Some(found) = entropy.feedback() {
        if let Some(warning) = found.warning() {
            feedback.push(format!("warning.{warning:?}"));
        }
        for suggestion in found.suggestions() {
            feedback.push(format!("suggestion.{suggestion:?}"));
        }
    }
    if feedback.is_empty() {
        feedback.push("suggestion.AddAnotherWordOrTwo".to_owned());
    }
    Err(PasswordProblem::Weak { score, feedback })
}

/// Argon2id with fixed costs.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    /// A hash of a random password, verified against when the account does not exist so
    /// that a wrong login takes as long as a wrong password.
    dummy_hash: String,
}

impl PasswordHasher {
    /// Fails on costs argon2 refuses (instead of silently using others).
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Self, AppError> {
        let params = Params::new(memory_kib, iterations, 1, None).map_err(|e| {
            AppError::Internal(format!(
                "argon2 costs (memory {memory_kib} KiB, {iterations} iterations): {e}"
            ))
        })?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = argon2
            .hash_password(crate::secrets::token_128().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| AppError::Internal(format!("argon2: {e}")))?;
        Ok(Self { argon2, dummy_hash })
    }

    /// Hashes on a blocking thread (argon2 takes tens of milliseconds by design).
    pub async fn hash(&self, password: &str) -> Result<String, AppError> {
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| AppError::Internal(format!("hashing a password: {e}")))
        })
        .await
        .map_err(|e| AppError::Internal(format!("hashing task: {e}")))?
    }

    /// Verifies on a blocking thread; `None` as the hash burns the same time and fails.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, AppError> {
        let argon2 = self.argon2.clone();
        let password = password.to_owned();
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.dummy_hash).to_owned();
        tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| AppError::Internal(format!("stored password hash: {e}")))?;
            Ok(known && argon2.verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
        .map_err(|e| AppError::Internal(format!("verifying task: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strength_rules() {
        assert_eq!(
            check_strength("short", &[]),
            Err(PasswordProblem::TooShort { min: 10 })
        );
        assert!(matches!(
            check_strength("password123", &[]),
            Err(PasswordProblem::Weak { .. })
        ));
        assert!(matches!(
            check_strength("qwertyuiop", &[]),
            Err(PasswordProblem::Weak { .. })
        ));
        // The person's own phone number is guessable.
        assert!(matches!(
            check_strength("13800138000a", &["13800138000"]),
            Err(PasswordProblem::Weak { .. })
        ));
        assert_eq!(check_strength("correct horse battery staple", &[]), Ok(()));
        assert_eq!(check_strength("印章管理很重要mN7#q", &[]), Ok(()));
        assert!(matches!(
            check_strength(&"x".repeat(129), &[]),
            Err(PasswordProblem::TooLong { .. })
        ));
        if let Err(PasswordProblem::Weak { feedback, .. }) = check_strength("password123", &[]) {
            assert!(
                feedback
                    .iter()
                    .all(|f| f.starts_with("warning.") || f.starts_with("suggestion."))
            );
        }
    }

    #[tokio::test]
    async fn hashes_and_verifies() {
        let hasher = PasswordHasher::new(1024, 1).unwrap();
        assert!(
            PasswordHasher::new(1, 1).is_err(),
            "argon2 needs at least 8 KiB per lane"
        );
        let hash = hasher
            .hash("correct horse battery staple")
            .await
            .unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify("correct horse battery staple", Some(&hash))
                .await
                .unwrap_or(false)
        );
        assert!(
            !hasher
                .verify("wrong horse battery staple", Some(&hash))
                .await
                .unwrap_or(true)
        );
        assert!(!hasher.verify("anything", None).await.unwrap_or(true));
    }
}
