//! `clearance demo`: the seeded demo patient can sign in through the demo app and see the
//! tokens it received.

use crate::common::*;

#[tokio::test]
async fn demo_patient_walks_the_demo_app() {
    let server = TestServer::start_demo().await;
    let browser = browser();
    let (response, url) = server.follow(&browser, server.url("/demo")).await;
    assert!(url.contains("/login"), "{url}");
    let page = response.text().await.unwrap();
    assert!(page.contains("Demo Health App"));
    let (username, password, ..) = clearance::demo::DEMO_USERS[0];
    let r = server.sign_in(&browser, &page, username, password).await;
    let (response, url) = server.follow(&browser, server.url(&location(&r))).await;
    assert!(url.contains("/consent"));
    let page = response.text().await.unwrap();
    let mut form = vec![
        ("csrf".to_owned(), hidden(&page, "csrf")),
        ("request".to_owned(), hidden(&page, "request")),
        ("decision".to_owned(), "allow".to_owned()),
    ];
    form.extend(
        scope_boxes(&page)
            .into_iter()
            .map(|s| ("scope".to_owned(), s)),
    );
    let r = browser
        .post(server.url("/consent"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let callback = location(&r);
    assert!(callback.starts_with(&server.url("/demo/callback")));
    let page = browser
        .get(&callback)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("The demo app received its tokens"), "{page}");
    assert!(
        page.contains("&#34;fhirUser&#34;: &#34;Patient/alice&#34;")
            || page.contains("Patient/alice"),
        "{page}"
    );

    // The demo app read alice's records through the FHIR gateway: normal ones released,
    // sensitive ones withheld (nothing was ticked).
    assert!(
        page.contains("What the app read through the FHIR gateway"),
        "{page}"
    );
    assert!(page.contains("Blood pressure"));
    assert_eq!(
        page.matches("can see it").count(),
        2,
        "untagged and N records only"
    );
    assert_eq!(page.matches("<strong>withheld</strong>").count(), 6);

    // It reads again with the same token; once the app is revoked, the gateway refuses it.
    let again = browser
        .get(server.url("/demo/records"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(again.matches("can see it").count(), 2, "{again}");
    let alice = server.user("alice").await;
    clearance::flow::account::revoke(&server.services, &alice.id, clearance::demo::DEMO_CLIENT_ID)
        .await
        .unwrap();
    let revoked = browser
        .get(server.url("/demo/records"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        revoked.contains("The FHIR gateway answered 401"),
        "{revoked}"
    );
    assert_eq!(revoked.matches("can see it").count(), 0);

    // The built-in store answers only the gateway.
    let direct = browser
        .get(server.url("/demo/fhir-store/Observation"))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), 401);

    // Without demo mode there are no demo pages.
    let plain = TestServer::start().await;
    assert_eq!(
        browser
            .get(plain.url("/demo"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
