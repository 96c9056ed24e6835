//! The whole authorization code flow, driven by a real relying party library (openidconnect):
//! discovery, authorize with PKCE and nonce, sign-in, consent, code, token, ID token verified
//! against our JWKS, UserInfo, refresh.

use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clearance::flow::clients::{self, NewClient};
use clearance::tokens::Alg;
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use sha2::Digest;

#[tokio::test]
async fn public_client_walks_the_whole_flow_with_openidconnect() {
    let server = TestServer::start().await;
    let http = http_client();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery and JWKS");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(server.public_client.client_id.clone()),
        None,
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("fhirUser".into()))
        .add_scope(Scope::new("offline_access".into()))
        .set_pkce_challenge(challenge)
        .url();

    let browser = browser();
    let back = server
        .authorize(&browser, url.as_str(), "alice", None)
        .await
        .redirect();
    assert!(back.starts_with(REDIRECT_URI));
    assert_eq!(
        query_param(&back, "state").as_deref(),
        Some(state.secret().as_str())
    );
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(server.issuer.as_str()),
        "RFC 9207 iss"
    );
    let code = query_param(&back, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("token exchange");
    let granted: Vec<String> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        granted,
        ["openid", "profile", "email", "fhirUser", "offline_access"]
    );
    assert_eq!(tokens.expires_in().unwrap().as_secs(), 300);

    let id_token = tokens.id_token().expect("id_token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("ID token verifies against our JWKS");
    assert_eq!(claims.issuer().as_str(), server.issuer);
    assert!(claims.auth_time().is_some());
    assert_eq!(
        claims.access_token_hash().map(|h| h.to_string()),
        Some(Alg::Rs256.left_half_hash(tokens.access_token().secret()))
    );
    let sub = claims.subject().to_string();

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(
        info.subject().as_str(),
        sub,
        "UserInfo sub equals the ID token's"
    );
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("alice"));

    // Refresh: a new access token, a rotated refresh token, an ID token for the same user.
    let refresh = tokens
        .refresh_token()
        .expect("refresh token with offline_access");
    let refreshed = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    assert_ne!(
        refreshed.refresh_token().unwrap().secret(),
        refresh.secret(),
        "rotated"
    );
    let again = refreshed
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .unwrap();
    assert_eq!(again.subject().as_str(), sub);
    assert_eq!(
        again.auth_time(),
        claims.auth_time(),
        "auth_time is the original sign-in"
    );
}

#[tokio::test]
async fn confidential_client_with_basic_and_post_authentication() {
    let server = TestServer::start().await;
    let http = http_client();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let c = &server.confidential_client;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(c.client_id.clone()),
        Some(ClientSecret::new(c.client_secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, _, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let back = server
        .authorize(&browser(), url.as_str(), "alice", None)
        .await
        .redirect();
    let code = query_param(&back, "code").unwrap();
    // openidconnect authenticates with client_secret_basic by default.
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("basic auth exchange");
    tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();
    assert!(
        tokens.refresh_token().is_none(),
        "no offline_access, no refresh token"
    );

    // client_secret_post.
    let (code, verifier) = server.code_for(&c.client_id, "openid").await;
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
                ("client_id", &c.client_id),
                ("client_secret", c.client_secret.as_deref().unwrap()),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
}

/// Every algorithm of `id_token_signing_alg_values_supported` works: a client registered for
/// it gets ID tokens signed with it, which openidconnect verifies against our JWKS (allowing
/// only that algorithm), with an `at_hash` made with the algorithm's own hash.
#[tokio::test]
async fn id_tokens_in_every_advertised_algorithm_verify_with_openidconnect() {
    let server = TestServer::start().await;
    let http = http_client();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.issuer.clone()).unwrap(), &http)
            .await
            .unwrap();
    let advertised: Vec<String> = metadata
        .id_token_signing_alg_values_supported()
        .iter()
        .map(|a| {
            serde_json::to_value(a)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(advertised, ["RS256", "RS384", "ES256", "ES384"]);
    for (alg, library_alg) in [
        (Alg::Rs256, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256),
        (Alg::Rs384, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384),
        (Alg::Es256, CoreJwsSigningAlgorithm::EcdsaP256Sha256),
        (Alg::Es384, CoreJwsSigningAlgorithm::EcdsaP384Sha384),
    ] {
        let registered = clients::register(
            server.services.store.as_ref(),
            NewClient {
                name: alg.name(),
                redirect_uris: &[REDIRECT_URI.to_owned()],
                id_token_alg: alg,
                ..Default::default()
            },
            server.services.now(),
        )
        .await
        .unwrap();
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(registered.client_id.clone()),
            None,
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT_URI.to_owned()).unwrap());
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge)
            .url();
        let back = server
            .authorize(&browser(), url.as_str(), "alice", None)
            .await
            .redirect();
        let tokens = client
            .exchange_code(AuthorizationCode::new(query_param(&back, "code").unwrap()))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .expect("token exchange");
        let id_token = tokens.id_token().unwrap();
        let verifier = client
            .id_token_verifier()
            .set_allowed_algs([library_alg.clone()]);
        let claims = id_token
            .claims(&verifier, &nonce)
            .unwrap_or_else(|e| panic!("{} ID token verifies: {e}", alg.name()));
        assert_eq!(
            jwt_header(&id_token.to_string())["alg"],
            alg.name(),
            "signed as registered"
        );
        let access = tokens.access_token().secret().as_bytes();
        let expected = match alg {
            Alg::Rs256 | Alg::Es256 => URL_SAFE_NO_PAD.encode(&sha2::Sha256::digest(access)[..16]),
            Alg::Rs384 | Alg::Es384 => URL_SAFE_NO_PAD.encode(&sha2::Sha384::digest(access)[..24]),
        };
        assert_eq!(
            claims.access_token_hash().map(|h| h.to_string()),
            Some(expected),
            "{} at_hash",
            alg.name()
        );
    }
}

