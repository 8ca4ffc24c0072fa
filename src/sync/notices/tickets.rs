//! The ConnectWise ticket channel: a notice opens one ticket on the configured board, a
//! recurrence adds a note to it, its resolution adds a closing note and sets the closed status.
//! The ticket carries the notice and channel in `externalXRef`, so a ticket whose creation
//! answer was lost (a timeout, a process killed mid-call) is found again, never opened twice.

use crate::adapters::connectwise::{
    Conditions, ConnectWiseClient, ConnectWiseError, NewTicket, NewTicketNote, Reference,
};
use crate::adapters::db::notices::NoticeRow;
use crate::adapters::db::notification_channels::ChannelRow;
use crate::adapters::db::{self, utc};
use crate::domain::notices::{RecordRef, TicketSettings};
use crate::runtime::clients::shared_connectwise;
use crate::runtime::state::Core;
use crate::sync::SyncError;

use super::outcome::Outcome;
use super::DeliveryAction;

/// ConnectWise's limit on a ticket summary.
const SUMMARY_MAX: usize = 100;

/// Why a ticket step did not happen: worth another pass later, or not.
enum Problem {
    Retry(String),
    Fail(String),
}

impl From<ConnectWiseError> for Problem {
    fn from(e: ConnectWiseError) -> Self {
        match e {
            ConnectWiseError::InvalidConfig(_)
            | ConnectWiseError::NotFound { .. }
            | ConnectWiseError::Validation { .. }
            | ConnectWiseError::OutboundBlocked(_) => Problem::Fail(e.to_string()),
            _ => Problem::Retry(e.to_string()),
        }
    }
}

impl From<SyncError> for Problem {
    fn from(e: SyncError) -> Self {
        Problem::Retry(e.to_string())
    }
}

/// One pass of a delivery to a ticket channel.
pub(super) async fn deliver(
    state: &Core,
    channel: &ChannelRow,
    action: DeliveryAction,
    notice: &NoticeRow,
) -> Outcome {
    let result = async {
        let desk = Desk::new(state, channel, notice).await?;
        desk.handle(action).await
    }
    .await;
    outcome(result, true)
}

/// A channel test: opens a ticket and closes it again at once.
pub(crate) async fn test(state: &Core, channel: &ChannelRow, notice: &NoticeRow) -> Outcome {
    let result = async {
        let desk = Desk::new(state, channel, notice).await?;
        let id = desk.open(&format!("kmb:test:{}", notice.id)).await?;
        desk.close(id).await?;
        Ok::<_, Problem>(format!("ticket #{id} opened and closed"))
    }
    .await;
    outcome(result, false)
}

/// One pass's result as a delivery outcome; a test is never tried again (`may_retry` false).
fn outcome(result: Result<String, Problem>, may_retry: bool) -> Outcome {
    match result {
        Ok(status) => Outcome::Delivered {
            attempts: 1,
            status,
        },
        Err(Problem::Retry(why)) if may_retry => Outcome::Retry { attempts: 1, why },
        Err(Problem::Retry(why) | Problem::Fail(why)) => Outcome::Failed { attempts: 1, why },
    }
}

/// One notice's business with one ticket channel.
struct Desk<'a> {
    state: &'a Core,
    client: ConnectWiseClient,
    settings: TicketSettings,
    channel: &'a ChannelRow,
    notice: &'a NoticeRow,
}

