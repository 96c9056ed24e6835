//! The FHIR gateway (issue 11): Clearance in front of a FHIR R4 server, so that every
//! response honours the patient's label choice. A request is recognised ([`request`]), its
//! bearer token verified and its grant loaded ([`access`]), refused unless a scope grants the
//! interaction, narrowed to the patient in context before it goes upstream
//! ([`compartment`]), and every resource of the answer is released or withheld by the scopes
//! and the release rule ([`bundle`]). Anything the gateway cannot parse or place is refused:
//! it fails closed.
//!
//! Today: reads, vreads, instance history and type searches, create, update and delete, and
//! `/metadata`, beside the authorization server (`fhir_upstream`). Patch, conditional
//! writes, batches, operations and the standalone mode are refused or absent (see the
//! README).

pub mod access;
pub mod bundle;
pub mod compartment;
pub mod remote;
pub mod request;
pub mod upstream;

use serde_json::{Value, json};

use self::access::{Access, Denied};
use self::bundle::{Bases, filter_bundle};
use self::request::{Interaction, Refused};
use self::upstream::{Failure, Upstream};
use crate::config::{Config, RegistrationPolicy};
use crate::flow::params::{MAX_PROTOCOL_PARAMETERS, Params};
use async_trait::async_trait;

/// What the gateway answers: a status and a FHIR JSON body, with the headers that go with it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// Headers that go with it: `www-authenticate` (RFC 6750 §3, on 401 and 403), `etag`
    /// and `last-modified` of a released version, `location` of a created resource (on the
    /// public base).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: 200,
            body,
            headers: Vec::new(),
        }
    }

    /// An OperationOutcome (FHIR R4 http.html: a body on every failure), worded so that it
    /// discloses nothing of the upstream (security.html).
    fn outcome(status: u16, code: &str, text: &str) -> Reply {
        Reply {
            status,
            body: json!({
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": code, "diagnostics": text}],
            }),
            headers: Vec::new(),
        }
    }

    /// The same answer for "withheld" and "does not exist" (R4 security.html#AccessDenied).
    fn not_found() -> Reply {
        Reply::outcome(
            404,
            "not-found",
            "The resource does not exist or is not available to this app.",
        )
    }

    fn challenged(self, challenge: &str) -> Reply {
        self.with("www-authenticate", Some(challenge.to_owned()))
    }

    fn with(mut self, name: &'static str, value: Option<String>) -> Reply {
        if let Some(value) = value {
            self.headers.push((name, value));
        }
        self
    }
}

/// One gateway: the public FHIR base it serves, its upstream, and how it says where to get a
/// token. Built once, beside the authorization server ([`Gateway::beside`]) or standalone.
pub struct Gateway {
    /// The public base, as tokens name it in `aud` (no trailing slash).
    pub public: String,
    /// The upstream FHIR server's base (no trailing slash).
    pub upstream: String,
    /// The gateway's own credential at the upstream (`fhir_upstream_token`).
    pub credential: Option<String>,
    calls: Upstream,
    /// `rest.security` of the CapabilityStatement: SMART's `oauth-uris` and service coding.
    security: Value,
}

/// The authorization server's endpoints a client discovers through `/metadata`.
pub struct OAuthUris {
    pub authorize: String,
    pub token: String,
    pub introspect: String,
    pub revoke: String,
    pub manage: Option<String>,
    pub register: Option<String>,
}

impl OAuthUris {
    /// The endpoints of the authorization server at `config.issuer` (Clearance's own paths);
    /// `register` only when dynamic registration is open to clients.
    pub fn of(config: &Config, register: bool) -> OAuthUris {
        OAuthUris {
            authorize: config.endpoint("/authorize"),
            token: config.endpoint("/token"),
            introspect: config.endpoint("/introspect"),
            revoke: config.endpoint("/revoke"),
            manage: Some(config.endpoint("/account")),
            register: register.then(|| config.endpoint("/register")),
        }
    }
}