#[tokio::test]
async fn remembered_consent_skips_the_page_and_prompt_consent_shows_it_again() {
    let server = TestServer::start().await;
    let client_id = server.public_client.client_id.clone();
    let browser = browser();
    let (url, _) = server.authorize_url(&client_id, "openid profile", &[]);
    server
        .authorize(&browser, &url, "alice", None)
        .await
        .redirect();

    // Same browser, same scopes: straight back with a code, no page.
    let (url, _) = server.authorize_url(&client_id, "openid profile", &[]);
    let (response, target) = server.follow(&browser, url).await;
    assert!(response.status().is_redirection());
    assert!(
        query_param(&target, "code").is_some(),
        "no consent page the second time"
    );

    // prompt=none works silently too.
    let (url, _) = server.authorize_url(&client_id, "openid", &[("prompt", "none")]);
    let (_, target) = server.follow(&browser, url).await;
    assert!(query_param(&target, "code").is_some());

    // prompt=consent, or asking for more, shows the consent page.
    for (scope, extra) in [
        ("openid profile", [("prompt", "consent")]),
        ("openid profile email", [("x-ignored", "1")]),
    ] {
        let (url, _) = server.authorize_url(&client_id, scope, &extra);
        let (response, target) = server.follow(&browser, url).await;
        assert_eq!(response.status(), 200, "{target}");
        assert!(target.contains("/consent?request="));
    }
}

#[tokio::test]
async fn consent_can_grant_less_and_deny_sends_access_denied() {
    let server = TestServer::start().await;
    let client_id = server.public_client.client_id.clone();
    let (url, verifier) = server.authorize_url(&client_id, "openid profile email", &[]);
    let back = server
        .authorize(&browser(), &url, "alice", Some(&["openid", "email"]))
        .await
        .redirect();
    let code = query_param(&back, "code").unwrap();
    let (status, _, body) = server
        .token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
                ("client_id", &client_id),
            ],
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["scope"], "openid email", "exactly what was ticked");

    // Deny.
    let browser = browser();
    let (url, _) = server.authorize_url(&client_id, "openid", &[("prompt", "consent")]);
    let (page, _) = server.page_after_sign_in(&browser, url, "alice").await;
    let r = browser
        .post(server.url("/consent"))
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("request", hidden(&page, "request")),
            ("decision", "deny".into()),
        ])
        .send()
        .await
        .unwrap();
    let back = location(&r);
    assert_eq!(
        query_param(&back, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(&back, "state").as_deref(), Some("state-123"));
    assert_eq!(
        query_param(&back, "iss").as_deref(),
        Some(server.issuer.as_str())
    );
}
