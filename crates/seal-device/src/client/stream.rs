//! The WebSocket command stream (`GET /device/v1/stream`): a signed upgrade request with
//! an empty body, one `Command` JSON per text frame, and a loop that reconnects with
//! exponential backoff.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt as _, StreamExt as _};
use reqwest::{Method, StatusCode};
use seal_proof::wire::Command;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use super::{ClientError, DeviceClient, KeyId, error_from};

/// How the reconnecting stream waits between connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamOptions {
    /// The wait after the first failure; it doubles with each failure in a row.
    pub initial_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// One open command stream.
pub struct CommandStream {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl std::fmt::Debug for CommandStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandStream").finish_non_exhaustive()
    }
}

impl CommandStream {
    /// The next command; `None` when the server closed the stream. A text frame that is
    /// not a command is skipped with a warning; pings are answered.
    pub async fn next_command(&mut self) -> Option<Result<Command, ClientError>> {
        loop {
            let message = match self.socket.next().await? {
                Ok(message) => message,
                Err(error) => return Some(Err(ws_error(error))),
            };
            match message {
                Message::Text(text) => match serde_json::from_str::<Command>(text.as_str()) {
                    Ok(command) => return Some(Ok(command)),
                    Err(error) => {
                        tracing::warn!(%error, "ignoring a stream frame that is not a command");
                    }
                },
                Message::Close(_) => return None,
                Message::Ping(_) | Message::Pong(_) | Message::Binary(_) | Message::Frame(_) => {}
            }
        }
    }

    /// Closes the stream politely.
    pub async fn close(mut self) {
        let _ = self.socket.send(Message::Close(None)).await;
        let _ = self.socket.close(None).await;
    }
}

/// Opens the stream: the URL's scheme becomes `ws`/`wss`, the upgrade request is signed
/// like any other (GET, empty body).
pub(super) async fn open(client: &DeviceClient) -> Result<CommandStream, ClientError> {
    let mut url = client.url(&["stream"], None)?;
    let signed = client.signature_headers(&Method::GET, &url, b"", KeyId::Device)?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme)
        .map_err(|()| ClientError::InvalidUrl(format!("cannot use {scheme} for {url}")))?;
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ClientError::InvalidUrl(e.to_string()))?;
    for (name, value) in signed {
        let value = HeaderValue::from_str(&value)
            .map_err(|e| ClientError::InvalidResponse(format!("header {name}: {e}")))?;
        request.headers_mut().insert(name, value);
    }
    let connector = if scheme == "wss" {
        Some(Connector::Rustls(tls_config()?))
    } else {
        None
    };
    let connect = tokio_tungstenite::connect_async_tls_with_config(request, None, true, connector);
    let (socket, _response) = tokio::time::timeout(client.timeout, connect)
        .await
        .map_err(|_| ClientError::Network("the stream's handshake timed out".into()))?
        .map_err(ws_error)?;
    Ok(CommandStream { socket })
}

/// Keeps a stream open until stopped, forwarding commands.
pub(super) async fn run(
    client: &DeviceClient,
    commands: mpsc::Sender<Command>,
    mut stop: watch::Receiver<bool>,
    options: StreamOptions,
) {
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            return;
        }
        let opened = tokio::select! {
            opened = open(client) => opened,
            _ = stop.changed() => return,
        };
        match opened {
            Ok(mut stream) => {
                tracing::debug!("command stream open");
                loop {
                    let next = tokio::select! {
                        next = stream.next_command() => next,
                        _ = stop.changed() => {
                            stream.close().await;
                            return;
                        }
                    };
                    match next {
                        Some(Ok(command)) => {
                            if commands.send(command).await.is_err() {
                                stream.close().await;
                                return;
                            }
                        }
                        Some(Err(error)) => {
                            tracing::debug!(%error, "command stream broke");
                            failures = 1;
                            break;
                        }
                        None => {
                            tracing::debug!("command stream closed by the server");
                            failures = 1;
                            break;
                        }
                    }
                }
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                tracing::debug!(%error, failures, "command stream could not open");
            }
        }
        let doublings = failures.saturating_sub(1).min(16);
        let delay = options
            .initial_backoff
            .saturating_mul(1u32 << doublings)
            .min(options.max_backoff);
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The TLS configuration for `wss://`: rustls with the ring provider chosen explicitly
/// (the process may have several providers compiled in) and the Mozilla root store.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Network(format!("TLS configuration: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

fn ws_error(error: tungstenite::Error) -> ClientError {
    match error {
        tungstenite::Error::Http(response) => {
            let status = StatusCode::from_u16(response.status().as_u16())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let body = response.body().as_deref().unwrap_or_default();
            error_from(status, body)
        }
        tungstenite::Error::Url(error) => ClientError::InvalidUrl(error.to_string()),
        other => ClientError::Network(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tls_configuration_builds_with_an_explicit_provider() {
        // rustls would panic choosing a default provider when several are compiled in.
        let config = tls_config().unwrap();
        assert!(!config.alpn_protocols.iter().any(|p| p == b"h2"));
    }

    #[tokio::test]
    async fn a_refused_upgrade_keeps_the_servers_code() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            let _ = socket.read(&mut request).await.unwrap();
            let body = r#"{"error":{"code":"device.not_active","message":"pending"}}"#;
            let response = format!(
                "HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
        });
        let client = DeviceClient::new(
            &format!("http://{addr}"),
            seal_proof::keys::SigningKey::generate(),
            Some("dev-1".into()),
        )
        .unwrap();
        let error = client.open_stream().await.unwrap_err();
        assert_eq!(error.code(), Some("device.not_active"), "{error}");
    }
}