impl Gateway {
    pub fn new(
        public: &str,
        upstream: &str,
        credential: Option<String>,
        uris: OAuthUris,
    ) -> Gateway {
        let mut extension = vec![
            json!({"url": "authorize", "valueUri": uris.authorize}),
            json!({"url": "token", "valueUri": uris.token}),
            json!({"url": "introspect", "valueUri": uris.introspect}),
            json!({"url": "revoke", "valueUri": uris.revoke}),
        ];
        for (name, uri) in [("manage", uris.manage), ("register", uris.register)] {
            if let Some(uri) = uri {
                extension.push(json!({"url": name, "valueUri": uri}));
            }
        }
        Gateway {
            public: public.trim_end_matches('/').to_owned(),
            upstream: upstream.trim_end_matches('/').to_owned(),
            credential,
            calls: Upstream::new(),
            security: json!({
                "extension": [{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": extension,
                }],
                "service": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                    "code": "SMART-on-FHIR",
                }]}],
                "description": "SMART App Launch; every resource is released or withheld by the patient's label choice in the token's security claim.",
            }),
        }
    }

    /// The gateways beside the authorization server: one per FHIR base with an upstream
    /// (`fhir_upstream`, `fhir_upstreams`).
    pub fn beside(config: &Config) -> Vec<Gateway> {
        config
            .gateways()
            .into_iter()
            .map(|(public, upstream)| Gateway::beside_at(config, public, upstream))
            .collect()
    }

    fn beside_at(config: &Config, public: &str, upstream: &str) -> Gateway {
        let uris = OAuthUris::of(config, config.registration != RegistrationPolicy::Closed);
        Gateway::new(public, upstream, config.fhir_upstream_token.clone(), uris)
    }

    fn bases(&self) -> Bases<'_> {
        Bases {
            upstream: &self.upstream,
            public: &self.public,
        }
    }
}

/// How the gateway checks a bearer token: in process beside the authorization server (key
/// ring and database), or standalone (the issuer's JWKS and introspection).
#[async_trait]
pub trait Verifier: Send + Sync {
    /// What the `Authorization` header's token allows at the FHIR base `audience`.
    async fn verify(&self, authorization: Option<&str>, audience: &str) -> Result<Access, Denied>;
}

/// One FHIR request as the gateway sees it.
pub struct FhirRequest<'a> {
    pub method: &'a str,
    /// Below the base, without the leading slash.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub authorization: Option<&'a str>,
    pub body: &'a [u8],
}

/// Serves one FHIR request.
pub async fn serve(gateway: &Gateway, verifier: &dyn Verifier, request: FhirRequest<'_>) -> Reply {
    let FhirRequest {
        method,
        path,
        query,
        authorization,
        body,
    } = request;
    let bases = gateway.bases();
    let (public, upstream) = (bases.public, bases.upstream);
    let interaction = match request::interaction(method, path) {
        Ok(interaction) => interaction,
        Err(Refused::Method) => {
            return Reply::outcome(
                405,
                "not-supported",
                "This interaction is not available through this server.",
            );
        }
        Err(Refused::Unsupported(reason)) => return Reply::outcome(400, "not-supported", reason),
    };
    if interaction == Interaction::Capabilities {
        return capabilities(gateway, &bases).await;
    }
    let access = match verifier.verify(authorization, public).await {
        Ok(access) => access,
        Err(Denied::NoToken) => {
            return Reply::outcome(401, "login", "A bearer access token is required.")
                .challenged("Bearer realm=\"clearance\"");
        }
        Err(Denied::InvalidToken) => {
            return Reply::outcome(
                401,
                "login",
                "The access token is invalid, expired or revoked.",
            )
            .challenged("Bearer realm=\"clearance\", error=\"invalid_token\"");
        }
        Err(Denied::Unavailable) => {
            return Reply::outcome(503, "transient", "The service is temporarily unavailable.");
        }
    };
    let resource_type = interaction.resource_type().unwrap_or_default();
    let letter = interaction.letter();
    if !access.may(resource_type, letter) {
        return insufficient_scope();
    }
    match &interaction {
        Interaction::Search { .. } => {
            search(gateway, &access, resource_type, query, &bases, None).await
        }
        Interaction::CompartmentSearch { patient, .. } => {
            // FHIR search.html: the same search, within one patient's compartment.
            let within = match compartment::confinement(resource_type) {
                compartment::Confinement::ThePatient => ("_id".to_owned(), patient.clone()),
                compartment::Confinement::Member { parameter, .. } => {
                    (parameter.to_owned(), format!("Patient/{patient}"))
                }
                _ => {
                    return Reply::outcome(
                        400,
                        "not-supported",
                        "That type is not in the Patient compartment.",
                    );
                }
            };
            search(gateway, &access, resource_type, query, &bases, Some(within)).await
        }
        Interaction::History { .. } => {
            let url = format!("{upstream}/{path}");
            let answer = match fetch(gateway, &url).await {
                Ok(answer) => answer,
                Err(reply) => return reply,
            };
            let reply = bundle_reply(answer, &access, 'r', &bases);
            // A resource has at least one version: a history with none left is a resource
            // withheld, answered as one that is not there (not an empty Bundle, which would
            // tell the two apart).
            if reply.status == 200 && reply.body["entry"].is_null() {
                return Reply::not_found();
            }
            reply
        }
        Interaction::Read { id, .. } | Interaction::VRead { id, .. } => {
            read(
                gateway,
                &access,
                resource_type,
                id,
                &format!("{upstream}/{path}"),
            )
            .await
        }
        Interaction::Create { .. } => create(gateway, &access, resource_type, body, &bases).await,
        Interaction::Update { id, .. } => {
            let url = format!("{upstream}/{path}");
            update(gateway, &access, resource_type, id, body, &url, &bases).await
        }
        Interaction::Delete { .. } => delete(gateway, &access, &format!("{upstream}/{path}")).await,
        Interaction::Capabilities => Reply::not_found(),
    }
}

