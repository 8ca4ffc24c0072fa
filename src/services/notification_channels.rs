//! Notification channels (admin): where notices go, which kinds, from which severity. The
//! webhook secret is write-only and sealed at rest; each change is audited (without it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::db::json_text::JsonText;
use crate::adapters::db::notification_channels::ChannelRow;
use crate::adapters::db::{self, audit, audit::Actor, utc};
use crate::domain::notices::{ChannelKind, NoticeKind, Severity, TicketSettings};
use crate::domain::validation::trim_blank;
use crate::runtime::state::Core;
use crate::services::etag::{etag_of, IfMatch};
use crate::services::fields::{FromJsonBody, JsonFields, Patch};
use crate::services::ServiceError;
use crate::sync::notices::deliver::{secret_purpose, test_channel, Outcome};

const LOCK: &str = "notification_channels";

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationChannel {
    pub id: String,
    pub name: String,
    pub kind: ChannelKind,
    pub enabled: bool,
    /// The notice kinds sent; empty = every kind.
    pub event_kinds: Vec<NoticeKind>,
    /// Notices less severe than this are not sent.
    pub min_severity: Severity,
    /// Where a webhook posts (webhook channels).
    pub url: Option<String>,
    /// Whether a signing secret is stored (the secret itself is never shown).
    pub secret_set: bool,
    /// Where a ticket channel opens its tickets (ConnectWise ticket channels).
    pub ticket: Option<TicketSettings>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A channel to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Billing team", "kind": "webhook", "enabled": true,
    "event_kinds": ["run_outcome", "held_lines"], "min_severity": "warning",
    "url": "https://hooks.example.com/bridge", "secret": "a-long-random-signing-secret"}))]
pub struct NotificationChannelInput {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    pub kind: ChannelKind,
    /// Default true.
    pub enabled: Option<bool>,
    /// Default: every kind.
    pub event_kinds: Option<Vec<NoticeKind>>,
    /// Default `info` (everything).
    pub min_severity: Option<Severity>,
    /// Webhook channels: the receiver's `http(s)://` URL (the outbound allow-list applies).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]"
    )]
    pub url: Option<String>,
    /// Webhook channels: write-only HMAC-SHA256 signing secret, 16 to 200 characters. Required
    /// on create; on replace, omitted keeps the stored one (`null` is refused).
    #[schema(min_length = 16, max_length = 200)]
    pub secret: Option<String>,
    /// ConnectWise ticket channels: board, statuses, priority, type and company of the tickets.
    pub ticket: Option<TicketSettings>,
}

/// Where a channel delivers, as its kind needs.
enum Target {
    Webhook { url: String, secret: Patch<String> },
    Ticket(Box<TicketSettings>),
}

/// A validated body.
pub struct ChannelUpdate {
    name: String,
    kind: ChannelKind,
    enabled: bool,
    event_kinds: Vec<NoticeKind>,
    min_severity: Severity,
    target: Target,
}

impl FromJsonBody for ChannelUpdate {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let name = f
            .required::<String>("name")
            .map(|n| trim_blank(&n).to_string());
        if name
            .as_ref()
            .is_some_and(|n| n.is_empty() || n.chars().count() > 100)
        {
            f.error("name", "must be 1 to 100 characters");
        }
        let kind = f.required::<ChannelKind>("kind");
        let enabled = f.absent_or::<bool>("enabled").unwrap_or(true);
        let event_kinds = f
            .absent_or::<Vec<NoticeKind>>("event_kinds")
            .unwrap_or_default();
        let min_severity = f
            .absent_or::<Severity>("min_severity")
            .unwrap_or(Severity::Info);
        let url = f.absent_or::<String>("url").map(|u| u.trim().to_string());
        let secret = f.patch::<String>("secret");
        let ticket = f.absent_or::<serde_json::Value>("ticket");
        let target = match kind {
            Some(ChannelKind::ConnectwiseTicket) => {
                ticket_target(f, url.is_some(), !matches!(secret, Patch::Absent), ticket)
            }
            // An unknown kind still gets its webhook fields checked, so one 422 says it all.
            _ => webhook_target(f, url, secret, kind.is_some() && ticket.is_some()),
        };
        Some(ChannelUpdate {
            name: name?,
            kind: kind?,
            enabled,
            event_kinds,
            min_severity,
            target: target?,
        })
    }
}

