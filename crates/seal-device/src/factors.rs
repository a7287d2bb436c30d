//! Verification factors at the device: the enrolled templates (fingerprints and faces as
//! opaque ids, a PIN, ID numbers with their authorisation codes), what a person presents,
//! and the grant's factor rule (`fingerprint+face`: all of; `pin|id_code`: any of).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// The most fingerprint templates, and the most face templates, a device holds.
pub const MAX_TEMPLATES: usize = 100;

/// A kind of verification factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// A fingerprint matching an enrolled template.
    Fingerprint,
    /// A face matching an enrolled template.
    Face,
    /// The device PIN.
    Pin,
    /// An ID (staff ID, resident ID …) with its authorisation code.
    IdCode,
}

impl Factor {
    /// Every factor, in rule order.
    pub const ALL: [Factor; 4] = [
        Factor::Fingerprint,
        Factor::Face,
        Factor::Pin,
        Factor::IdCode,
    ];

    /// The protocol's name: `fingerprint`, `face`, `pin`, `id_code`.
    pub fn key(self) -> &'static str {
        match self {
            Factor::Fingerprint => "fingerprint",
            Factor::Face => "face",
            Factor::Pin => "pin",
            Factor::IdCode => "id_code",
        }
    }

    /// The factor named `key`.
    pub fn parse(key: &str) -> Option<Factor> {
        Factor::ALL.into_iter().find(|f| f.key() == key)
    }
}

impl fmt::Display for Factor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Why a factor rule, a presented factor or a template was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FactorError {
    /// The rule text names no factor.
    #[error("the factor rule names no factor")]
    EmptyRule,
    /// A name that is not a factor.
    #[error("unknown factor {0:?} (fingerprint, face, pin, id_code)")]
    UnknownFactor(String),
    /// A presented factor is not written `kind:value`.
    #[error(
        "a presented factor is written kind:value (fingerprint:ID, face:ID, pin:1234, id_code:ID:CODE), not {0:?}"
    )]
    BadPresentation(String),
    /// The template store is full for this kind.
    #[error("the device already holds {MAX_TEMPLATES} {0} templates")]
    TemplatesFull(Factor),
    /// A template id or secret that is empty or has spaces.
    #[error("a template id or code must be non-empty without spaces")]
    BadTemplate,
}

/// A factor rule: any one of the alternatives, each of which needs all its factors.
/// Written `a+b|c` (`+` binds tighter than `|`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FactorRule(Vec<BTreeSet<Factor>>);

impl FactorRule {
    /// Parses `fingerprint+face`, `fingerprint`, `pin|id_code`, `fingerprint+face|pin`;
    /// spaces are ignored.
    pub fn parse(text: &str) -> Result<Self, FactorError> {
        let mut alternatives: Vec<BTreeSet<Factor>> = Vec::new();
        for alternative in text.split('|') {
            let mut factors = BTreeSet::new();
            for key in alternative
                .split('+')
                .map(str::trim)
                .filter(|k| !k.is_empty())
            {
                let factor =
                    Factor::parse(key).ok_or_else(|| FactorError::UnknownFactor(key.to_owned()))?;
                factors.insert(factor);
            }
            if !factors.is_empty() && !alternatives.contains(&factors) {
                alternatives.push(factors);
            }
        }
        if alternatives.is_empty() {
            return Err(FactorError::EmptyRule);
        }
        Ok(FactorRule(alternatives))
    }

    /// The alternatives.
    pub fn alternatives(&self) -> &[BTreeSet<Factor>] {
        &self.0
    }