/// The resource in a write's body, of the type the path names (and its id, for an update).
fn written(body: &[u8], resource_type: &str, id: Option<&str>) -> Result<Value, Reply> {
    let resource = parse(body)
        .filter(|r| r["resourceType"] == resource_type)
        .filter(|r| id.is_none_or(|id| r["id"] == id))
        .ok_or_else(|| {
            Reply::outcome(
                400,
                "invalid",
                "The body must be the FHIR JSON resource the path names.",
            )
        })?;
    Ok(resource)
}

/// A write the token could not read back, or outside its patient: 403 (the client knows what
/// it sent, so nothing leaks). Checked with the write's own letter (`c` or `u`).
fn writable(access: &Access, resource: &Value, letter: char) -> Result<(), Reply> {
    if access.may_release(resource, letter) {
        Ok(())
    } else {
        Err(Reply::outcome(
            403,
            "forbidden",
            "This app may not write this resource: it is outside the patient's records or labelled above what was shared.",
        ))
    }
}

/// The current version of the resource a write or delete names, which the token must be
/// able to see; otherwise 404, as for a read (and no update-as-create: creating at an id
/// the client chose would tell it whether a withheld resource is there).
async fn current(
    gateway: &Gateway,
    access: &Access,
    url: &str,
    letter: char,
) -> Result<Value, Reply> {
    let answer = fetch(gateway, url).await?;
    if answer.status != 200 {
        return Err(upstream_error(answer.status));
    }
    let resource = parse(&answer.body).ok_or_else(|| {
        Reply::outcome(
            502,
            "exception",
            "The FHIR server's answer could not be read.",
        )
    })?;
    if !access.may_release(&resource, letter) {
        return Err(Reply::not_found());
    }
    Ok(resource)
}

async fn send(
    gateway: &Gateway,
    method: reqwest::Method,
    url: &str,
    body: Option<Vec<u8>>,
) -> Result<upstream::Answer, Reply> {
    gateway
        .calls
        .send(method, url, body, gateway.credential.as_deref())
        .await
        .map_err(|failure| {
            tracing::warn!(?failure, "FHIR upstream write failed");
            Reply::outcome(502, "exception", "The FHIR server could not be reached.")
        })
}

