//! The service desk part the bridge uses for notices (issue 25): boards to look up, tickets to
//! open, note and close. Tickets carry an `externalXRef`, so a ticket whose creation answer was
//! lost is found again instead of opened twice.

use serde::{Deserialize, Serialize};
use serde_with::skip_serializing_none;

use super::client::ConnectWiseClient;
use super::error::ConnectWiseError;
use super::models::{PatchOperation, Reference};
use super::Conditions;

type Result<T, E = ConnectWiseError> = std::result::Result<T, E>;

/// `GET service/boards`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Board {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub inactive_flag: Option<bool>,
}

/// A service ticket as read.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    pub id: Option<i64>,
    pub summary: Option<String>,
    pub board: Option<Reference>,
    pub status: Option<Reference>,
    pub company: Option<Reference>,
    pub closed_flag: Option<bool>,
    #[serde(rename = "externalXRef")]
    pub external_x_ref: Option<String>,
}

/// `POST service/tickets`.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTicket {
    /// At most 100 characters.
    pub summary: String,
    pub board: Reference,
    pub company: Reference,
    pub status: Option<Reference>,
    pub priority: Option<Reference>,
    #[serde(rename = "type")]
    pub kind: Option<Reference>,
    pub initial_description: Option<String>,
    #[serde(rename = "externalXRef")]
    pub external_x_ref: Option<String>,
}

/// `POST service/tickets/{id}/notes`: one of the three flags must be set.
#[skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewTicketNote {
    pub text: String,
    pub detail_description_flag: bool,
    pub internal_analysis_flag: bool,
    pub resolution_flag: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TicketNote {
    pub id: Option<i64>,
    pub ticket_id: Option<i64>,
    pub text: Option<String>,
}

impl ConnectWiseClient {
    /// The board a reference names (by id, else by name); none when there is no such board.
    pub async fn find_board(&self, board: &Reference) -> Result<Option<Board>> {
        let conditions = match (board.id, &board.name) {
            (Some(id), _) => Conditions::eq("id", id),
            (None, Some(name)) => Conditions::eq("name", name.as_str()),
            (None, None) => return Ok(None),
        };
        let boards: Vec<Board> = self.list_all("service/boards", Some(&conditions)).await?;
        Ok(boards.into_iter().next())
    }

    /// The id of the record named `name` in a list (`service/boards/7/statuses`,
    /// `service/priorities`); none when the list has no such name.
    pub async fn find_named(&self, list: &str, name: &str) -> Result<Option<i64>> {
        let conditions = Conditions::eq("name", name);
        let found: Vec<Reference> = self.list_all(list, Some(&conditions)).await?;
        Ok(found.into_iter().find_map(|r| r.id))
    }

    /// The ticket carrying this `externalXRef`, oldest first.
    pub async fn find_ticket_by_ref(&self, external_ref: &str) -> Result<Option<Ticket>> {
        let conditions = Conditions::eq("externalXRef", external_ref);
        let tickets: Vec<Ticket> = self.list_all("service/tickets", Some(&conditions)).await?;
        Ok(tickets.into_iter().min_by_key(|t| t.id))
    }

    pub async fn get_ticket(&self, id: i64) -> Result<Ticket> {
        self.get_json(&format!("service/tickets/{id}")).await
    }

    /// Never repeated once it may have reached ConnectWise (an unknown outcome is
    /// [`ConnectWiseError::OutcomeUnknown`]): look the ticket up by its reference instead.
    pub async fn create_ticket(&self, ticket: &NewTicket) -> Result<Ticket> {
        self.send_json(reqwest::Method::POST, "service/tickets", ticket)
            .await
    }

    pub async fn add_ticket_note(
        &self,
        ticket_id: i64,
        note: &NewTicketNote,
    ) -> Result<TicketNote> {
        let path = format!("service/tickets/{ticket_id}/notes");
        self.send_json(reqwest::Method::POST, &path, note).await
    }

    pub async fn set_ticket_status(&self, ticket_id: i64, status: &Reference) -> Result<Ticket> {
        let path = format!("service/tickets/{ticket_id}");
        let operations = [PatchOperation::replace("status", status)];
        self.send_json(reqwest::Method::PATCH, &path, &operations[..])
            .await
    }
}
