//! Organisations: the organisation code used at sign-in, the display name, and the
//! unified social credit code (统一社会信用代码, GB 32100-2015) with its check character.

use std::fmt;

use crate::text::{self, TextError};

/// The short code that names an organisation at sign-in (组织编码): 2–32 characters of
/// ASCII letters, digits and hyphens, starting with a letter or digit; kept in lower case.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrgCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgCodeError {
    #[error("the organisation code must be 2 to 32 characters")]
    Length,
    #[error(
        "the organisation code may contain only letters, digits and hyphens, and must start with a letter or digit"
    )]
    Characters,
}

impl OrgCode {
    pub const MAX_LEN: usize = 32;

    pub fn parse(input: &str) -> Result<Self, OrgCodeError> {
        let code = input.trim().to_ascii_lowercase();
        let len = code.chars().count();
        if !(2..=Self::MAX_LEN).contains(&len) {
            return Err(OrgCodeError::Length);
        }
        let mut chars = code.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        if !first_ok || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(OrgCodeError::Characters);
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organisation's registered name, 1–100 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    pub const MAX_LEN: usize = 100;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        text::bounded(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A unified social credit code (统一社会信用代码): 18 characters from the GB 32100
/// alphabet, digits 3–8 an administrative division code, and a final check character.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Uscc(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("the unified social credit code must be 18 characters")]
    Length,
    #[error(
        "the unified social credit code contains a character outside its alphabet (I, O, S, V and Z are never used)"
    )]
    Character,
    #[error(
        "characters 3 to 8 of the unified social credit code must be digits (the administrative division code)"
    )]
    Division,
    #[error(
        "the check character (the 18th) of the unified social credit code is wrong: please check the code for a typo"
    )]
    CheckCharacter,
}

/// The 31-character alphabet of GB 32100-2015, in value order.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17: 3^(i) mod 31.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

impl Uscc {
    pub fn parse(input: &str) -> Result<Self, UsccError> {
        let code: String = input.trim().to_ascii_uppercase();
        if code.len() != 18 || code.chars().count() != 18 {
            return Err(UsccError::Length);
        }
        let mut values = [0u32; 18];
        for (slot, byte) in values.iter_mut().zip(code.bytes()) {
            *slot = uscc_value(byte).ok_or(UsccError::Character)?;
        }
        if !code.as_bytes()[2..8].iter().all(u8::is_ascii_digit) {
            return Err(UsccError::Division);
        }
        if uscc_check_value(&values[..17]) != values[17] {
            return Err(UsccError::CheckCharacter);
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn uscc_value(byte: u8) -> Option<u32> {
    USCC_ALPHABET
        .iter()
        .position(|&c| c == byte)
        .map(|p| p as u32)
}

fn uscc_check_value(first_17: &[u32]) -> u32 {
    let sum: u32 = first_17.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31
}

/// The check character that completes the first 17 characters of a code; `None` when
/// one of them is outside the alphabet. Used to build valid codes in tests and demos.
pub fn uscc_check_character(first_17: &str) -> Option<char> {
    let values: Option<Vec<u32>> = first_17.bytes().map(uscc_value).collect();
    let values = values?;
    if values.len() != 17 {
        return None;
    }
    Some(char::from(
        USCC_ALPHABET[uscc_check_value(&values) as usize],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_published_codes() {
        // Codes printed on public business licences.
        for code in ["91350100M000100Y43", "91110000802100433B"] {
            assert_eq!(
                Uscc::parse(code).map(|c| c.as_str().to_owned()),
                Ok(code.to_owned())
            );
        }
        assert!(
            Uscc::parse(" 91350100m000100y43 ").is_ok(),
            "trimmed and upper-cased"
        );
    }

    #[test]
    fn rejects_bad_codes() {
        assert_eq!(
            Uscc::parse("91350100M000100Y44"),
            Err(UsccError::CheckCharacter)
        );
        assert_eq!(Uscc::parse("91350100M000100Y4"), Err(UsccError::Length));
        assert_eq!(Uscc::parse("91350100M0001O0Y43"), Err(UsccError::Character));
        assert_eq!(Uscc::parse("913A0100M000100Y43"), Err(UsccError::Division));
        assert_eq!(Uscc::parse("９１350100M000100Y4"), Err(UsccError::Length));
    }

    proptest! {
        #[test]
        fn any_single_substitution_is_caught(pos in 0usize..18, replacement in 0usize..31) {
            let code = "91350100M000100Y43";
            let mut bytes = code.as_bytes().to_vec();
            let new = USCC_ALPHABET[replacement];
            prop_assume!(bytes[pos] != new);
            bytes[pos] = new;
            let changed = String::from_utf8(bytes).unwrap_or_default();
            prop_assert!(Uscc::parse(&changed).is_err());
        }

        #[test]
        fn completed_codes_parse(body in "[0-9A-HJ-NP-RTUW-Y]{2}[0-9]{6}[0-9A-HJ-NP-RTUW-Y]{9}") {
            let check = uscc_check_character(&body);
            prop_assert!(check.is_some());
            let full = format!("{body}{}", check.unwrap_or('0'));
            prop_assert!(Uscc::parse(&full).is_ok());
        }
    }

    #[test]
    fn org_codes() {
        assert_eq!(
            OrgCode::parse(" ACME-Corp ").map(|c| c.to_string()),
            Ok("acme-corp".into())
        );
        assert_eq!(OrgCode::parse("a"), Err(OrgCodeError::Length));
        assert_eq!(OrgCode::parse("-abc"), Err(OrgCodeError::Characters));
        assert_eq!(OrgCode::parse("公司"), Err(OrgCodeError::Characters));
        assert_eq!(OrgCode::parse(&"a".repeat(33)), Err(OrgCodeError::Length));
    }
}
