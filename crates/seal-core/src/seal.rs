//! Seals: what kind of seal it is, its shape and size, its level and the verification
//! factors the level demands, its status and which status changes are allowed.

use std::fmt;

use crate::text::{self, TextError};

/// How the seal is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealKind {
    /// A physical seal locked in a smart seal box (智能章筒).
    SealBox,
    /// A seal printer that prints the seal image and a QR code (印章打印装置).
    SealPrinter,
    /// An electronic seal applied to PDFs (电子印章).
    Electronic,
}

/// What the seal is for (印章类型).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealType {
    /// 公章
    Official,
    /// 财务专用章
    Finance,
    /// 合同专用章
    Contract,
    /// 业务专用章
    Business,
    /// 法定代表人名章
    LegalRepresentative,
    /// 发票专用章
    Invoice,
    /// Any other seal; its name says what it is for.
    Custom,
}

/// Implements `key`, `parse`, `ALL` and `Display` for a fieldless enum with stable keys.
macro_rules! keyed_enum {
    ($name:ident { $($variant:ident => $key:literal),+ $(,)? }) => {
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable text key (stored, and used in the API).
            pub const fn key(self) -> &'static str {
                match self {
                    $($name::$variant => $key),+
                }
            }

            pub fn parse(key: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.key() == key.trim())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.key())
            }
        }
    };
}
pub(crate) use keyed_enum;

keyed_enum!(SealKind {
    SealBox => "seal_box",
    SealPrinter => "seal_printer",
    Electronic => "electronic",
});

keyed_enum!(SealType {
    Official => "official",
    Finance => "finance",
    Contract => "contract",
    Business => "business",
    LegalRepresentative => "legal_representative",
    Invoice => "invoice",
    Custom => "custom",
});

/// The outline of a seal, with its true size in whole millimetres.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealShape {
    /// Round seals come in the standard diameters 38, 40, 42 and 45 mm.
    Round { diameter_mm: u8 },
    /// Oval seals (finance, invoice): wider than tall.
    Oval { width_mm: u8, height_mm: u8 },
    /// Square seals (legal representative's name seal).
    Square { side_mm: u8 },
}

/// Why a shape and size were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    #[error("unknown shape (round, oval or square)")]
    UnknownShape,
    #[error("a round seal is 38, 40, 42 or 45 mm across")]
    RoundDiameter,
    #[error("an oval seal is 30–60 mm wide and 20–45 mm tall, and wider than tall")]
    OvalSize,
    #[error("a square seal is 10–40 mm on a side")]
    SquareSide,
}

impl SealShape {
    pub const ROUND_DIAMETERS: [u8; 4] = [38, 40, 42, 45];

    /// Builds a shape from its stored or submitted parts: the shape key, the width and
    /// (for ovals) the height in millimetres.
    pub fn parse(shape: &str, width_mm: i64, height_mm: i64) -> Result<Self, ShapeError> {
        let fits = |v: i64, lo: i64, hi: i64| (lo..=hi).contains(&v);
        match shape.trim() {
            "round" => {
                let d = u8::try_from(width_mm).map_err(|_| ShapeError::RoundDiameter)?;
                if Self::ROUND_DIAMETERS.contains(&d) {
                    Ok(SealShape::Round { diameter_mm: d })
                } else {
                    Err(ShapeError::RoundDiameter)
                }
            }
            "oval" => {
                if fits(width_mm, 30, 60) && fits(height_mm, 20, 45) && width_mm > height_mm {
                    Ok(SealShape::Oval {
                        width_mm: width_mm as u8,
                        height_mm: height_mm as u8,
                    })
                } else {
                    Err(ShapeError::OvalSize)
                }
            }
            "square" => {
                if fits(width_mm, 10, 40) {
                    Ok(SealShape::Square {
                        side_mm: width_mm as u8,
                    })
                } else {
                    Err(ShapeError::SquareSide)
                }
            }
            _ => Err(ShapeError::UnknownShape),
        }
    }

