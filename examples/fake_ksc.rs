//! Runs the fake KSC server (HTTPS, demo data) until killed, after printing one JSON line:
//! `{"url", "http_url", "user", "password", "vservers", "ca_pem_path"}`.
//! Usage: `cargo run --example fake_ksc -- <directory for the CA PEM>`

use kaspersky_msp_bridge::cli::sandbox::fake_ksc::{
    demo, FakeKsc, FakeKscOptions, DEMO_PASSWORD, DEMO_USER,
};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let directory = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let data = demo();
    let vservers: Vec<&str> = data.vservers.iter().map(|vs| vs.name.as_str()).collect();
    let vservers = serde_json::json!(vservers);
    let fake = FakeKsc::start(FakeKscOptions::new(data))?;
    let ca_pem_path = directory.join("fake-ksc-ca.pem");
    std::fs::write(&ca_pem_path, fake.ca_pem())?;
    let line = serde_json::json!({
        "url": fake.https_url(),
        "http_url": fake.base_url(),
        "user": DEMO_USER,
        "password": DEMO_PASSWORD,
        "vservers": vservers,
        "ca_pem_path": ca_pem_path,
    });
    println!("{line}");
    std::future::pending::<()>().await;
    Ok(())
}
