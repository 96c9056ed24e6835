//! Calls to the upstream FHIR server: JSON only, bounded in time, size and number at once.
//! The client's `Authorization` header never goes upstream, and neither do conditional
//! headers (a 304 would confirm that a withheld resource exists, R4 security.html).

use std::time::Duration;

use crate::gate::Gate;

/// The largest upstream body the gateway reads: a Bundle page of a few hundred resources.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// How long an upstream call may take in all.
pub const TIMEOUT: Duration = Duration::from_secs(15);

pub struct Upstream {
    client: reqwest::Client,
    /// Upstream calls in flight at once (and waiting), so a slow upstream cannot pile up
    /// requests without bound.
    gate: Gate,
}

/// What the upstream answered.
pub struct Answer {
    pub status: u16,
    pub etag: Option<String>,
    /// Where a created resource lives (on the upstream base).
    pub location: Option<String>,
    pub last_modified: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug)]
pub enum Failure {
    /// Unreachable, refused, or an unreadable answer: 502.
    Unavailable,
    /// No answer in time: 504.
    Timeout,
    /// Larger than [`MAX_BODY_BYTES`]: 502.
    TooLarge,
    /// Too many calls already waiting: 503.
    Busy,
}

impl Upstream {
    pub fn new() -> Upstream {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Upstream {
            client,
            gate: Gate::new(64, 256, Duration::from_secs(5)),
        }
    }

    /// `GET url` with `Accept: application/fhir+json`.
    pub async fn get(&self, url: &str, credential: Option<&str>) -> Result<Answer, Failure> {
        self.send(reqwest::Method::GET, url, None, credential).await
    }

    /// `method url`, with a FHIR JSON body when given, and the gateway's own credential
    /// (`fhir_upstream_token`) when it has one.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Vec<u8>>,
        credential: Option<&str>,
    ) -> Result<Answer, Failure> {
        let _permit = self.gate.enter().await.ok_or(Failure::Busy)?;
        let mut request = self
            .client
            .request(method, url)
            .header("accept", "application/fhir+json");
        if let Some(credential) = credential {
            request = request.bearer_auth(credential);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/fhir+json")
                .body(body);
        }
        let mut response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                Failure::Timeout
            } else {
                Failure::Unavailable
            }
        })?;
        if response
            .content_length()
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
        {
            return Err(Failure::TooLarge);
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (etag, last_modified) = (header("etag"), header("last-modified"));
        let location = header("location");
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            if e.is_timeout() {
                Failure::Timeout
            } else {
                Failure::Unavailable
            }
        })? {
            if body.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(Failure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            etag,
            location,
            last_modified,
            body,
        })
    }
}

impl Default for Upstream {
    fn default() -> Self {
        Upstream::new()
    }
}
