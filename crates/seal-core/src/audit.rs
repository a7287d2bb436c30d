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
pub struct DecodeError(&'static str);

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
        let mut reader = Reader { rest: bytes };
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
        let mut block = Reader {
            rest: reader.field()?,
        };
        let count_bytes: [u8; 4] = block
            .take(4)?
            .try_into()
            .map_err(|_| DecodeError("bad count"))?;
        let count = u32::from_be_bytes(count_bytes);
        let mut details = Vec::new();
        for _ in 0..count {
            details.push((block.text()?, block.text()?));
        }
        if !reader.rest.is_empty() || !block.rest.is_empty() {
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

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError("truncated"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn field(&mut self) -> Result<&'a [u8], DecodeError> {
        let len_bytes: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| DecodeError("truncated"))?;
        self.take(u32::from_be_bytes(len_bytes) as usize)
    }

    fn text(&mut self) -> Result<String, DecodeError> {
        let raw = self.field()?;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError("not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> AuditEvent {
        AuditEvent {
            at: Timestamp::from_millis(1_795_336_200_000),
            org: Some(OrgId::from_bytes([1; 16])),
            actor: "person:01010101-0101-0101-0101-010101010101".into(),
            source: "127.0.0.1".into(),
            action: "department.created".into(),
            subject: "department:x".into(),
            details: vec![
                ("name".into(), "财务部".into()),
                ("parent".into(), "".into()),
            ],
        }
    }

    #[test]
    fn encoding_is_pinned() {
        // A change to these bytes breaks every log that hashed the old ones: bump VERSION instead.
        let bytes = sample().canonical_bytes();
        // Written out by hand from the layout in the module documentation.
        let golden = "534b41450100000008000001a202605f400000001001010101010101010101010101010101\
                      0000002b706572736f6e3a30313031303130312d303130312d303130312d303130312d3031\
                      30313031303130313031000000093132372e302e302e31000000126465706172746d656e74\
                      2e637265617465640000000c6465706172746d656e743a78000000270000000200000004\
                      6e616d6500000009e8b4a2e58aa1e983a800000006706172656e7400000000";
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, golden.replace(' ', ""));
        let mut reordered = sample();
        reordered.details.reverse();
        assert_eq!(
            reordered.canonical_bytes(),
            bytes,
            "details order does not matter"
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(AuditEvent::decode(b"").is_err());
        assert!(AuditEvent::decode(b"SKAE\x02").is_err());
        let mut bytes = sample().canonical_bytes();
        bytes.push(0);
        assert!(AuditEvent::decode(&bytes).is_err());
        bytes.truncate(bytes.len() - 3);
        assert!(AuditEvent::decode(&bytes).is_err());
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(
            at in any::<i64>(),
            org in proptest::option::of(any::<[u8; 16]>()),
            actor in ".{0,20}", source in ".{0,20}", action in "[a-z.]{1,20}", subject in ".{0,30}",
            details in proptest::collection::btree_map(".{0,8}", ".{0,8}", 0..5),
        ) {
            let event = AuditEvent {
                at: Timestamp::from_millis(at),
                org: org.map(OrgId::from_bytes),
                actor, source, action, subject,
                details: details.into_iter().collect(),
            };
            let bytes = event.canonical_bytes();
            let decoded = AuditEvent::decode(&bytes);
            prop_assert_eq!(decoded.as_ref().map(AuditEvent::canonical_bytes).ok(), Some(bytes));
            prop_assert_eq!(decoded.ok(), Some(event));
        }
    }
}