    pub const fn key(self) -> &'static str {
        match self {
            SealShape::Round { .. } => "round",
            SealShape::Oval { .. } => "oval",
            SealShape::Square { .. } => "square",
        }
    }

    /// Width and height in millimetres.
    pub const fn size_mm(self) -> (u8, u8) {
        match self {
            SealShape::Round { diameter_mm } => (diameter_mm, diameter_mm),
            SealShape::Oval {
                width_mm,
                height_mm,
            } => (width_mm, height_mm),
            SealShape::Square { side_mm } => (side_mm, side_mm),
        }
    }

    /// The usual shape for a seal type: square name seals, oval invoice seals, 40 mm
    /// round seals otherwise.
    pub const fn default_for(seal_type: SealType) -> SealShape {
        match seal_type {
            SealType::LegalRepresentative => SealShape::Square { side_mm: 20 },
            SealType::Invoice => SealShape::Oval {
                width_mm: 40,
                height_mm: 30,
            },
            _ => SealShape::Round { diameter_mm: 40 },
        }
    }
}

/// A seal's protection level, 1 (highest) to 3. The level decides the verification
/// factors a grant demands at the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SealLevel(u8);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the level is 1, 2 or 3")]
pub struct LevelError;

impl SealLevel {
    pub const ALL: [SealLevel; 3] = [SealLevel(1), SealLevel(2), SealLevel(3)];

    pub fn new(level: i64) -> Result<Self, LevelError> {
        match level {
            1..=3 => Ok(SealLevel(level as u8)),
            _ => Err(LevelError),
        }
    }

    pub const fn get(self) -> u8 {
        self.0
    }
}

/// One way of proving at the device who is stamping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Factor {
    Fingerprint,
    Face,
    Pin,
    /// An electronic staff ID together with an authorisation code.
    IdAndCode,
}

keyed_enum!(Factor {
    Fingerprint => "fingerprint",
    Face => "face",
    Pin => "pin",
    IdAndCode => "id_code",
});

/// The factors demanded for one level: any one of the alternatives, each of which needs
/// all its factors. Written as text like `fingerprint+face` or `pin|id_code`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FactorRule(Vec<Vec<Factor>>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactorRuleError {
    #[error("at least one factor is needed")]
    Empty,
    #[error("unknown factor {0:?} (fingerprint, face, pin, id_code)")]
    Unknown(String),
}

impl FactorRule {
    /// Parses `a+b|c`: alternatives separated by `|`, factors of one alternative by `+`.
    pub fn parse(text: &str) -> Result<Self, FactorRuleError> {
        let mut alternatives: Vec<Vec<Factor>> = Vec::new();
        for alternative in text.split('|') {
            let mut factors = Vec::new();
            for key in alternative.split('+') {
                let key = key.trim();
                if key.is_empty() {
                    continue;
                }
                let factor =
                    Factor::parse(key).ok_or_else(|| FactorRuleError::Unknown(key.to_owned()))?;
                if !factors.contains(&factor) {
                    factors.push(factor);
                }
            }
            if factors.is_empty() {
                continue;
            }
            factors.sort();
            if !alternatives.contains(&factors) {
                alternatives.push(factors);
            }
        }
        if alternatives.is_empty() {
            return Err(FactorRuleError::Empty);
        }
        Ok(FactorRule(alternatives))
    }

    pub fn alternatives(&self) -> &[Vec<Factor>] {
        &self.0
    }

    /// Whether the factors presented at the device satisfy this rule.
    pub fn satisfied_by(&self, presented: &[Factor]) -> bool {
        self.0
            .iter()
            .any(|all| all.iter().all(|f| presented.contains(f)))
    }
}

impl fmt::Display for FactorRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, alternative) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("|")?;
            }
            for (j, factor) in alternative.iter().enumerate() {
                if j > 0 {
                    f.write_str("+")?;
                }
                f.write_str(factor.key())?;
            }
        }
        Ok(())
    }
}

