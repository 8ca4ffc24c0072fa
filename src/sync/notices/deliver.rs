//! The background task of notifications: evaluates the causes (when woken, else every
//! `EVALUATE_EVERY`), then sends the queued deliveries that are due. A delivery is claimed
//! with one conditional update before it is sent, so two processes on one database never send
//! the same one; a process killed mid-send leaves a claim that expires, and the queue in the
//! database survives a restart.

use std::sync::Arc;
use std::time::Duration;

use actix_web::rt::{self, task::JoinHandle};
use chrono::NaiveDateTime;
use serde::Serialize;
use url::Url;

pub use super::outcome::Outcome;
use super::{evaluate, tickets, DeliveryAction, DeliveryStatus};
use crate::adapters::db::notices::{DeliveryRow, NoticeRow};
use crate::adapters::db::notification_channels::ChannelRow;
use crate::adapters::db::{self, utc};
use crate::adapters::metrics::NoticeGauges;
use crate::adapters::outbound::retry::RetryPolicy;
use crate::adapters::webhook::{WebhookClient, WebhookError, WebhookMessage};
use crate::domain::notices::{ChannelKind, NoticeDetail};
use crate::runtime::state::Core;
use crate::sync::SyncError;

const EVALUATE_EVERY: Duration = Duration::from_secs(30);
/// How often the queue is looked at without a wake-up (deliveries other processes queued).
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Long enough for one send with all its retries.
const CLAIM_FOR: chrono::Duration = chrono::Duration::minutes(2);
/// HTTP attempts over every pass before a delivery is given up.
const MAX_ATTEMPTS: i32 = 12;
const DUE_BATCH: i64 = 50;

/// The retries inside one pass (then the delivery waits in the queue for the next).
fn retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(300),
        max_delay: Duration::from_secs(5),
    }
}

/// The purpose a channel's secret is sealed for (a ciphertext cannot move to another channel).
pub fn secret_purpose(channel_id: &str) -> String {
    format!("notification_channel:{channel_id}")
}

pub fn spawn(state: Arc<Core>) -> JoinHandle<()> {
    rt::spawn(run(state))
}

async fn run(state: Arc<Core>) {
    let client = match WebhookClient::new(state.settings.outbound.clone(), retry_policy()) {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "notifications are off: no HTTP client");
            return;
        }
    };
    // A run that ended before a restart is evaluated at once.
    let mut evaluate_now = true;
    let mut last_evaluation = tokio::time::Instant::now();
    loop {
        if evaluate_now || last_evaluation.elapsed() >= EVALUATE_EVERY {
            let evaluated = db::run(&state.pool, evaluate).await;
            if let Err(e) = evaluated {
                tracing::warn!(error = %e, "could not evaluate the notices");
            }
            last_evaluation = tokio::time::Instant::now();
        }
        if let Err(e) = deliver_due(&state, &client).await {
            tracing::warn!(error = %e, "could not deliver the notices");
        }
        if let Err(e) = refresh_metrics(&state).await {
            tracing::warn!(error = %e, "could not read the notice gauges");
        }
        evaluate_now = tokio::select! {
            _ = state.notices_due.notified() => true,
            _ = rt::time::sleep(POLL_EVERY) => false,
        };
    }
}

async fn refresh_metrics(state: &Core) -> Result<(), SyncError> {
    let (open, failed) = db::run(&state.pool, |conn| {
        Ok::<_, SyncError>((
            db::notices::open_by_kind(conn)?,
            db::notices::failed_deliveries(conn)?,
        ))
    })
    .await?;
    let mut gauges = NoticeGauges::default();
    for (kind, count) in open {
        gauges.open_by_kind.insert(kind, count.max(0) as u64);
    }
    gauges.failed_deliveries = failed.max(0) as u64;
    *state.notice_gauges.lock().expect("gauges lock") = gauges;
    Ok(())
}

/// A claimed delivery with what sending it needs.
struct Claimed {
    delivery: DeliveryRow,
    notice: NoticeRow,
    channel: ChannelRow,
}

async fn deliver_due(state: &Core, client: &WebhookClient) -> Result<(), SyncError> {
    let claimed = db::run(&state.pool, |conn| {
        let now = db::now();
        let mut claimed = Vec::new();
        for delivery in db::notices::due(conn, now, DUE_BATCH)? {
            if db::notices::waits_for_earlier(conn, &delivery)?
                || !db::notices::claim(conn, &delivery.id, now, now + CLAIM_FOR)?
            {
                continue;
            }
            let notice = db::notices::find(conn, &delivery.notice_id)?;
            let channel = db::notification_channels::find(conn, &delivery.channel_id)?;
            if let (Some(notice), Some(channel)) = (notice, channel) {
                claimed.push(Claimed {
                    delivery,
                    notice,
                    channel,
                });
            }
        }
        Ok::<_, SyncError>(claimed)
    })
    .await?;
    for item in claimed {
        let started = std::time::Instant::now();
        let mut delivery = item.delivery.clone();
        let outcome = send(state, client, &item).await;
        settle(&mut delivery, outcome, db::now());
        tracing::info!(delivery = %delivery.id, notice = %item.notice.event_key,
            channel = %item.channel.name, status = %delivery.status,
            last_status = delivery.last_status.as_deref().unwrap_or(""),
            elapsed_ms = started.elapsed().as_millis() as u64, "notification delivery");
        db::run(&state.pool, move |conn| {
            Ok::<_, SyncError>(db::notices::record_attempts(conn, &delivery)?)
        })
        .await?;
    }
    Ok(())
}