/// The upstream's answer to a write: its status and, when it returned the resource and the
/// token may see it, the resource.
fn write_reply(answer: upstream::Answer, access: &Access, letter: char, bases: &Bases) -> Reply {
    if !(200..300).contains(&answer.status) {
        return upstream_error(answer.status);
    }
    let body = parse(&answer.body)
        .filter(|r| access.may_release(r, letter))
        .unwrap_or(Value::Null);
    Reply {
        status: answer.status,
        ..Reply::ok(body)
    }
    .with(
        "location",
        answer.location.and_then(|l| bases.public_url(&l)),
    )
    .with("etag", answer.etag)
    .with("last-modified", answer.last_modified)
}

async fn create(
    gateway: &Gateway,
    access: &Access,
    resource_type: &str,
    body: &[u8],
    bases: &Bases<'_>,
) -> Reply {
    let resource = match written(body, resource_type, None) {
        Ok(resource) => resource,
        Err(reply) => return reply,
    };
    if let Err(reply) = writable(access, &resource, 'c') {
        return reply;
    }
    let url = format!("{}/{resource_type}", bases.upstream);
    match send(gateway, reqwest::Method::POST, &url, Some(body.to_vec())).await {
        Ok(answer) => write_reply(answer, access, 'c', bases),
        Err(reply) => reply,
    }
}

async fn update(
    gateway: &Gateway,
    access: &Access,
    resource_type: &str,
    id: &str,
    body: &[u8],
    url: &str,
    bases: &Bases<'_>,
) -> Reply {
    let resource = match written(body, resource_type, Some(id)) {
        Ok(resource) => resource,
        Err(reply) => return reply,
    };
    // The version replaced must be one the token can see (an update may not strip labels from
    // a resource it cannot read), and the new one one it could read back.
    if let Err(reply) = current(gateway, access, url, 'u').await {
        return reply;
    }
    if let Err(reply) = writable(access, &resource, 'u') {
        return reply;
    }
    match send(gateway, reqwest::Method::PUT, url, Some(body.to_vec())).await {
        Ok(answer) => write_reply(answer, access, 'u', bases),
        Err(reply) => reply,
    }
}

async fn delete(gateway: &Gateway, access: &Access, url: &str) -> Reply {
    if let Err(reply) = current(gateway, access, url, 'd').await {
        return reply;
    }
    match send(gateway, reqwest::Method::DELETE, url, None).await {
        Ok(answer) if (200..300).contains(&answer.status) => Reply {
            status: 204,
            ..Reply::ok(Value::Null)
        },
        Ok(answer) => upstream_error(answer.status),
        Err(reply) => reply,
    }
}

fn insufficient_scope() -> Reply {
    Reply::outcome(
        403,
        "forbidden",
        "The access token does not grant this interaction.",
    )
    .challenged("Bearer realm=\"clearance\", error=\"insufficient_scope\"")
}

/// The upstream's answer, or the reply for its failure.
async fn fetch(gateway: &Gateway, url: &str) -> Result<upstream::Answer, Reply> {
    gateway
        .calls
        .get(url, gateway.credential.as_deref())
        .await
        .map_err(|failure| {
            tracing::warn!(?failure, "FHIR upstream call failed");
            match failure {
                Failure::Timeout => {
                    Reply::outcome(504, "timeout", "The FHIR server did not answer in time.")
                }
                Failure::Busy => {
                    Reply::outcome(503, "transient", "The FHIR server is busy; try again.")
                }
                Failure::Unavailable | Failure::TooLarge => {
                    Reply::outcome(502, "exception", "The FHIR server could not be reached.")
                }
            }
        })
}

/// An upstream error status, told apart only as much as is safe: not found (404; a deleted
/// resource's 410 too, which would confirm it existed), the client's mistake (400), or the
/// upstream's (502).
fn upstream_error(status: u16) -> Reply {
    match status {
        404 | 410 => Reply::not_found(),
        400..=499 => Reply::outcome(400, "invalid", "The FHIR server refused the request."),
        _ => Reply::outcome(502, "exception", "The FHIR server failed to answer."),
    }
}

fn parse(body: &[u8]) -> Option<Value> {
    serde_json::from_slice(body).ok()
}

