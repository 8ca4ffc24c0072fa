//! Notification channels (admin): where notices go, which kinds, from which severity. The
//! webhook secret is write-only and sealed at rest; each change is audited (without it).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::db::json_text::JsonText;
use crate::adapters::db::notification_channels::ChannelRow;
use crate::adapters::db::{self, audit, audit::Actor, utc};
use crate::domain::notices::{ChannelKind, NoticeKind, Severity};
use crate::runtime::state::Core;
use crate::services::etag::{etag_of, IfMatch};
use crate::services::fields::{FromJsonBody, JsonFields, Patch};
use crate::services::ServiceError;
use crate::sync::notices::deliver::{secret_purpose, send_to_channel};

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
    /// Where a webhook posts.
    pub url: String,
    /// Whether a signing secret is stored (the secret itself is never shown).
    pub secret_set: bool,
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
    /// The receiver's `http(s)://` URL (the outbound allow-list applies).
    #[schema(
        min_length = 1,
        max_length = 2000,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[^/?#]"
    )]
    pub url: String,
    /// Write-only HMAC-SHA256 signing secret, 16 to 200 characters. Required on create; on
    /// replace, omitted keeps the stored one (a webhook always has one, so `null` is refused).
    #[schema(min_length = 16, max_length = 200)]
    pub secret: Option<String>,
}

/// A validated body.
pub struct ChannelUpdate {
    name: String,
    kind: ChannelKind,
    enabled: bool,
    event_kinds: Vec<NoticeKind>,
    min_severity: Severity,
    url: String,
    secret: Patch<String>,
}

impl FromJsonBody for ChannelUpdate {
    fn from_json(f: &mut JsonFields) -> Option<Self> {
        let name = f.required::<String>("name").map(|n| n.trim().to_string());
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
        let url = f.required::<String>("url").map(|u| u.trim().to_string());
        if let Some(u) = &url {
            let parsed = url::Url::parse(u);
            let web = parsed
                .as_ref()
                .is_ok_and(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some());
            if !web || u.len() > 2000 {
                f.error(
                    "url",
                    "must be an http:// or https:// URL of at most 2000 characters",
                );
            }
        }
        let secret = f.patch::<String>("secret");
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
        Some(ChannelUpdate {
            name: name?,
            kind: kind?,
            enabled,
            event_kinds,
            min_severity,
            url: url?,
            secret,
        })
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
        url: row.settings_json.0["url"]
            .as_str()
            .unwrap_or_default()
            .into(),
        secret_set: row.secret_ciphertext.is_some(),
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
            let secret_ciphertext = match (&input.secret, &stored) {
                (Patch::Value(secret), _) => {
                    Some(secrets.seal(&secret_purpose(&id), secret.as_bytes()))
                }
                (_, Some(s)) => s.secret_ciphertext.clone(),
                (_, None) => {
                    return Err(ServiceError::validation("secret", "is required"));
                }
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
                settings_json: JsonText(serde_json::json!({"url": input.url})),
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

/// Sends a `test` message now, through the same signing, allow-list and retries as notices.
pub async fn test(ctx: &Core, id: String) -> Result<ChannelTestResult, ServiceError> {
    let channel = db::run(&ctx.pool, move |conn| find(conn, &id)).await?;
    let notice = crate::sync::notices::test_notice();
    let sent = send_to_channel(ctx, &channel, "test", &notice)
        .await
        .map_err(|why| ServiceError::Conflict(format!("The channel cannot be used: {why}.")))?;
    Ok(match sent.result {
        Ok(code) => ChannelTestResult {
            delivered: true,
            attempts: sent.attempts,
            last_status: format!("HTTP {code}"),
        },
        Err(e) => ChannelTestResult {
            delivered: false,
            attempts: sent.attempts,
            last_status: e.to_string(),
        },
    })
}
