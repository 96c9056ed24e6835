//! Form and query bodies: bounded parsing, the repeated-parameter check, and every check of
//! an authorization request that needs no storage.
#![no_main]

use clearance::config::{Config, Settings};
use clearance::flow::authorize::check_parameters;
use clearance::flow::params::{MAX_FORM_FIELDS, MAX_PROTOCOL_PARAMETERS, Params};
use clearance::store::{AuthMethod, Client, StringList};
use libfuzzer_sys::fuzz_target;

fn client() -> Client {
    Client {
        client_id: "c".into(),
        name: "App".into(),
        redirect_uris: ["https://app.example/cb"].into_iter().collect(),
        secret_hash: None,
        token_endpoint_auth_method: AuthMethod::None,
        id_token_signed_response_alg: "RS256".into(),
        created_at: 0,
        max_confidentiality: None,
        allowed_sensitivity: None,
        ehr_launcher: false,
        jwks: None,
        jwks_uri: None,
        grant_types: ["authorization_code", "refresh_token"].into_iter().collect(),
        system_scopes: None,
        registration_token_hash: None,
        metadata: "{}".into(),
        resource_server_for: StringList::default(),
    }
}

fuzz_target!(|data: &[u8]| {
    let config = Config::from_settings(Settings::default()).expect("default config");
    let params = Params::parse(data, MAX_PROTOCOL_PARAMETERS);
    let _ = params.repeated();
    let _ = check_parameters(&params, &client(), &config);
    let form = Params::parse(data, MAX_FORM_FIELDS);
    let _ = form.all("scope").count();
});
