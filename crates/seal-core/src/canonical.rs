//! The length-prefixed byte encoding shared by the canonical forms that the
//! tamper-evident log hashes (audit events, stamp records, stamp status changes): each
//! field is a 4-byte big-endian length and that many bytes.

use crate::audit::DecodeError;

/// Appends one length-prefixed field.
pub(crate) fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// Reads fields back in order.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.rest.len() < n {
            return Err(DecodeError("truncated"));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn field(&mut self) -> Result<&'a [u8], DecodeError> {
        let len_bytes: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| DecodeError("truncated"))?;
        self.take(u32::from_be_bytes(len_bytes) as usize)
    }

    pub(crate) fn text(&mut self) -> Result<String, DecodeError> {
        let raw = self.field()?;
        String::from_utf8(raw.to_vec()).map_err(|_| DecodeError("not UTF-8"))
    }

    /// A field of exactly `N` bytes.
    pub(crate) fn fixed<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<[u8; N], DecodeError> {
        self.field()?.try_into().map_err(|_| DecodeError(what))
    }

    /// A field of exactly `N` bytes, or empty for none.
    pub(crate) fn optional<const N: usize>(
        &mut self,
        what: &'static str,
    ) -> Result<Option<[u8; N]>, DecodeError> {
        match self.field()? {
            [] => Ok(None),
            raw => raw.try_into().map(Some).map_err(|_| DecodeError(what)),
        }
    }
}
