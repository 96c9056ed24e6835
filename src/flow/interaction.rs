//! The authorization interaction: sign in, pick a patient, consent, then the code. Every step
//! (the authorization endpoint, the return from sign-in, the picker, the consent page and
//! its POST) decides again from the stored request and from who is signed in now, through
//! [`decide`]: no page can be skipped by posting to the next one (OIDC Core §3.1.2.1
//! `prompt=login`/`max_age`; an EHR launch or `id_token_hint` bound to one user; a patient
//! never given another patient's record).

use crate::flow::audit::{self, Event, Kind};
use crate::flow::authorization_response;
use crate::flow::authorize::{AuthorizationRequest, SignedIn};
use crate::flow::consent;
use crate::flow::error::{ErrorCode, OAuthError};
use crate::flow::launch::{self, LaunchContext};
use crate::scope::ScopeSet;
use crate::secrets;
use crate::services::Services;
use crate::store::{Client, Consent, PendingRequest, Role, StoreError, StoreResult, User};

/// A validated request waiting for the user, under its id.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: String,
    pub request: AuthorizationRequest,
}

/// Stores a new pending request; any instance can continue it.
pub async fn start(services: &Services, request: AuthorizationRequest) -> StoreResult<Pending> {
    let now = services.now();
    let row = PendingRequest {
        id: secrets::random_id(),
        client_id: request.client_id.clone(),
        request: to_json(&request)?,
        created_at: now,
        expires_at: now + services.config.authorization_request_ttl,
    };
    services.store.insert_authorization_request(&row).await?;
    Ok(Pending {
        id: row.id,
        request,
    })
}

/// The pending request with this id, if it exists and has not expired.
pub async fn load(services: &Services, id: &str) -> StoreResult<Option<Pending>> {
    if !is_request_id(id) {
        return Ok(None);
    }
    let Some(row) = services
        .store
        .authorization_request(id, services.now())
        .await?
    else {
        return Ok(None);
    };
    let request =
        serde_json::from_str(&row.request).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Some(Pending {
        id: row.id,
        request,
    }))
}

fn to_json(request: &AuthorizationRequest) -> StoreResult<String> {
    serde_json::to_string(request).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Request ids are ours (alphanumeric); anything else is refused before it reaches a query.
/// The name of the app a pending request is for (shown on the sign-in page).
pub async fn client_name(services: &Services, pending: &Pending) -> StoreResult<Option<String>> {
    let client = services
        .store
        .client_by_id(&pending.request.client_id)
        .await?;
    Ok(client.map(|c| c.name))
}

pub fn is_request_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Why the sign-in page must be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInReason {
    NotSignedIn,
    /// Someone else is signed in than the user the request is bound to.
    OtherAccount,
    /// `prompt=login`, or the sign-in is older than `max_age`.
    Again,
}

/// OIDC Core §3.1.2.3: must the user sign in (again) before this request can go on? The
/// bound user is checked against whoever is signed in, always: a fresh sign-in for this
/// request satisfies `prompt=login` and `max_age`, never the binding.
pub fn sign_in_needed(
    pending: &Pending,
    signed_in: Option<&SignedIn>,
    now: i64,
) -> Option<SignInReason> {
    let request = &pending.request;
    let Some(s) = signed_in else {
        return Some(SignInReason::NotSignedIn);
    };
    if !request.allows_user(&s.user_id) {
        return Some(SignInReason::OtherAccount);
    }
    let too_old = request.max_age.is_some_and(|max| now - s.auth_time > max);
    (!s.is_for(&pending.id) && (request.prompt.login || too_old)).then_some(SignInReason::Again)
}

/// The patient the request is about, once the user is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatientContext {
    Known(LaunchContext),
    /// A practitioner must pick a patient first.
    Pick,
    /// A patient user without a patient record asked for patient context.
    NoRecord,
    /// An EHR launch names a patient who is not this patient user.
    OtherPatient,
}

/// The launch context to issue the code with: an EHR launch's, the patient user's own record,
/// or the practitioner's pick. A patient is never given another patient's context.
pub fn patient_context(request: &AuthorizationRequest, user: &User) -> PatientContext {
    let mut context = request.launch.clone().unwrap_or_default();
    if user.role() == Role::Patient {
        let own = launch::own_patient(user);
        match (&context.patient, own) {
            (Some(launched), own) if own.as_deref() != Some(launched) => {
                return PatientContext::OtherPatient;
            }
            (Some(_), _) => {}
            (None, _) if !launch::needs_patient(&request.scope) => {}
            (None, Some(own)) => context.patient = Some(own),
            (None, None) => return PatientContext::NoRecord,
        }
        return PatientContext::Known(context);
    }
    if context.patient.is_some() || !launch::needs_patient(&request.scope) {
        return PatientContext::Known(context);
    }
    match &request.picked_patient {
        Some(patient) => {
            context.patient = Some(patient.clone());
            PatientContext::Known(context)
        }
        None => PatientContext::Pick,
    }
}