/// The body a webhook receives (its delivery id and timestamp are also headers).
#[derive(Serialize)]
struct WebhookBody<'a> {
    delivery_id: &'a str,
    timestamp: i64,
    /// `notice.opened`, `notice.recurred`, `notice.resolved` or `test`.
    event: String,
    notice: NoticeBody<'a>,
}

#[derive(Serialize)]
struct NoticeBody<'a> {
    id: &'a str,
    key: &'a str,
    kind: &'a str,
    severity: &'a str,
    title: &'a str,
    #[serde(flatten)]
    detail: &'a NoticeDetail,
    occurrences: i32,
    opened_at: chrono::DateTime<chrono::Utc>,
    last_seen_at: chrono::DateTime<chrono::Utc>,
    resolved_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn send(state: &Core, client: &WebhookClient, item: &Claimed) -> Outcome {
    let action = DeliveryAction::parse(&item.delivery.action);
    match (ChannelKind::parse(&item.channel.kind), action) {
        (Some(ChannelKind::ConnectwiseTicket), Some(action)) => {
            tickets::deliver(state, &item.channel, action, &item.notice).await
        }
        (Some(ChannelKind::Webhook), Some(_)) => {
            let event = format!("notice.{}", item.delivery.action);
            let id = &item.delivery.id;
            send_to(state, client, &item.channel, id, event, &item.notice).await
        }
        _ => Outcome::Unusable("the channel or delivery is of an unknown kind".into()),
    }
}

/// Sends a `test` message to a channel now (a ticket channel opens and closes a ticket).
pub(crate) async fn test_channel(state: &Core, channel: &ChannelRow) -> Outcome {
    let notice = super::test_notice();
    if ChannelKind::parse(&channel.kind) == Some(ChannelKind::ConnectwiseTicket) {
        return tickets::test(state, channel, &notice).await;
    }
    match WebhookClient::new(state.settings.outbound.clone(), retry_policy()) {
        Ok(client) => {
            send_to(
                state,
                &client,
                channel,
                &db::new_id(),
                "test".into(),
                &notice,
            )
            .await
        }
        Err(e) => Outcome::Unusable(e.to_string()),
    }
}

async fn send_to(
    state: &Core,
    client: &WebhookClient,
    channel: &ChannelRow,
    delivery_id: &str,
    event: String,
    notice: &NoticeRow,
) -> Outcome {
    let url = channel.settings_json.0.get("url").and_then(|u| u.as_str());
    let Some(url) = url.and_then(|u| Url::parse(u).ok()) else {
        return Outcome::Unusable("the channel has no usable URL".into());
    };
    let secret = channel
        .secret_ciphertext
        .as_deref()
        .map(|sealed| state.secrets.open(&secret_purpose(&channel.id), sealed));
    let Some(Ok(secret)) = secret else {
        return Outcome::Unusable("the channel's secret cannot be read".into());
    };
    let timestamp = chrono::Utc::now().timestamp();
    let body = WebhookBody {
        delivery_id,
        timestamp,
        event,
        notice: NoticeBody {
            id: &notice.id,
            key: &notice.event_key,
            kind: &notice.kind,
            severity: &notice.severity,
            title: &notice.title,
            detail: &notice.detail_json.0,
            occurrences: notice.occurrences,
            opened_at: utc(notice.opened_at),
            last_seen_at: utc(notice.last_seen_at),
            resolved_at: notice.resolved_at.map(utc),
        },
    };
    let body = serde_json::to_vec(&body).expect("a notice serialises");
    let message = WebhookMessage {
        url: &url,
        secret: &secret,
        delivery_id,
        timestamp,
        body,
    };
    let sent = client.send(&message).await;
    let attempts = sent.attempts;
    match sent.result {
        Ok(code) => Outcome::Delivered {
            attempts,
            status: format!("HTTP {code}"),
        },
        Err(e) if retryable(&e) => Outcome::Retry {
            attempts,
            why: e.to_string(),
        },
        Err(e) => Outcome::Failed {
            attempts,
            why: e.to_string(),
        },
    }
}

/// The delivery after a pass: delivered, failed for good, or back in the queue with a backoff.
fn settle(delivery: &mut DeliveryRow, outcome: Outcome, now: NaiveDateTime) {
    let (status, last) = match outcome {
        Outcome::Unusable(why) => (DeliveryStatus::Failed, why),
        Outcome::Delivered { attempts, status } => {
            delivery.attempts += attempts as i32;
            delivery.delivered_at = Some(now);
            (DeliveryStatus::Delivered, status)
        }
        Outcome::Retry { attempts, why } => {
            delivery.attempts += attempts as i32;
            if delivery.attempts < MAX_ATTEMPTS {
                (DeliveryStatus::Pending, why)
            } else {
                (DeliveryStatus::Failed, why)
            }
        }
        Outcome::Failed { attempts, why } => {
            delivery.attempts += attempts as i32;
            (DeliveryStatus::Failed, why)
        }
    };
    if status == DeliveryStatus::Pending {
        // 10 s, 20 s, 40 s … up to 10 minutes between passes.
        let passes = (delivery.attempts / retry_policy().max_attempts as i32).clamp(1, 7);
        let wait = (10i64 << (passes - 1)).min(600);
        delivery.next_attempt_at = now + chrono::Duration::seconds(wait);
    }
    delivery.status = status.as_str().into();
    delivery.last_status = Some(last);
}

fn retryable(error: &WebhookError) -> bool {
    match error {
        WebhookError::Blocked(_) => false,
        WebhookError::Status(code) => *code == 429 || *code >= 500,
        WebhookError::Timeout | WebhookError::Connect => true,
    }
}