    /// The first alternative that the verified factors satisfy, if any.
    pub fn satisfied_by(&self, verified: &BTreeSet<Factor>) -> Option<&BTreeSet<Factor>> {
        self.0.iter().find(|alt| alt.is_subset(verified))
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

/// What a person presents at the device: a finger, a face, a PIN, an ID with its code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presented {
    /// A finger read as the given template id.
    Fingerprint(String),
    /// A face read as the given template id.
    Face(String),
    /// A typed PIN.
    Pin(String),
    /// An ID and its authorisation code.
    IdCode {
        /// The ID.
        id: String,
        /// The authorisation code typed with it.
        code: String,
    },
}

impl Presented {
    /// Parses `fingerprint:ID`, `face:ID`, `pin:1234` or `id_code:ID:CODE`.
    pub fn parse(text: &str) -> Result<Self, FactorError> {
        let bad = || FactorError::BadPresentation(text.to_owned());
        let (kind, value) = text.split_once(':').ok_or_else(bad)?;
        if value.is_empty() {
            return Err(bad());
        }
        match Factor::parse(kind).ok_or_else(|| FactorError::UnknownFactor(kind.to_owned()))? {
            Factor::Fingerprint => Ok(Presented::Fingerprint(value.to_owned())),
            Factor::Face => Ok(Presented::Face(value.to_owned())),
            Factor::Pin => Ok(Presented::Pin(value.to_owned())),
            Factor::IdCode => {
                let (id, code) = value.split_once(':').ok_or_else(bad)?;
                if id.is_empty() || code.is_empty() {
                    return Err(bad());
                }
                Ok(Presented::IdCode {
                    id: id.to_owned(),
                    code: code.to_owned(),
                })
            }
        }
    }

    /// The kind of factor.
    pub fn factor(&self) -> Factor {
        match self {
            Presented::Fingerprint(_) => Factor::Fingerprint,
            Presented::Face(_) => Factor::Face,
            Presented::Pin(_) => Factor::Pin,
            Presented::IdCode { .. } => Factor::IdCode,
        }
    }
}

/// The templates enrolled on a device by its keeper.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Templates {
    /// Fingerprint template ids.
    #[serde(default)]
    pub fingerprints: BTreeSet<String>,
    /// Face template ids.
    #[serde(default)]
    pub faces: BTreeSet<String>,
    /// The device PIN, if set.
    #[serde(default)]
    pub pin: Option<String>,
    /// ID → authorisation code.
    #[serde(default)]
    pub id_codes: BTreeMap<String, String>,
}

impl Templates {
    /// Enrols a template: `fingerprint`/`face` take an id (at most 100 of each), `pin`
    /// takes the PIN (replacing the old one), `id_code` an ID and its code.
    pub fn enrol(
        &mut self,
        factor: Factor,
        id: &str,
        code: Option<&str>,
    ) -> Result<(), FactorError> {
        let valid = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
        if !valid(id) {
            return Err(FactorError::BadTemplate);
        }
        match factor {
            Factor::Fingerprint | Factor::Face => {
                let set = if factor == Factor::Fingerprint {
                    &mut self.fingerprints
                } else {
                    &mut self.faces
                };
                if !set.contains(id) && set.len() >= MAX_TEMPLATES {
                    return Err(FactorError::TemplatesFull(factor));
                }
                set.insert(id.to_owned());
            }
            Factor::Pin => self.pin = Some(id.to_owned()),
            Factor::IdCode => {
                let code = code.filter(|c| valid(c)).ok_or(FactorError::BadTemplate)?;
                if !self.id_codes.contains_key(id) && self.id_codes.len() >= MAX_TEMPLATES {
                    return Err(FactorError::TemplatesFull(factor));
                }
                self.id_codes.insert(id.to_owned(), code.to_owned());
            }
        }
        Ok(())
    }

    /// Whether one presented factor matches an enrolled template.
    pub fn matches(&self, presented: &Presented) -> bool {
        match presented {
            Presented::Fingerprint(id) => self.fingerprints.contains(id),
            Presented::Face(id) => self.faces.contains(id),
            Presented::Pin(pin) => self.pin.as_deref() == Some(pin.as_str()),
            Presented::IdCode { id, code } => {
                self.id_codes.get(id).map(String::as_str) == Some(code.as_str())
            }
        }
    }

    /// The factors among `presented` that match a template.
    pub fn verify(&self, presented: &[Presented]) -> BTreeSet<Factor> {
        presented
            .iter()
            .filter(|p| self.matches(p))
            .map(Presented::factor)
            .collect()
    }
}