impl<'a> Desk<'a> {
    /// With the channel's settings and the shared ConnectWise client.
    async fn new(
        state: &'a Core,
        channel: &'a ChannelRow,
        notice: &'a NoticeRow,
    ) -> Result<Desk<'a>, Problem> {
        let settings = channel
            .ticket_settings()
            .ok_or_else(|| Problem::Fail("the channel's ticket settings cannot be read".into()))?;
        let client = shared_connectwise(state)
            .await
            .map_err(|e| Problem::Retry(format!("no ConnectWise connection: {e}")))?;
        Ok(Desk {
            state,
            client,
            settings,
            channel,
            notice,
        })
    }

    async fn handle(&self, action: DeliveryAction) -> Result<String, Problem> {
        match action {
            DeliveryAction::Opened => {
                let id = self.ensure_ticket().await?;
                Ok(format!("ticket #{id}"))
            }
            DeliveryAction::Recurred => {
                // Opened here if the opening never got through, so the recurrence is seen.
                let id = self.ensure_ticket().await?;
                let text = format!(
                    "Seen again ({} times since {}): {}",
                    self.notice.occurrences,
                    utc(self.notice.opened_at).format("%Y-%m-%d %H:%M UTC"),
                    self.description()
                );
                self.client.add_ticket_note(id, &detail_note(text)).await?;
                Ok(format!("note on ticket #{id}"))
            }
            DeliveryAction::Resolved => match self.known_ticket().await? {
                None => Ok("no ticket to close".into()),
                Some(id) => self.close(id).await.map(|s| s.to_string()),
            },
        }
    }

    /// `kmb:<notice>:<channel>`: at most 100 characters, as ConnectWise allows.
    fn external_ref(&self) -> String {
        format!("kmb:{}:{}", self.notice.id, self.channel.id)
    }

    /// The ticket this channel opened for the notice: as recorded, else as ConnectWise finds
    /// it by its reference (then recorded).
    async fn known_ticket(&self) -> Result<Option<i64>, Problem> {
        let (notice_id, channel_id) = (self.notice.id.clone(), self.channel.id.clone());
        let stored = db::run(&self.state.pool, move |conn| {
            Ok::<_, SyncError>(db::notices::ticket_of(conn, &notice_id, &channel_id)?)
        })
        .await?;
        if stored.is_some() {
            return Ok(stored);
        }
        let found = match self.client.find_ticket_by_ref(&self.external_ref()).await {
            Ok(found) => found,
            // A ConnectWise that cannot filter on the reference: no second chance to find a
            // lost ticket there, but the notice still gets its ticket.
            Err(e @ ConnectWiseError::Validation { .. }) => {
                tracing::warn!(error = %e, "tickets cannot be looked up by externalXRef");
                None
            }
            Err(e) => return Err(e.into()),
        };
        match found.and_then(|t| t.id) {
            Some(id) => {
                self.record(id).await?;
                Ok(Some(id))
            }
            None => Ok(None),
        }
    }

    async fn ensure_ticket(&self) -> Result<i64, Problem> {
        if let Some(id) = self.known_ticket().await? {
            return Ok(id);
        }
        let id = self.open(&self.external_ref()).await?;
        self.record(id).await?;
        Ok(id)
    }

    async fn record(&self, ticket_id: i64) -> Result<(), Problem> {
        let (notice_id, channel_id) = (self.notice.id.clone(), self.channel.id.clone());
        db::run(&self.state.pool, move |conn| {
            Ok::<_, SyncError>(db::notices::record_ticket(
                conn,
                &notice_id,
                &channel_id,
                ticket_id,
                db::now(),
            )?)
        })
        .await?;
        Ok(())
    }

    async fn open(&self, external_ref: &str) -> Result<i64, Problem> {
        let settings = &self.settings;
        let board = self.client.find_board(&reference(&settings.board)).await?;
        let Some(board_id) = board.and_then(|b| b.id) else {
            return Err(Problem::Fail(format!(
                "ConnectWise has no service board {}",
                describe(&settings.board)
            )));
        };
        let company_ids = &self.notice.detail_json.0.company_ids;
        let company = match company_ids.as_slice() {
            [one] if settings.on_affected_company => Reference::id(*one),
            _ => self.own_company().await?,
        };
        let statuses = format!("service/boards/{board_id}/statuses");
        let types = format!("service/boards/{board_id}/types");
        let ticket = NewTicket {
            summary: self.notice.title.chars().take(SUMMARY_MAX).collect(),
            board: Reference::id(board_id),
            company,
            status: self.look_up(&statuses, settings.status.as_ref()).await?,
            priority: self
                .look_up("service/priorities", settings.priority.as_ref())
                .await?,
            kind: self.look_up(&types, settings.ticket_type.as_ref()).await?,
            initial_description: Some(self.description()),
            external_x_ref: Some(external_ref.into()),
        };
        let created = self.client.create_ticket(&ticket).await?;
        created
            .id
            .ok_or_else(|| Problem::Retry("ConnectWise answered without a ticket id".into()))
    }

    /// The configured company as a reference by id: one given by identifier is looked up.
    async fn own_company(&self) -> Result<Reference, Problem> {
        let given = &self.settings.company;
        let Some(identifier) = given.identifier.as_deref().filter(|_| given.id.is_none()) else {
            return Ok(reference(given));
        };
        let by_identifier = Conditions::eq("identifier", identifier);
        let found = self.client.list_companies(Some(&by_identifier)).await?;
        match found.into_iter().find_map(|c| c.id) {
            Some(id) => Ok(Reference::id(id)),
            None => Err(Problem::Fail(format!(
                "ConnectWise has no company with the identifier {identifier:?}"
            ))),
        }
    }

    /// A record given by name, as its id from the `list` it is in; a name the list does not
    /// have is a problem of the settings. A ConnectWise without that list (404) gets the name,
    /// which ConnectWise also accepts in a reference.
    async fn look_up(
        &self,
        list: &str,
        given: Option<&RecordRef>,
    ) -> Result<Option<Reference>, Problem> {
        let Some(given) = given else {
            return Ok(None);
        };
        let (Some(name), None) = (&given.name, given.id) else {
            return Ok(Some(reference(given)));
        };
        match self.client.find_named(list, name).await {
            Ok(Some(id)) => Ok(Some(Reference::id(id))),
            Ok(None) => Err(Problem::Fail(format!(
                "ConnectWise has nothing named {name:?} in {list}"
            ))),
            Err(ConnectWiseError::NotFound { .. }) => Ok(Some(reference(given))),
            Err(e) => Err(e.into()),
        }
    }

    /// A closing note and the closed status, unless the ticket is closed already.
    async fn close(&self, id: i64) -> Result<&'static str, Problem> {
        let ticket = self.client.get_ticket(id).await?;
        if ticket.closed_flag == Some(true) {
            return Ok("ticket was closed already");
        }
        let board_id = ticket.board.and_then(|b| b.id).unwrap_or_default();
        let statuses = format!("service/boards/{board_id}/statuses");
        let closed = self
            .look_up(&statuses, Some(&self.settings.closed_status))
            .await?
            .unwrap_or_else(|| reference(&self.settings.closed_status));
        let text = match self.notice.resolved_at {
            Some(at) => format!(
                "Resolved: the cause is gone since {}. Closed by kaspersky-msp-bridge.",
                utc(at).format("%Y-%m-%d %H:%M UTC")
            ),
            None => "Closed by kaspersky-msp-bridge.".into(),
        };
        let note = NewTicketNote {
            text,
            resolution_flag: true,
            ..NewTicketNote::default()
        };
        self.client.add_ticket_note(id, &note).await?;
        self.client.set_ticket_status(id, &closed).await?;
        Ok("ticket closed")
    }

    /// What the notice says, for the ticket's description and notes.
    fn description(&self) -> String {
        let detail = &self.notice.detail_json.0;
        let mut text = detail.summary.clone();
        let mut line = |label: &str, value: String| {
            if !value.is_empty() {
                text.push_str(&format!("\n{label}: {value}"));
            }
        };
        line("Tenants", detail.tenants.join(", "));
        line("Companies", detail.companies.join(", "));
        line(
            "Monthly billing at stake",
            detail
                .money_at_stake
                .map(|m| m.to_string())
                .unwrap_or_default(),
        );
        line("Resolve it in the console at", detail.link.clone());
        line(
            "Notice",
            format!("{} ({})", self.notice.event_key, self.notice.severity),
        );
        text
    }
}

fn detail_note(text: String) -> NewTicketNote {
    NewTicketNote {
        text,
        detail_description_flag: true,
        ..NewTicketNote::default()
    }
}

fn reference(r: &RecordRef) -> Reference {
    Reference {
        id: r.id,
        identifier: r.identifier.clone(),
        name: r.name.clone(),
    }
}

fn describe(r: &RecordRef) -> String {
    match (&r.name, r.id) {
        (Some(name), _) => format!("named {name:?}"),
        (None, Some(id)) => format!("with id {id}"),
        _ => "as configured".into(),
    }
}
