//! Why a key, a request signature, a content digest or a signed token was refused.

/// Every refusal of `seal-proof`. The messages are plain English and never carry secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// A header the signature scheme needs is absent or empty (the header's name).
    #[error("the {0} header is missing")]
    MissingHeader(&'static str),
    /// Something could not be parsed (what it was).
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// An input is longer than this crate accepts (what it was).
    #[error("{0} is too long")]
    TooLong(&'static str),
    /// `Signature-Input` or `Signature` has no member labelled `sk`.
    #[error("no signature labelled \"sk\"")]
    MissingLabel,
    /// The signature or digest algorithm is not the one this protocol uses.
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// Bytes that are not a usable Ed25519 key.
    #[error("not a valid Ed25519 key")]
    BadKey,
    /// The signature does not verify with the key (or is not 64 bytes).
    #[error("the signature does not verify")]
    BadSignature,
    /// `Content-Digest` does not match the body.
    #[error("the Content-Digest does not match the body")]
    DigestMismatch,
    /// The signature does not cover exactly the components the protocol demands.
    #[error(
        "the signature must cover exactly \"@method\" \"@path\" \"@query\" \"content-digest\", in that order"
    )]
    WrongComponents,
}