/// Everything known once the user is signed in and the patient is settled.
#[derive(Debug, Clone)]
pub struct Ready {
    pub signed_in: SignedIn,
    pub user: User,
    pub client: Client,
    pub context: LaunchContext,
    /// What the user allowed this client before, for this patient.
    pub remembered: Option<Consent>,
}

impl Ready {
    /// The key of the remembered consent: the patient in context, or '' when none.
    pub fn patient_key(&self) -> &str {
        self.context.patient.as_deref().unwrap_or("")
    }

    /// Does the remembered consent cover the whole request (and was it not denied since)?
    pub fn remembered_covers(&self, scope: &ScopeSet) -> bool {
        self.remembered
            .as_ref()
            .is_some_and(|c| !c.denied_since() && scope.is_subset_of(&c.scope))
    }
}

/// An error for the client.
pub type Failure = OAuthError;

/// Where the request stands.
#[derive(Debug)]
pub enum Decision {
    SignIn(SignInReason),
    PickPatient(Box<User>),
    /// The consent page must be shown.
    Consent(Box<Ready>),
    /// Remembered consent covers the request: the code can be issued without a page.
    Covered(Box<Ready>),
    Fail(Failure),
}

/// Decides the next step of `pending` for whoever is signed in.
pub async fn decide(
    services: &Services,
    pending: &Pending,
    signed_in: Option<&SignedIn>,
) -> StoreResult<Decision> {
    let request = &pending.request;
    let none = request.prompt.none;
    let user = match signed_in {
        Some(s) => services.store.user_by_id(&s.user_id).await?,
        None => None,
    };
    let (Some(s), Some(user)) = (signed_in, user) else {
        return Ok(if none {
            Decision::Fail(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user must sign in",
            ))
        } else {
            Decision::SignIn(SignInReason::NotSignedIn)
        });
    };
    if let Some(reason) = sign_in_needed(pending, Some(s), services.now()) {
        return Ok(if none {
            Decision::Fail(OAuthError::new(
                ErrorCode::LoginRequired,
                "the user must sign in",
            ))
        } else {
            Decision::SignIn(reason)
        });
    }
    let context = match patient_context(request, &user) {
        PatientContext::Known(context) => context,
        PatientContext::Pick if none => {
            return Ok(Decision::Fail(OAuthError::new(
                ErrorCode::InteractionRequired,
                "a patient must be chosen",
            )));
        }
        PatientContext::Pick => return Ok(Decision::PickPatient(Box::new(user))),
        PatientContext::NoRecord => {
            return Ok(Decision::Fail(OAuthError::new(
                ErrorCode::AccessDenied,
                "the signed-in user has no patient record",
            )));
        }
        PatientContext::OtherPatient => {
            return Ok(Decision::Fail(OAuthError::new(
                ErrorCode::AccessDenied,
                "the launch is for another patient's record",
            )));
        }
    };
    let Some(client) = services.store.client_by_id(&request.client_id).await? else {
        return Ok(Decision::Fail(OAuthError::new(
            ErrorCode::AccessDenied,
            "the app no longer exists",
        )));
    };
    let patient = context.patient.clone().unwrap_or_default();
    let remembered = services
        .store
        .consent(&user.id, &client.client_id, &patient)
        .await?;
    let ready = Box::new(Ready {
        signed_in: s.clone(),
        user,
        client,
        context,
        remembered,
    });
    if request.prompt.consent || !ready.remembered_covers(&request.scope) {
        return Ok(if none {
            Decision::Fail(OAuthError::new(
                ErrorCode::ConsentRequired,
                "the user must consent",
            ))
        } else {
            Decision::Consent(ready)
        });
    }
    Ok(Decision::Covered(ready))
}

/// What the browser is sent to next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    SignIn(SignInReason),
    PickPatient,
    Consent,
    /// Back to the client: a code, or an error.
    Redirect(String),
    /// An error shown to the person instead of a redirect (an untrusted redirect URI).
    Page(String),
}