fn webhook_target(
    f: &mut JsonFields,
    url: Option<String>,
    secret: Patch<String>,
    has_ticket: bool,
) -> Option<Target> {
    if has_ticket {
        f.error("ticket", "is for connectwise_ticket channels only");
    }
    let Some(url) = url else {
        f.error("url", "a webhook channel needs its receiver's URL");
        return None;
    };
    let parsed = url::Url::parse(&url);
    let web = parsed
        .as_ref()
        .is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
    if !web || url.len() > 2000 {
        f.error(
            "url",
            "must be an http:// or https:// URL of at most 2000 characters",
        );
    }
    match &secret {
        Patch::Value(s) if !(16..=200).contains(&s.chars().count()) => {
            f.error("secret", "must be 16 to 200 characters")
        }
        Patch::Null => f.error(
            "secret",
            "a webhook needs a secret: leave it out to keep it",
        ),
        _ => {}
    }
    Some(Target::Webhook { url, secret })
}

fn ticket_target(
    f: &mut JsonFields,
    has_url: bool,
    has_secret: bool,
    ticket: Option<serde_json::Value>,
) -> Option<Target> {
    if has_url {
        f.error("url", "is for webhook channels only");
    }
    if has_secret {
        f.error("secret", "is for webhook channels only");
    }
    let Some(ticket) = ticket else {
        f.error(
            "ticket",
            "a ConnectWise ticket channel needs its board, closed_status and company",
        );
        return None;
    };
    match serde_json::from_value::<TicketSettings>(ticket) {
        Ok(settings) => {
            for (field, message) in settings.problems() {
                f.error(&field, message);
            }
            Some(Target::Ticket(Box::new(settings)))
        }
        Err(e) => {
            f.error(
                "ticket",
                format!(
                    "must be an object with board, closed_status and company, each \
                     {{\"id\": …}} or {{\"name\": …}} (a company {{\"identifier\": …}}): {e}"
                ),
            );
            None
        }
    }
}

pub fn view(row: &ChannelRow) -> NotificationChannel {
    NotificationChannel {
        id: row.id.clone(),
        name: row.name.clone(),
        kind: ChannelKind::parse(&row.kind).unwrap_or(ChannelKind::Webhook),
        enabled: row.enabled,
        event_kinds: row
            .event_kinds_json
            .0
            .iter()
            .filter_map(|k| NoticeKind::parse(k))
            .collect(),
        min_severity: Severity::parse(&row.min_severity).unwrap_or(Severity::Info),
        url: row.settings_json.0["url"].as_str().map(String::from),
        secret_set: row.secret_ciphertext.is_some(),
        ticket: row.ticket_settings(),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
    }
}

pub async fn list(ctx: &Core) -> Result<Vec<NotificationChannel>, ServiceError> {
    db::run(&ctx.pool, |conn| {
        Ok(db::notification_channels::all(conn)?
            .iter()
            .map(view)
            .collect())
    })
    .await
}

pub async fn get(ctx: &Core, id: String) -> Result<NotificationChannel, ServiceError> {
    let row = db::run(&ctx.pool, move |conn| find(conn, &id)).await?;
    Ok(view(&row))
}

fn find(conn: &mut db::DbConnection, id: &str) -> Result<ChannelRow, ServiceError> {
    db::notification_channels::find(conn, id)?
        .ok_or_else(|| ServiceError::NotFound(format!("There is no notification channel {id}.")))
}

