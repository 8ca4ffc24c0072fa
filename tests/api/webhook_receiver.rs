//! A webhook receiver for the notification tests, on 127.0.0.1 only: it records every request
//! (headers and raw body), answers 503 to the first `fail_first` ones, and verifies signatures
//! with its own HMAC-SHA256 (not the server's code).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Hit {
    pub signature: String,
    pub delivery: String,
    pub timestamp: String,
    pub body: Vec<u8>,
    pub at: Instant,
    /// What the receiver answered.
    pub answered: u16,
}

impl Hit {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The signature header is HMAC-SHA256 of the raw body under `secret`.
    pub fn signed_with(&self, secret: &str) -> bool {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret.as_bytes());
        let hex = self.signature.strip_prefix("sha256=").unwrap_or_default();
        let Ok(tag) = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<Vec<u8>, _>>()
        else {
            return false;
        };
        aws_lc_rs::hmac::verify(&key, &self.body, &tag).is_ok()
    }
}

#[derive(Clone)]
struct Shared {
    hits: Arc<Mutex<Vec<Hit>>>,
    fail_first: Arc<AtomicUsize>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
}

impl Receiver {
    pub fn start(fail_first: usize) -> Receiver {
        let shared = Shared {
            hits: Arc::default(),
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
        };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let data = web::Data::new(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        actix_web::rt::spawn(server);
        Receiver { url, shared }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }

    /// The accepted messages (2xx) with this `event`.
    pub fn accepted(&self, event: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| h.answered == 200 && h.json()["event"] == event)
            .collect()
    }
}

fn header(req: &HttpRequest, name: &str) -> String {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let fail = shared
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    let answered = if fail { 503 } else { 200 };
    shared.hits.lock().unwrap().push(Hit {
        signature: header(&req, "x-bridge-signature"),
        delivery: header(&req, "x-bridge-delivery"),
        timestamp: header(&req, "x-bridge-timestamp"),
        body: body.to_vec(),
        at: Instant::now(),
        answered,
    });
    if fail {
        HttpResponse::ServiceUnavailable().finish()
    } else {
        HttpResponse::Ok().finish()
    }
}
