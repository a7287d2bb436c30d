//! Audit events and their canonical byte encoding. The encoding is stable — a later
//! tamper-evident log hashes exactly these bytes — so it is versioned, length-prefixed
//! and independent of any serialisation library.
//!
//! Layout (version 1): the magic `SKAE`, a version byte `1`, then seven fields in fixed
//! order, each as a 4-byte big-endian length and that many bytes:
//! 1. time: 8 bytes, big-endian signed milliseconds since the epoch;
//! 2. organisation id: 16 bytes, or empty for events outside any organisation;
//! 3. actor: UTF-8 text (`person:<uuid>`, `token:<uuid>`, `anonymous`, `system`);
//! 4. source: UTF-8 text (the client address, or `-`);
//! 5. action: UTF-8 key such as `person.disabled`;
//! 6. subject: UTF-8 text (`person:<uuid>` …, or empty);
//! 7. details: a 4-byte count, then key/value pairs sorted by key, each as two
//!    length-prefixed UTF-8 strings.

use crate::canonical::{Reader, put};
use crate::ids::OrgId;
use crate::time::Timestamp;

const MAGIC: &[u8; 4] = b"SKAE";
const VERSION: u8 = 1;

/// Who caused an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    Person(crate::ids::PersonId),
    Token(crate::ids::ApiTokenId),
    Anonymous,
    System,
    /// A device acting with its own key (an unlock, a press, a heartbeat).
    Device(crate::ids::DeviceId),
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Actor::Person(id) => format!("person:{id}"),
            Actor::Token(id) => format!("token:{id}"),
            Actor::Anonymous => "anonymous".to_owned(),
            Actor::System => "system".to_owned(),
            Actor::Device(id) => format!("device:{id}"),
        }
    }
}

/// One change of state: who, what, when, from where, on what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: Timestamp,
    pub org: Option<OrgId>,
    pub actor: String,
    pub source: String,
    pub action: String,
    pub subject: String,
    /// Extra facts; kept sorted by key in the encoding whatever order they come in.
    pub details: Vec<(String, String)>,
}

/// The bytes could not be decoded as an audit event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a canonical audit event: {0}")]
pub struct DecodeError(pub(crate) &'static str);

impl AuditEvent {
    /// The stable canonical encoding of this event (see the module documentation).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        put(&mut out, &self.at.as_millis().to_be_bytes());
        match self.org {
            Some(org) => put(&mut out, org.as_uuid().as_bytes()),
            None => put(&mut out, &[]),
        }
        put(&mut out, self.actor.as_bytes());
        put(&mut out, self.source.as_bytes());
        put(&mut out, self.action.as_bytes());
        put(&mut out, self.subject.as_bytes());
        let mut details: Vec<&(String, String)> = self.details.iter().collect();
        details.sort();
        let mut block = Vec::new();
        block.extend_from_slice(&(details.len() as u32).to_be_bytes());
        for (key, value) in details {
            put(&mut block, key.as_bytes());
            put(&mut block, value.as_bytes());
        }
        put(&mut out, &block);
        out
    }

    /// Decodes canonical bytes; the result re-encodes to the same bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut reader = Reader::new(bytes);
        if reader.take(4)? != MAGIC {
            return Err(DecodeError("bad magic"));
        }
        if reader.take(1)? != [VERSION] {
            return Err(DecodeError("unknown version"));
        }
        let at_bytes: [u8; 8] = reader
            .field()?
            .try_into()
            .map_err(|_| DecodeError("bad time"))?;
        let org = match reader.field()? {
            [] => None,
            raw => Some(OrgId::from_bytes(
                raw.try_into()
                    .map_err(|_| DecodeError("bad organisation id"))?,
            )),
        };
        let actor = reader.text()?;
        let source = reader.text()?;
        let action = reader.text()?;
        let subject = reader.text()?;
        let mut block = Reader::new(reader.field()?);
        let count_bytes: [u8; 4] = block
            .take(4)?
            .try_into()
            .map_err(|_| DecodeError("bad count"))?;
        let count = u32::from_be_bytes(count_bytes);
        let mut details = Vec::new();
        for _ in 0..count {
            details.push((block.text()?, block.text()?));
        }
        if !reader.is_empty() || !block.is_empty() {
            return Err(DecodeError("trailing bytes"));
        }
        if details.windows(2).any(|pair| pair[0] > pair[1]) {
            return Err(DecodeError("details not sorted"));
        }
        Ok(Self {
            at: Timestamp::from_millis(i64::from_be_bytes(at_bytes)),
            org,
            actor,
            source,
            action,
            subject,
            details,
        })
    }
}
