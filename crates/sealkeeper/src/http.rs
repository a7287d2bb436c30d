//! HTTP for the proof commands (`verify --online`, `verify fetch`, `log monitor`): one
//! client with timeouts and bounded answers, and the public endpoints of a Sealkeeper
//! server — the key set, the latest checkpoint, consistency proofs and verification by
//! code. Nothing here trusts an answer: callers check signatures and proofs themselves.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use seal_proof::keyset::KeySet;
use seal_proof::merkle::{Hash, hash_from_slice};
use serde::Deserialize;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a whole request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest key set accepted (as `seal_proof::keyset::MAX_KEY_SET_LEN`).
const MAX_KEYS: usize = seal_proof::keyset::MAX_KEY_SET_LEN;
/// The largest checkpoint note accepted (as `seal_proof::note::MAX_NOTE_LEN`).
const MAX_NOTE: usize = seal_proof::note::MAX_NOTE_LEN;
/// The largest proof or verification answer accepted.
const MAX_JSON: usize = 4 * 1024 * 1024;

/// Why a request to a server failed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The server URL is not an `http(s)` URL with a host.
    #[error("{0:?} is not a server URL (http://HOST[:PORT] or https://HOST[:PORT])")]
    BadBase(String),
    /// No answer (connection refused, timeout, TLS, …).
    #[error("GET {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// An answer other than 200, with the server's message when it sent one.
    #[error("GET {url}: the server answered {status}{message}")]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    /// The answer is larger than the command accepts.
    #[error("GET {url}: the answer is larger than {max} bytes")]
    TooLarge { url: String, max: usize },
    /// The answer is not what the endpoint returns.
    #[error("GET {url}: {reason}")]
    Invalid { url: String, reason: String },
}

impl HttpError {
    /// The HTTP status, when the server answered with an error.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A Sealkeeper server: its base URL and a client.
#[derive(Clone, Debug)]
pub struct Server {
    base: String,
    client: reqwest::Client,
}

/// The server's error body (`{"error": {"code", "message", "messages": {"en"}}}`).
#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    messages: Option<Messages>,
}

#[derive(Deserialize)]
struct Messages {
    #[serde(default)]
    en: String,
}

#[derive(Deserialize)]
struct ProofBody {
    proof: Vec<String>,
}