async fn read(
    gateway: &Gateway,
    access: &Access,
    resource_type: &str,
    id: &str,
    url: &str,
) -> Reply {
    let answer = match fetch(gateway, url).await {
        Ok(answer) => answer,
        Err(reply) => return reply,
    };
    if answer.status != 200 {
        return upstream_error(answer.status);
    }
    let Some(resource) = parse(&answer.body) else {
        return Reply::outcome(
            502,
            "exception",
            "The FHIR server's answer could not be read.",
        );
    };
    // The upstream must answer with the resource asked for; anything else is withheld.
    if resource["resourceType"] != resource_type
        || resource["id"] != id
        || !access.may_release(&resource, 'r')
    {
        return Reply::not_found();
    }
    Reply::ok(resource)
        .with("etag", answer.etag)
        .with("last-modified", answer.last_modified)
}

async fn search(
    gateway: &Gateway,
    access: &Access,
    resource_type: &str,
    query: Option<&str>,
    bases: &Bases<'_>,
    within: Option<(String, String)>,
) -> Reply {
    let params = Params::parse(
        query.unwrap_or_default().as_bytes(),
        MAX_PROTOCOL_PARAMETERS,
    );
    if let Err(Refused::Unsupported(reason)) = request::check_search(&params) {
        return Reply::outcome(400, "not-supported", reason);
    }
    // Narrowed before it goes upstream (as HAPI's SearchNarrowingInterceptor), and every
    // result is checked again when it comes back: the upstream is never trusted to narrow.
    let narrowing = match access.narrowing(resource_type, 's') {
        Ok(narrowing) => narrowing,
        Err(access::CannotNarrow) => return insufficient_scope(),
    };
    let encoded = {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in params.pairs() {
            serializer.append_pair(name, value);
        }
        for (name, value) in narrowing.iter().chain(within.iter()) {
            serializer.append_pair(name, value);
        }
        serializer.finish()
    };
    let url = if encoded.is_empty() {
        format!("{}/{resource_type}", bases.upstream)
    } else {
        format!("{}/{resource_type}?{encoded}", bases.upstream)
    };
    let answer = match fetch(gateway, &url).await {
        Ok(answer) => answer,
        Err(reply) => return reply,
    };
    bundle_reply(answer, access, 's', bases)
}

fn bundle_reply(answer: upstream::Answer, access: &Access, letter: char, bases: &Bases) -> Reply {
    if answer.status != 200 {
        return upstream_error(answer.status);
    }
    let Some(mut bundle) = parse(&answer.body) else {
        return Reply::outcome(
            502,
            "exception",
            "The FHIR server's answer could not be read.",
        );
    };
    if !filter_bundle(&mut bundle, access, letter, bases) {
        return Reply::outcome(
            502,
            "exception",
            "The FHIR server's answer could not be read.",
        );
    }
    Reply::ok(bundle)
}

/// `GET [base]/metadata`: the upstream's CapabilityStatement, with `rest.security` saying how
/// to get a token here (SMART App Launch: the `oauth-uris` extension and the SMART-on-FHIR
/// service), for clients that discover through `/metadata`.
async fn capabilities(gateway: &Gateway, bases: &Bases<'_>) -> Reply {
    let answer = match fetch(gateway, &format!("{}/metadata", bases.upstream)).await {
        Ok(answer) => answer,
        Err(reply) => return reply,
    };
    if answer.status != 200 {
        return upstream_error(answer.status);
    }
    let Some(mut statement) =
        parse(&answer.body).filter(|s| s["resourceType"] == "CapabilityStatement")
    else {
        return Reply::outcome(
            502,
            "exception",
            "The FHIR server's answer could not be read.",
        );
    };
    let security = gateway.security.clone();
    match statement["rest"].as_array_mut() {
        Some(rest) => {
            for entry in rest.iter_mut() {
                entry["security"] = security.clone();
            }
        }
        None => statement["rest"] = json!([{"mode": "server", "security": security}]),
    }
    if let Some(implementation) = statement.get_mut("implementation") {
        implementation["url"] = json!(bases.public);
    }
    Reply::ok(statement)
}
