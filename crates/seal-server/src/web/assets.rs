//! Static assets (the stylesheet and the small script) compiled into the binary with
//! rust-embed and served at `/assets/NAME` with an ETag; links carry `?v=HASH` so the
//! files can be cached for a year and still change with each release.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "assets/"]
struct Assets;

/// `/assets/NAME?v=HASH` for a file of the `assets/` folder.
pub fn versioned(name: &str) -> String {
    match Assets::get(name) {
        Some(file) => format!(
            "/assets/{name}?v={}",
            &hex_prefix(&file.metadata.sha256_hash())
        ),
        None => format!("/assets/{name}"),
    }
}

fn hex_prefix(hash: &[u8; 32]) -> String {
    hash.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

/// A static file of the console.
#[utoipa::path(get, path = "/assets/{name}", tag = "web", params(("name" = String, Path, description = "style.css, app.js or favicon.svg")),
    responses((status = 200, description = "The file"), (status = 304, description = "Not modified"), (status = 404, description = "No such file")))]
pub async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(file) = Assets::get(&name) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let etag = format!("\"{}\"", hex_prefix(&file.metadata.sha256_hash()));
    let cache = HeaderValue::from_static("public, max-age=31536000, immutable");
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return (StatusCode::NOT_MODIFIED, [(header::CACHE_CONTROL, cache)]).into_response();
    }
    let content_type = match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    let mut response = (StatusCode::OK, file.data.into_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, cache);
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    response
}
