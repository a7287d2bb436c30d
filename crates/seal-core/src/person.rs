//! People: display names, mainland mobile numbers, e-mail addresses, the login that
//! identifies a person inside an organisation, and a person's status.

use std::fmt;

use crate::text::{self, TextError};

/// A person's display name, 1–50 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_LEN: usize = 50;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        text::bounded(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mainland China mobile number, kept as its 11 digits (`1[3-9]` and nine more).
/// Accepts an optional `+86`/`86` prefix and spaces or hyphens between digit groups.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Phone(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a mainland mobile number: 11 digits starting with 13 to 19")]
pub struct PhoneError;

impl Phone {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.len() > 20 {
            return Err(PhoneError);
        }
        let without_plus = trimmed.strip_prefix('+').unwrap_or(trimmed);
        let mut digits = String::with_capacity(13);
        for c in without_plus.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' => {}
                _ => return Err(PhoneError),
            }
        }
        let international = without_plus.len() != trimmed.len();
        let national = match digits.len() {
            13 if digits.starts_with("86") => &digits[2..],
            11 if !international => &digits[..],
            _ => return Err(PhoneError),
        };
        let bytes = national.as_bytes();
        if bytes[0] != b'1' || !(b'3'..=b'9').contains(&bytes[1]) {
            return Err(PhoneError);
        }
        Ok(Self(national.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address: one `@`, a local part of 1–64 characters, a domain with a dot,
/// no spaces, at most 254 characters; kept in lower case, so that `Li@X.cn` and `li@x.cn`
/// are one login (mail systems in practice ignore the case of the local part too).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid e-mail address")]
pub struct EmailError;

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        if trimmed.len() > Self::MAX_LEN
            || trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(EmailError);
        }
        let (local, domain) = trimmed.split_once('@').ok_or(EmailError)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@')
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err(EmailError);
        }
        Ok(Self(format!(
            "{}@{}",
            local.to_lowercase(),
            domain.to_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a person types at sign-in to say who they are inside their organisation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Login {
    Phone(Phone),
    Email(Email),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("enter a mobile number or an e-mail address")]
pub struct LoginError;

impl Login {
    /// An input with an `@` is an e-mail address, anything else a mobile number.
    pub fn parse(input: &str) -> Result<Self, LoginError> {
        if input.contains('@') {
            Email::parse(input)
                .map(Login::Email)
                .map_err(|_| LoginError)
        } else {
            Phone::parse(input)
                .map(Login::Phone)
                .map_err(|_| LoginError)
        }
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Login::Phone(phone) => phone.fmt(f),
            Login::Email(email) => email.fmt(f),
        }
    }
}

/// Whether a person may sign in and act.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PersonStatus {
    Active,
    Disabled,
}

impl PersonStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            PersonStatus::Active => "active",
            PersonStatus::Disabled => "disabled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "active" => Some(PersonStatus::Active),
            "disabled" => Some(PersonStatus::Disabled),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        for ok in [
            "13800138000",
            "+86 138 0013 8000",
            "86-138-0013-8000",
            " 19912345678 ",
        ] {
            assert!(Phone::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            Phone::parse("+8613800138000").map(|p| p.to_string()),
            Ok("13800138000".into())
        );
        for bad in [
            "12800138000",
            "1380013800",
            "138001380001",
            "138a0138000",
            "",
            "+1 650 253 0000",
        ] {
            assert_eq!(Phone::parse(bad), Err(PhoneError), "{bad}");
        }
    }

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Li.Lei@Example.COM ").map(|e| e.to_string()),
            Ok("li.lei@example.com".into())
        );
        assert!(Email::parse("张三@公司.中国").is_ok());
        for bad in [
            "", "a", "a@b", "@b.cn", "a@.cn", "a@b..cn", "a b@c.cn", "a@b@c.cn", "a@b.cn.",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError), "{bad}");
        }
        assert!(Email::parse(&format!("{}@b.cn", "a".repeat(65))).is_err());
    }

    #[test]
    fn logins() {
        assert!(matches!(Login::parse("13800138000"), Ok(Login::Phone(_))));
        assert!(matches!(Login::parse("a@b.cn"), Ok(Login::Email(_))));
        assert_eq!(Login::parse("nobody"), Err(LoginError));
    }
}