/// Creates (`id` none) or replaces a channel, with `If-Match` checked against the stored one.
pub async fn save(
    ctx: &Core,
    actor: Actor,
    id: Option<String>,
    if_match: IfMatch,
    input: ChannelUpdate,
) -> Result<NotificationChannel, ServiceError> {
    let secrets = ctx.secrets.clone();
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, LOCK, |conn| {
            let stored = match &id {
                Some(id) => Some(find(conn, id)?),
                None => None,
            };
            if_match.check_current(stored.as_ref().map(|s| etag_of(&view(s))).as_deref())?;
            let now = db::now();
            let id = id.unwrap_or_else(db::new_id);
            let (settings_json, secret_ciphertext) = match &input.target {
                Target::Webhook { url, secret } => {
                    let sealed = match (secret, &stored) {
                        (Patch::Value(secret), _) => {
                            Some(secrets.seal(&secret_purpose(&id), secret.as_bytes()))
                        }
                        (_, Some(s)) if s.secret_ciphertext.is_some() => {
                            s.secret_ciphertext.clone()
                        }
                        _ => return Err(ServiceError::validation("secret", "is required")),
                    };
                    (serde_json::json!({ "url": url }), sealed)
                }
                Target::Ticket(ticket) => (serde_json::json!({ "ticket": ticket }), None),
            };
            let row = ChannelRow {
                id: id.clone(),
                name: input.name,
                kind: input.kind.as_str().into(),
                enabled: input.enabled,
                event_kinds_json: JsonText(
                    input
                        .event_kinds
                        .iter()
                        .map(|k| k.as_str().into())
                        .collect(),
                ),
                min_severity: input.min_severity.as_str().into(),
                settings_json: JsonText(settings_json),
                secret_ciphertext,
                created_at: stored.as_ref().map_or(now, |s| s.created_at),
                updated_at: now,
            };
            let written = match &stored {
                Some(_) => db::notification_channels::update(conn, &row),
                None => db::notification_channels::insert(conn, &row),
            };
            written.map_err(|e| {
                if db::is_unique_violation(&e) {
                    ServiceError::Conflict(format!(
                        "A notification channel is named {} already.",
                        row.name
                    ))
                } else {
                    e.into()
                }
            })?;
            let action = if stored.is_some() { "update" } else { "create" };
            let before = stored.as_ref().map(|s| serde_json::json!(view(s)));
            let after = Some(serde_json::json!(view(&row)));
            audit::record(
                conn,
                &actor,
                action,
                "notification_channel",
                &id,
                before,
                after,
            )?;
            Ok(view(&row))
        })
    })
    .await
}

pub async fn delete(
    ctx: &Core,
    actor: Actor,
    id: String,
    if_match: IfMatch,
) -> Result<(), ServiceError> {
    db::run(&ctx.pool, move |conn| {
        db::write_transaction(conn, LOCK, |conn| {
            let stored = find(conn, &id)?;
            if_match.check(&etag_of(&view(&stored)))?;
            db::notification_channels::delete(conn, &id)?;
            let before = Some(serde_json::json!(view(&stored)));
            audit::record(
                conn,
                &actor,
                "delete",
                "notification_channel",
                &id,
                before,
                None,
            )?;
            Ok(())
        })
    })
    .await
}

/// What a test message came to.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelTestResult {
    /// The receiver accepted it (2xx).
    pub delivered: bool,
    /// HTTP attempts made (retries included).
    pub attempts: u32,
    /// `HTTP 200`, or why it failed.
    pub last_status: String,
}

/// Sends a `test` message now, through the same signing, allow-list and retries as notices
/// (a ticket channel opens a ticket on its board and closes it again).
pub async fn test(ctx: &Core, id: String) -> Result<ChannelTestResult, ServiceError> {
    let channel = db::run(&ctx.pool, move |conn| find(conn, &id)).await?;
    Ok(match test_channel(ctx, &channel).await {
        Outcome::Delivered { attempts, status } => ChannelTestResult {
            delivered: true,
            attempts,
            last_status: status,
        },
        Outcome::Retry { attempts, why } | Outcome::Failed { attempts, why } => ChannelTestResult {
            delivered: false,
            attempts,
            last_status: why,
        },
        Outcome::Unusable(why) => {
            return Err(ServiceError::Conflict(format!(
                "The channel cannot be used: {why}."
            )))
        }
    })
}