/// Checks what was presented against a grant's rule text. Returns the factors of the
/// satisfied alternative (what the stamp events report as used), or `None`.
pub fn check(
    rule: &str,
    templates: &Templates,
    presented: &[Presented],
) -> Result<Option<Vec<Factor>>, FactorError> {
    let rule = FactorRule::parse(rule)?;
    let verified = templates.verify(presented);
    Ok(rule
        .satisfied_by(&verified)
        .map(|alt| alt.iter().copied().collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn templates() -> Templates {
        let mut t = Templates::default();
        t.enrol(Factor::Fingerprint, "alice-fp", None).unwrap();
        t.enrol(Factor::Face, "alice-face", None).unwrap();
        t.enrol(Factor::Pin, "1234", None).unwrap();
        t.enrol(Factor::IdCode, "ID42", Some("AUTH9")).unwrap();
        t
    }

    fn presented(items: &[&str]) -> Vec<Presented> {
        items.iter().map(|p| Presented::parse(p).unwrap()).collect()
    }

    #[test]
    fn rules_parse_and_print() {
        let rule = FactorRule::parse(" face + fingerprint | pin|face+fingerprint ").unwrap();
        assert_eq!(rule.to_string(), "fingerprint+face|pin");
        assert_eq!(FactorRule::parse(" | + "), Err(FactorError::EmptyRule));
        assert_eq!(FactorRule::parse(""), Err(FactorError::EmptyRule));
        assert_eq!(
            FactorRule::parse("iris"),
            Err(FactorError::UnknownFactor("iris".into()))
        );
    }

    #[test]
    fn plus_needs_all_of() {
        let t = templates();
        let both = presented(&["fingerprint:alice-fp", "face:alice-face"]);
        assert_eq!(
            check("fingerprint+face", &t, &both).unwrap(),
            Some(vec![Factor::Fingerprint, Factor::Face])
        );
        let one = presented(&["fingerprint:alice-fp"]);
        assert_eq!(check("fingerprint+face", &t, &one).unwrap(), None);
        assert_eq!(
            check("fingerprint", &t, &one).unwrap(),
            Some(vec![Factor::Fingerprint])
        );
        // An unknown finger does not count.
        let wrong = presented(&["fingerprint:mallory-fp", "face:alice-face"]);
        assert_eq!(check("fingerprint+face", &t, &wrong).unwrap(), None);
    }

    #[test]
    fn bar_needs_any_of() {
        let t = templates();
        assert_eq!(
            check("pin|id_code", &t, &presented(&["pin:1234"])).unwrap(),
            Some(vec![Factor::Pin])
        );
        assert_eq!(
            check("pin|id_code", &t, &presented(&["id_code:ID42:AUTH9"])).unwrap(),
            Some(vec![Factor::IdCode])
        );
        assert_eq!(
            check(
                "pin|id_code",
                &t,
                &presented(&["pin:9999", "id_code:ID42:WRONG"])
            )
            .unwrap(),
            None
        );
        assert_eq!(check("pin|id_code", &t, &[]).unwrap(), None);
        assert!(check("retina", &t, &[]).is_err());
    }

    #[test]
    fn presentations_parse() {
        assert_eq!(
            Presented::parse("id_code:A:B").unwrap(),
            Presented::IdCode {
                id: "A".into(),
                code: "B".into()
            }
        );
        for bad in ["fingerprint", "fingerprint:", "id_code:A", "id_code::B"] {
            assert!(
                matches!(Presented::parse(bad), Err(FactorError::BadPresentation(_))),
                "{bad}"
            );
        }
        assert_eq!(
            Presented::parse("iris:x"),
            Err(FactorError::UnknownFactor("iris".into()))
        );
    }

    #[test]
    fn at_most_a_hundred_templates_of_a_kind() {
        let mut t = Templates::default();
        for i in 0..MAX_TEMPLATES {
            t.enrol(Factor::Fingerprint, &format!("fp-{i}"), None)
                .unwrap();
        }
        // Enrolling a known one again is fine; a new one is refused.
        t.enrol(Factor::Fingerprint, "fp-0", None).unwrap();
        assert_eq!(
            t.enrol(Factor::Fingerprint, "fp-new", None),
            Err(FactorError::TemplatesFull(Factor::Fingerprint))
        );
        t.enrol(Factor::Face, "face-1", None).unwrap();
        assert_eq!(
            t.enrol(Factor::IdCode, "ID1", None),
            Err(FactorError::BadTemplate)
        );
        assert_eq!(
            t.enrol(Factor::Face, "has space", None),
            Err(FactorError::BadTemplate)
        );
    }
}