/// Decides and acts: issues the code when remembered consent covers the request, ends the
/// request when it cannot go on. `interacted`: the user acted on one of our pages for this
/// request (typed their password for it, or posted a form), so that a self-registered
/// client's redirect URI may be used for an error (RFC 9700 §4.11.2).
pub async fn advance(
    services: &Services,
    pending: &Pending,
    signed_in: Option<&SignedIn>,
    interacted: bool,
) -> StoreResult<Step> {
    Ok(match decide(services, pending, signed_in).await? {
        Decision::SignIn(reason) => Step::SignIn(reason),
        Decision::PickPatient(_) => Step::PickPatient,
        Decision::Consent(_) => Step::Consent,
        Decision::Covered(ready) => {
            // The same categories apply again, under today's ceiling and clearance.
            let chosen = ready
                .remembered
                .as_ref()
                .map(Consent::category_ids)
                .unwrap_or_default();
            let granted = consent::decide(
                &services.config,
                &ready.client,
                &ready.user,
                pending.request.scope.clone(),
                chosen,
            );
            Step::Redirect(
                authorization_response::issue_code(services, pending, &ready, &granted, false)
                    .await?,
            )
        }
        Decision::Fail(failure) => refuse(services, pending, failure, interacted).await?,
    })
}

/// The consent form's answer.
#[derive(Debug, Clone)]
pub enum Answer {
    Allow {
        /// The scopes the form grants (within the request; see `consent::granted_by_form`).
        granted: ScopeSet,
        /// The sensitivity category ids ticked.
        categories: Vec<String>,
    },
    Deny,
}

/// Applies the consent form, but only when the request is at the consent step for the user
/// signed in now; otherwise the browser goes where [`advance`] says.
pub async fn answer(
    services: &Services,
    pending: &Pending,
    signed_in: Option<&SignedIn>,
    answer: Answer,
) -> StoreResult<Step> {
    let ready = match decide(services, pending, signed_in).await? {
        Decision::Consent(ready) | Decision::Covered(ready) => ready,
        _ => return advance(services, pending, signed_in, true).await,
    };
    let (user_id, client_id) = (ready.user.id.as_str(), ready.client.client_id.as_str());
    match answer {
        Answer::Allow {
            granted,
            categories,
        } if !granted.is_empty() => {
            let decided = consent::decide(
                &services.config,
                &ready.client,
                &ready.user,
                granted,
                &categories,
            );
            audit::record(
                services,
                Event::new(Kind::ConsentGiven)
                    .user(user_id)
                    .client(client_id)
                    .detail(format!(
                        "{}; categories: {}",
                        decided.scope,
                        decided.categories.join(" ")
                    )),
            )
            .await;
            Ok(Step::Redirect(
                authorization_response::issue_code(services, pending, &ready, &decided, true)
                    .await?,
            ))
        }
        _ => {
            services
                .store
                .deny_consent(user_id, client_id, ready.patient_key(), services.now())
                .await?;
            audit::record(
                services,
                Event::new(Kind::ConsentDenied)
                    .user(user_id)
                    .client(client_id),
            )
            .await;
            refuse(
                services,
                pending,
                OAuthError::new(ErrorCode::AccessDenied, "the user denied access"),
                true,
            )
            .await
        }
    }
}

/// Keeps the patient a practitioner picked in the pending request, when the request is at
/// the picker step for the user signed in now. False when it is not (or no such patient).
pub async fn pick_patient(
    services: &Services,
    pending: &Pending,
    signed_in: Option<&SignedIn>,
    patient_id: &str,
) -> StoreResult<bool> {
    let Decision::PickPatient(practitioner) = decide(services, pending, signed_in).await? else {
        return Ok(false);
    };
    let Some(patient) = services.store.patient(patient_id).await? else {
        return Ok(false);
    };
    let mut request = pending.request.clone();
    request.picked_patient = Some(patient.id.clone());
    services
        .store
        .update_authorization_request(&pending.id, &to_json(&request)?)
        .await?;
    audit::record(
        services,
        Event::new(Kind::PatientPicked)
            .user(&practitioner.id)
            .client(&request.client_id)
            .detail(format!("Patient/{}", patient.id)),
    )
    .await;
    Ok(true)
}

