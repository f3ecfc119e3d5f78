//! One HTTP exchange over `wasi:http/outgoing-handler`: no redirects, no
//! interpretation of the status. The host's gate sees every call.

use crate::url::Url;
use std::time::Duration;
use tocsin_sdk::http::outgoing_handler;
use tocsin_sdk::http::streams::StreamError;
use tocsin_sdk::http::types::{
    ErrorCode, Fields, IncomingResponse, Method, OutgoingBody, OutgoingRequest, RequestOptions,
    Scheme,
};

/// How much of a response body is kept for a failure message.
const BODY_EXCERPT: usize = 256;

/// What came back.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// The first bytes of the body, lossily decoded.
    pub excerpt: String,
}

impl Response {
    /// First value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why no response came back.
pub enum SendError {
    /// The host refused the request (host not granted).
    Denied,
    /// The request could not be built (bad header, bad method).
    Invalid(String),
    /// The transport failed (DNS, connect, timeout, reset).
    Transport(String),
}

/// Sends one request and reads the response head and a body excerpt.
pub fn send(
    method: &str,
    url: &Url,
    headers: &[(String, String)],
    body: Option<&[u8]>,
    timeout: Duration,
) -> Result<Response, SendError> {
    let fields = Fields::new();
    for (name, value) in headers {
        fields
            .append(name, value.as_bytes())
            .map_err(|e| SendError::Invalid(format!("settings.headers.{name}: {e:?}")))?;
    }
    let request = OutgoingRequest::new(fields);
    let invalid = |what: &str| SendError::Invalid(format!("{what} is not accepted by wasi:http"));
    request
        .set_method(&wasi_method(method))
        .map_err(|()| invalid("settings.method"))?;
    request
        .set_scheme(Some(&if url.https {
            Scheme::Https
        } else {
            Scheme::Http
        }))
        .map_err(|()| invalid("the URL scheme"))?;
    request
        .set_authority(Some(&url.authority))
        .map_err(|()| invalid("the URL host"))?;
    request
        .set_path_with_query(Some(&url.path_with_query))
        .map_err(|()| invalid("the URL path"))?;
    let outgoing = request.body().map_err(|()| invalid("the request body"))?;
    let options = RequestOptions::new();
    let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    // A host may not support every timeout; the ones it accepts apply.
    let _ = options.set_connect_timeout(Some(nanos));
    let _ = options.set_first_byte_timeout(Some(nanos));
    let _ = options.set_between_bytes_timeout(Some(nanos));
    let pending = outgoing_handler::handle(request, Some(options)).map_err(error)?;
    // A refused request closes the body stream: the response future then holds
    // the reason, which is the error worth reporting.
    let written = write_body(&outgoing, body.unwrap_or_default())
        .and_then(|()| OutgoingBody::finish(outgoing, None).map_err(error));
    pending.subscribe().block();
    match pending.get() {
        Some(Ok(Ok(response))) => written.and_then(|()| read(response)),
        Some(Ok(Err(code))) => Err(error(code)),
        Some(Err(())) | None => Err(SendError::Transport("response already taken".into())),
    }
}

fn write_body(outgoing: &OutgoingBody, bytes: &[u8]) -> Result<(), SendError> {
    let stream = outgoing
        .write()
        .map_err(|()| SendError::Transport("request body stream unavailable".into()))?;
    // blocking-write-and-flush accepts at most 4096 bytes per call.
    for chunk in bytes.chunks(4096) {
        stream
            .blocking_write_and_flush(chunk)
            .map_err(|e| stream_error("writing the request body", e))?;
    }
    Ok(())
}

fn read(response: IncomingResponse) -> Result<Response, SendError> {
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(n, v)| {
            (
                n.to_ascii_lowercase(),
                String::from_utf8_lossy(&v).into_owned(),
            )
        })
        .collect();
    let mut excerpt = Vec::new();
    if let Ok(body) = response.consume() {
        if let Ok(stream) = body.stream() {
            while excerpt.len() < BODY_EXCERPT {
                match stream.blocking_read((BODY_EXCERPT - excerpt.len()) as u64) {
                    Ok(bytes) => excerpt.extend(bytes),
                    Err(_) => break,
                }
            }
        }
    }
    Ok(Response {
        status,
        headers,
        excerpt: String::from_utf8_lossy(&excerpt).into_owned(),
    })
}

fn wasi_method(method: &str) -> Method {
    match method {
        "GET" => Method::Get,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "PATCH" => Method::Patch,
        "DELETE" => Method::Delete,
        other => Method::Other(other.to_string()),
    }
}

fn error(code: ErrorCode) -> SendError {
    match code {
        ErrorCode::HttpRequestDenied => SendError::Denied,
        other => SendError::Transport(format!("{other:?}")),
    }
}

fn stream_error(what: &str, e: StreamError) -> SendError {
    match e {
        StreamError::LastOperationFailed(err) => {
            SendError::Transport(format!("{what}: {}", err.to_debug_string()))
        }
        StreamError::Closed => SendError::Transport(format!("{what}: stream closed")),
    }
}