/// The factors each level demands; configurable per organisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FactorPolicy {
    levels: [FactorRule; 3],
}

impl Default for FactorPolicy {
    /// Level 1: fingerprint and face; level 2: fingerprint; level 3: a PIN, or an
    /// electronic staff ID with an authorisation code.
    fn default() -> Self {
        use Factor::*;
        FactorPolicy {
            levels: [
                FactorRule(vec![vec![Fingerprint, Face]]),
                FactorRule(vec![vec![Fingerprint]]),
                FactorRule(vec![vec![Pin], vec![IdAndCode]]),
            ],
        }
    }
}

impl FactorPolicy {
    pub fn new(level1: FactorRule, level2: FactorRule, level3: FactorRule) -> Self {
        FactorPolicy {
            levels: [level1, level2, level3],
        }
    }

    pub fn rule(&self, level: SealLevel) -> &FactorRule {
        &self.levels[usize::from(level.get() - 1)]
    }
}

/// A seal's status. Only an active seal can be applied for or used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SealStatus {
    Active,
    /// Temporarily out of use (under review, being re-engraved …).
    Suspended,
    /// Reported lost or stolen (挂失); can be found again.
    ReportedLost,
    /// Withdrawn for good (注销); can still be destroyed.
    Revoked,
    /// Physically destroyed (销毁); final.
    Destroyed,
}

keyed_enum!(SealStatus {
    Active => "active",
    Suspended => "suspended",
    ReportedLost => "reported_lost",
    Revoked => "revoked",
    Destroyed => "destroyed",
});

/// A status change that is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a seal cannot go from {from} to {to}")]
pub struct StatusChangeError {
    pub from: SealStatus,
    pub to: SealStatus,
}

impl SealStatus {
    /// Whether applications may name the seal and grants for it may be used.
    pub const fn usable(self) -> bool {
        matches!(self, SealStatus::Active)
    }

    /// Whether no further change is possible.
    pub const fn is_final(self) -> bool {
        matches!(self, SealStatus::Destroyed)
    }

    /// Checks one status change: suspend and reactivate, report lost and found, revoke
    /// from any live status, destroy only after revocation. Staying put is refused.
    pub fn change_to(self, to: SealStatus) -> Result<SealStatus, StatusChangeError> {
        use SealStatus::*;
        let allowed = matches!(
            (self, to),
            (Active, Suspended)
                | (Suspended, Active)
                | (Active | Suspended, ReportedLost)
                | (ReportedLost, Active)
                | (Active | Suspended | ReportedLost, Revoked)
                | (Revoked, Destroyed)
        );
        if allowed {
            Ok(to)
        } else {
            Err(StatusChangeError { from: self, to })
        }
    }

    /// Whether a change from this status to another should stop grants in force.
    pub const fn stops_grants(self) -> bool {
        !self.usable()
    }
}

/// A seal's display name (its engraved text below the star), 1–40 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealName(String);

