//! `healthcheck`: the container's HEALTHCHECK, with no curl in the image.

use std::net::SocketAddr;
use std::time::Duration;

use crate::adapters::outbound::{build_http_client, HttpClientOptions};

/// GET /healthz of the server listening on `bind`; exit code 0 when it answers 200, else 1.
pub async fn run(bind: SocketAddr) -> u8 {
    let url = format!("http://{}/healthz", super::reachable(bind));
    let options = HttpClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        ..HttpClientOptions::default()
    };
    let answer = match build_http_client(&options) {
        Ok(client) => client.get(&url).send().await.map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    match answer {
        Ok(response) if response.status().is_success() => {
            println!("healthy: {url}");
            0
        }
        Ok(response) => {
            eprintln!("unhealthy: {url} answered {}", response.status());
            1
        }
        Err(e) => {
            eprintln!("unhealthy: {url}: {e:#}");
            1
        }
    }
}