/// Ends the request with an error for the client: a redirect, or a page when the client
/// registered itself and the user has not acted on this request yet.
async fn refuse(
    services: &Services,
    pending: &Pending,
    error: Failure,
    interacted: bool,
) -> StoreResult<Step> {
    let untrusted = !interacted
        && services
            .store
            .client_by_id(&pending.request.client_id)
            .await?
            .is_none_or(|c| c.is_dynamically_registered());
    let page = format!("The app's request cannot be completed ({error}).");
    let url = authorization_response::refuse(services, pending, error).await?;
    Ok(if untrusted {
        Step::Page(page)
    } else {
        Step::Redirect(url)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::authorize::Prompt;

    fn pending(prompt: Prompt, max_age: Option<i64>) -> Pending {
        Pending {
            id: "r1".into(),
            request: AuthorizationRequest {
                client_id: "c".into(),
                redirect_uri: "https://app.example/cb".into(),
                scope: ScopeSet::parse("openid profile").unwrap(),
                state: None,
                nonce: None,
                code_challenge: "x".repeat(43),
                prompt,
                max_age,
                login_hint: None,
                hinted_subject: None,
                bound_user: None,
                audience: "https://as.example".into(),
                launch: None,
                picked_patient: None,
            },
        }
    }

    fn signed_in(user: &str, auth_time: i64, for_request: Option<&str>) -> SignedIn {
        SignedIn {
            user_id: user.into(),
            auth_time,
            signed_in_for: for_request.map(str::to_owned),
            sign_in_id: "s".into(),
        }
    }

    fn user(id: &str, role: Role, fhir_user: &str) -> User {
        User {
            id: id.into(),
            username: id.into(),
            password_hash: String::new(),
            role,
            fhir_user: Some(fhir_user.into()),
            name: None,
            email: None,
            created_at: 0,
            clearance_confidentiality: None,
            clearance_sensitivity: None,
        }
    }

    #[test]
    fn prompt_login_and_max_age_need_a_sign_in_for_this_request() {
        let login = pending(
            Prompt {
                login: true,
                ..Prompt::default()
            },
            None,
        );
        let old = signed_in("u", 0, None);
        assert_eq!(
            sign_in_needed(&login, None, 10),
            Some(SignInReason::NotSignedIn)
        );
        assert_eq!(
            sign_in_needed(&login, Some(&old), 10),
            Some(SignInReason::Again)
        );
        assert_eq!(
            sign_in_needed(&login, Some(&signed_in("u", 0, Some("r1"))), 10),
            None
        );
        let aged = pending(Prompt::default(), Some(5));
        assert_eq!(
            sign_in_needed(&aged, Some(&old), 10),
            Some(SignInReason::Again)
        );
        assert_eq!(
            sign_in_needed(&aged, Some(&signed_in("u", 8, None)), 10),
            None
        );
    }

    #[test]
    fn a_bound_request_needs_its_user_even_after_a_fresh_sign_in() {
        let mut bound = pending(Prompt::default(), None);
        bound.request.bound_user = Some("dr.jones".into());
        let other_fresh = signed_in("bob", 10, Some("r1"));
        assert_eq!(
            sign_in_needed(&bound, Some(&other_fresh), 10),
            Some(SignInReason::OtherAccount)
        );
        assert_eq!(
            sign_in_needed(&bound, Some(&signed_in("dr.jones", 0, None)), 10),
            None
        );
        let mut hinted = pending(Prompt::default(), None);
        hinted.request.hinted_subject = Some("alice".into());
        assert_eq!(
            sign_in_needed(&hinted, Some(&other_fresh), 10),
            Some(SignInReason::OtherAccount)
        );
    }

    #[test]
    fn a_patient_is_never_given_another_patients_context() {
        let mut launched = pending(Prompt::default(), None);
        launched.request.scope = ScopeSet::parse("launch openid patient/*.rs").unwrap();
        launched.request.launch = Some(LaunchContext {
            patient: Some("carmen".into()),
            ..LaunchContext::default()
        });
        let bob = user("bob", Role::Patient, "Patient/bob");
        assert_eq!(
            patient_context(&launched.request, &bob),
            PatientContext::OtherPatient
        );
        let carmen = user("carmen-user", Role::Patient, "Patient/carmen");
        assert!(matches!(
            patient_context(&launched.request, &carmen),
            PatientContext::Known(c) if c.patient.as_deref() == Some("carmen")
        ));
        let doctor = user("jones", Role::Practitioner, "Practitioner/jones");
        assert!(matches!(
            patient_context(&launched.request, &doctor),
            PatientContext::Known(_)
        ));
    }

    #[test]
    fn practitioners_pick_and_patients_get_their_own_record() {
        let mut standalone = pending(Prompt::default(), None);
        standalone.request.scope = ScopeSet::parse("launch/patient openid").unwrap();
        let doctor = user("jones", Role::Practitioner, "Practitioner/jones");
        assert_eq!(
            patient_context(&standalone.request, &doctor),
            PatientContext::Pick
        );
        standalone.request.picked_patient = Some("dev".into());
        assert!(matches!(
            patient_context(&standalone.request, &doctor),
            PatientContext::Known(c) if c.patient.as_deref() == Some("dev")
        ));
        let alice = user("alice", Role::Patient, "Patient/alice");
        assert!(matches!(
            patient_context(&standalone.request, &alice),
            PatientContext::Known(c) if c.patient.as_deref() == Some("alice")
        ));
        let nobody = user("x", Role::Patient, "Person/x");
        assert_eq!(
            patient_context(&standalone.request, &nobody),
            PatientContext::NoRecord
        );
    }
}