impl SealName {
    pub const MAX_LEN: usize = 40;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        text::bounded(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The reason given for a status change, 1–200 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    pub const MAX_LEN: usize = 200;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        text::bounded(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The registry filing code (备案编码) a seal receives when it is filed with the
/// public-security registry: 6–32 digits and capital letters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilingCode(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a filing code is 6–32 digits or capital letters")]
pub struct FilingCodeError;

impl FilingCode {
    pub fn parse(input: &str) -> Result<Self, FilingCodeError> {
        let code = input.trim().to_ascii_uppercase();
        let ok = (6..=32).contains(&code.len())
            && code
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        if ok {
            Ok(FilingCode(code))
        } else {
            Err(FilingCodeError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for kind in SealKind::ALL {
            assert_eq!(SealKind::parse(kind.key()), Some(*kind));
        }
        for t in SealType::ALL {
            assert_eq!(SealType::parse(t.key()), Some(*t));
        }
        for s in SealStatus::ALL {
            assert_eq!(SealStatus::parse(&s.to_string()), Some(*s));
        }
        assert_eq!(SealType::parse("nope"), None);
    }

    #[test]
    fn shapes_and_sizes() {
        assert_eq!(
            SealShape::parse("round", 42, 0),
            Ok(SealShape::Round { diameter_mm: 42 })
        );
        assert_eq!(
            SealShape::parse("round", 41, 41),
            Err(ShapeError::RoundDiameter)
        );
        assert_eq!(
            SealShape::parse("round", 300, 0),
            Err(ShapeError::RoundDiameter)
        );
        assert_eq!(
            SealShape::parse("oval", 45, 30).map(SealShape::size_mm),
            Ok((45, 30))
        );
        assert_eq!(SealShape::parse("oval", 30, 45), Err(ShapeError::OvalSize));
        assert_eq!(
            SealShape::parse("square", 20, 0).map(SealShape::size_mm),
            Ok((20, 20))
        );
        assert_eq!(
            SealShape::parse("square", 5, 5),
            Err(ShapeError::SquareSide)
        );
        assert_eq!(
            SealShape::parse("triangle", 40, 40),
            Err(ShapeError::UnknownShape)
        );
        for t in SealType::ALL {
            let shape = SealShape::default_for(*t);
            let (w, h) = shape.size_mm();
            assert_eq!(SealShape::parse(shape.key(), w.into(), h.into()), Ok(shape));
        }
    }

    #[test]
    fn levels_and_factors() {
        assert!(SealLevel::new(0).is_err());
        assert!(SealLevel::new(4).is_err());
        let policy = FactorPolicy::default();
        let l1 = policy.rule(SealLevel::new(1).unwrap());
        assert_eq!(l1.to_string(), "fingerprint+face");
        assert!(l1.satisfied_by(&[Factor::Face, Factor::Fingerprint]));
        assert!(!l1.satisfied_by(&[Factor::Fingerprint]));
        let l3 = policy.rule(SealLevel::new(3).unwrap());
        assert_eq!(l3.to_string(), "pin|id_code");
        assert!(l3.satisfied_by(&[Factor::IdAndCode]));
        assert!(!l3.satisfied_by(&[]));
        assert_eq!(
            FactorRule::parse(" face + fingerprint | face+fingerprint+face "),
            FactorRule::parse("fingerprint+face")
        );
        assert_eq!(FactorRule::parse(" | + "), Err(FactorRuleError::Empty));
        assert_eq!(
            FactorRule::parse("iris"),
            Err(FactorRuleError::Unknown("iris".into()))
        );
        for level in SealLevel::ALL {
            let rule = policy.rule(level);
            assert_eq!(FactorRule::parse(&rule.to_string()).as_ref(), Ok(rule));
        }
    }

    #[test]
    fn status_changes() {
        use SealStatus::*;
        assert_eq!(Active.change_to(Suspended), Ok(Suspended));
        assert_eq!(ReportedLost.change_to(Active), Ok(Active));
        assert_eq!(Revoked.change_to(Destroyed), Ok(Destroyed));
        assert!(Active.change_to(Destroyed).is_err(), "revoke first");
        assert!(Active.change_to(Active).is_err());
        for to in SealStatus::ALL {
            assert!(Destroyed.change_to(*to).is_err(), "destroyed is final");
            assert!(Revoked.change_to(*to).is_err() || *to == Destroyed);
        }
        assert!(Active.usable() && !Suspended.usable() && !ReportedLost.usable());
    }

    #[test]
    fn filing_codes() {
        assert_eq!(
            FilingCode::parse(" 3101150012345 ").map(|c| c.as_str().to_owned()),
            Ok("3101150012345".to_owned())
        );
        assert_eq!(
            FilingCode::parse("ab12cd").map(|c| c.as_str().to_owned()),
            Ok("AB12CD".to_owned())
        );
        assert!(FilingCode::parse("12345").is_err());
        assert!(FilingCode::parse("1234-5678").is_err());
    }
}
