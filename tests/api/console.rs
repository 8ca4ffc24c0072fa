//! The web console's files are cheap to load (issue 24): compressed, with strong ETags, and the
//! files the page names are under the build's version and cached for good.

use reqwest::header;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn console_files_are_compressed_versioned_and_revalidated() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let get = |path: &str, headers: &[(&str, &str)]| {
        let mut request = client.get(app.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };

    // The page: revalidated on every load, and it names its files under a version.
    let page = get("/", &[("accept-encoding", "gzip")]).await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(page.headers()[header::CONTENT_ENCODING], "gzip");
    let vary = page.headers()[header::VARY].to_str().unwrap();
    assert!(vary.contains("Accept-Encoding"), "{vary}");
    let page_tag = page.headers()[header::ETAG].to_str().unwrap().to_string();
    let again = get(
        "/",
        &[("accept-encoding", "gzip"), ("if-none-match", &page_tag)],
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()[header::ETAG], page_tag.as_str());
    assert!(again.bytes().await.unwrap().is_empty());
    let html = reqwest::get(app.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let version = html
        .split("src=\"/console/")
        .nth(1)
        .and_then(|rest| rest.split_once("/app.js\""))
        .map(|(version, _)| version.to_string())
        .unwrap_or_else(|| panic!("no versioned script in {html}"));
    assert_eq!(version.len(), 12, "{version}");
    assert!(html.contains(&format!("href=\"/console/{version}/style.css\"")));

    // A versioned file: compressed, cached for a year, never revalidated.
    let path = format!("/console/{version}/api.js");
    let packed = get(&path, &[("accept-encoding", "gzip, deflate, br")])
        .await
        .unwrap();
    assert_eq!(packed.status(), 200);
    assert_eq!(
        packed.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(packed.headers()[header::CONTENT_ENCODING], "gzip");
    assert!(packed.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .starts_with("default-src 'self'"));
    let packed_tag = packed.headers()[header::ETAG].to_str().unwrap().to_string();
    let packed_len = packed.bytes().await.unwrap().len();
    let plain = get(&path, &[]).await.unwrap();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    let plain_tag = plain.headers()[header::ETAG].to_str().unwrap().to_string();
    assert_ne!(plain_tag, packed_tag, "each representation has its own tag");
    let text = plain.text().await.unwrap();
    assert!(text.contains("export async function call"));
    assert!(
        packed_len * 2 < text.len(),
        "{packed_len} of {}",
        text.len()
    );
    let refused = get(&path, &[("accept-encoding", "gzip;q=0, identity")])
        .await
        .unwrap();
    assert!(refused.headers().get(header::CONTENT_ENCODING).is_none());
    let cached = get(&path, &[("if-none-match", &plain_tag)]).await.unwrap();
    assert_eq!(cached.status(), 304);

    // Without a version: still served, revalidated on each use. Another build's: not here.
    let bare = get("/console/api.js", &[]).await.unwrap();
    assert_eq!(bare.status(), 200);
    assert_eq!(bare.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(
        get("/console/0123456789ab/api.js", &[])
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        get(&format!("/console/{version}/index.html"), &[])
            .await
            .unwrap()
            .status(),
        404
    );
}