impl Server {
    /// The server at `base` (`http(s)://host[:port][/prefix]`, a trailing `/` dropped).
    pub fn new(base: &str) -> Result<Server, HttpError> {
        let trimmed = base.trim().trim_end_matches('/');
        let parsed =
            reqwest::Url::parse(trimmed).map_err(|_| HttpError::BadBase(base.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https")
            || parsed.host_str().is_none_or(str::is_empty)
            || parsed.query().is_some()
            || parsed.fragment().is_some()
        {
            return Err(HttpError::BadBase(base.to_owned()));
        }
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("sealkeeper-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| HttpError::Unreachable {
                url: trimmed.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(Server {
            base: parsed.as_str().trim_end_matches('/').to_owned(),
            client,
        })
    }

    /// The base URL, without a trailing `/`.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The body of `GET path`, at most `max` bytes; an error for any status but 200.
    async fn get(&self, path: &str, max: usize) -> Result<Vec<u8>, HttpError> {
        let url = self.url(path);
        let unreachable = |e: reqwest::Error| HttpError::Unreachable {
            url: url.clone(),
            reason: describe(&e),
        };
        let mut response = self
            .client
            .get(&url)
            .header(reqwest::header::ACCEPT_LANGUAGE, "en")
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err(HttpError::TooLarge { url, max });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > max {
                return Err(HttpError::TooLarge { url, max });
            }
            body.extend_from_slice(&chunk);
        }
        if status != reqwest::StatusCode::OK {
            let message = serde_json::from_slice::<ErrorBody>(&body)
                .map(|b| {
                    let text = b
                        .error
                        .messages
                        .map(|m| m.en)
                        .filter(|m| !m.is_empty())
                        .unwrap_or(b.error.message);
                    format!(" ({}): {text}", b.error.code)
                })
                .unwrap_or_default();
            return Err(HttpError::Status {
                url,
                status: status.as_u16(),
                message,
            });
        }
        Ok(body)
    }

    async fn get_text(&self, path: &str, max: usize) -> Result<String, HttpError> {
        let body = self.get(path, max).await?;
        String::from_utf8(body).map_err(|_| HttpError::Invalid {
            url: self.url(path),
            reason: "the answer is not UTF-8 text".to_owned(),
        })
    }

    /// The published key set (`/.well-known/sealkeeper/keys.json`), checked for internal
    /// consistency, and its JSON text as served.
    pub async fn key_set(&self) -> Result<(KeySet, String), HttpError> {
        let path = "/.well-known/sealkeeper/keys.json";
        let text = self.get_text(path, MAX_KEYS).await?;
        let set = KeySet::from_json(&text).map_err(|e| HttpError::Invalid {
            url: self.url(path),
            reason: e.to_string(),
        })?;
        Ok((set, text))
    }

    /// The latest checkpoint note (`/log/checkpoint`), not yet verified.
    pub async fn checkpoint(&self) -> Result<String, HttpError> {
        self.get_text("/log/checkpoint", MAX_NOTE).await
    }

    /// The consistency proof between the trees of `from` and `to` entries.
    pub async fn consistency(&self, from: u64, to: u64) -> Result<Vec<Hash>, HttpError> {
        let path = format!("/log/proof/consistency?from={from}&to={to}");
        let body = self.get(&path, MAX_JSON).await?;
        let invalid = |reason: String| HttpError::Invalid {
            url: self.url(&path),
            reason,
        };
        let proof: ProofBody =
            serde_json::from_slice(&body).map_err(|e| invalid(format!("not a proof: {e}")))?;
        proof
            .proof
            .iter()
            .map(|text| {
                STANDARD
                    .decode(text)
                    .map_err(|_| invalid("a proof hash is not base64".to_owned()))
                    .and_then(|bytes| hash_from_slice(&bytes).map_err(|e| invalid(e.to_string())))
            })
            .collect()
    }

    /// Public verification of a code (`/api/v1/verify/{code}`) as raw JSON.
    pub async fn verification(&self, code: &str) -> Result<serde_json::Value, HttpError> {
        let path = format!("/api/v1/verify/{}", percent_encode(code));
        let body = self.get(&path, MAX_JSON).await?;
        serde_json::from_slice(&body).map_err(|e| HttpError::Invalid {
            url: self.url(&path),
            reason: format!("not JSON: {e}"),
        })
    }
}

/// A short reason for a failed request, with its cause (`connection refused` …).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    let mut last = None;
    while let Some(cause) = source {
        last = Some(cause.to_string());
        source = cause.source();
    }
    if let Some(cause) = last {
        text.push_str(": ");
        text.push_str(&cause);
    }
    text
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_are_checked_and_normalised() {
        let server = Server::new("http://127.0.0.1:8080/").unwrap();
        assert_eq!(server.base(), "http://127.0.0.1:8080");
        assert_eq!(
            Server::new("HTTPS://SK.EXAMPLE/PREFIX").unwrap().base(),
            "https://sk.example/PREFIX"
        );
        for bad in [
            "",
            "sk.example",
            "ftp://sk.example",
            "http://",
            "http://x/?q=1",
        ] {
            assert!(
                matches!(Server::new(bad), Err(HttpError::BadBase(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn codes_are_percent_encoded() {
        assert_eq!(percent_encode("AB-12_~."), "AB-12_~.");
        assert_eq!(percent_encode("1234 5678"), "1234%205678");
        assert_eq!(percent_encode("a/b?"), "a%2Fb%3F");
    }
}
