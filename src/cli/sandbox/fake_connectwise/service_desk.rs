//! The service desk of the fake: boards with their statuses and types, priorities, tickets and
//! their notes, as strict as ConnectWise about what a ticket needs (a summary of at most 100
//! characters, a board and company that exist, a status and type of that board, a note with
//! one of its three flags) and deriving `closedFlag` from the status, as ConnectWise does.

use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use actix_web::{Handler, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::http::{json_body, list_of, rejection_response, reply, write, ListQuery};
use super::route::{
    BOARD, BOARDS, BOARD_STATUSES, BOARD_TYPES, PRIORITIES, TICKET, TICKETS, TICKET_NOTES,
};
use super::store::{invalid, not_found, now_stamp, Collection, Rejection, Store};
use super::Shared;
use crate::adapters::connectwise::{ApiFieldError, PatchOp, PatchOperation};

const SUMMARY_MAX: usize = 100;
const EXTERNAL_REF_MAX: usize = 100;

pub(super) fn routes(config: &mut web::ServiceConfig) {
    let board_of = |r: &Value| r["board"]["id"].as_i64();
    let ticket_of = |r: &Value| r["ticketId"].as_i64();
    config
        .route(BOARDS, web::get().to(whole(Collection::Boards)))
        .route(BOARD, web::get().to(one(Collection::Boards, "Board")))
        .route(
            BOARD_STATUSES,
            web::get().to(children(Collection::BoardStatuses, BOARD_RECORD, board_of)),
        )
        .route(
            BOARD_TYPES,
            web::get().to(children(Collection::BoardTypes, BOARD_RECORD, board_of)),
        )
        .route(PRIORITIES, web::get().to(whole(Collection::Priorities)))
        .route(TICKETS, web::get().to(whole(Collection::Tickets)))
        .route(TICKETS, web::post().to(create_ticket))
        .route(TICKET, web::get().to(one(Collection::Tickets, "Ticket")))
        .route(TICKET, web::patch().to(patch_ticket))
        .route(
            TICKET_NOTES,
            web::get().to(children(Collection::TicketNotes, TICKET_RECORD, ticket_of)),
        )
        .route(TICKET_NOTES, web::post().to(create_note));
}

/// What every ConnectWise has out of the box, more or less: one board with statuses (one of
/// them closed) and types, and the standard priorities. Ids from 9001 on, so the ids of the
/// records tests and the sandbox add stay what they were.
pub(super) fn seed(store: &mut Store) {
    let mut next_id = 9000;
    let mut add = |store: &mut Store, collection, mut record: Value| {
        next_id += 1;
        record["id"] = json!(next_id);
        record["_info"] = super::store::info();
        store.put(collection, next_id, record)
    };
    let board = add(
        store,
        Collection::Boards,
        json!({"name": "Help Desk", "inactiveFlag": false, "projectFlag": false}),
    );
    let board_ref = json!({"id": board["id"], "name": "Help Desk"});
    for (sort, name, closed, default) in [
        (0, "New", false, true),
        (1, "In Progress", false, false),
        (2, "Closed", true, false),
    ] {
        add(
            store,
            Collection::BoardStatuses,
            json!({"name": name, "board": board_ref, "sortOrder": sort, "closedStatus": closed,
                   "defaultFlag": default, "inactive": false}),
        );
    }
    for name in ["Billing", "Incident"] {
        add(
            store,
            Collection::BoardTypes,
            json!({"name": name, "board": board_ref, "inactiveFlag": false}),
        );
    }
    for (sort, name, default) in [
        (1, "Priority 1 - Emergency Response", false),
        (3, "Priority 3 - Normal Response", true),
    ] {
        add(
            store,
            Collection::Priorities,
            json!({"name": name, "sort": sort, "defaultFlag": default}),
        );
    }
}

const BOARD_RECORD: (Collection, &str) = (Collection::Boards, "Board");
const TICKET_RECORD: (Collection, &str) = (Collection::Tickets, "Ticket");

type ListArgs = (HttpRequest, web::Query<ListQuery>, web::Data<Shared>);

/// `GET` of a whole collection, filtered and paged.
fn whole(collection: Collection) -> impl Handler<ListArgs, Output = HttpResponse> {
    move |req: HttpRequest, q: web::Query<ListQuery>, s: web::Data<Shared>| async move {
        list_of(&req, &q, &s, |store| Box::new(store.records(collection)))
    }
}

/// `GET` of one record by the id in the path.
fn one(
    collection: Collection,
    what: &'static str,
) -> impl Handler<(web::Data<Shared>, web::Path<i64>), Output = HttpResponse> {
    move |s: web::Data<Shared>, path: web::Path<i64>| async move {
        let id = path.into_inner();
        let found = s.lock().store.get(collection, id).cloned();
        reply(found.ok_or_else(|| not_found(what, id)), StatusCode::OK)
    }
}

/// `GET` of the records of `child` that belong (by `parent_of`) to the record in the path, a
/// board's statuses or a ticket's notes; 404 when there is no such board or ticket.
fn children(
    child: Collection,
    (parents, parent): (Collection, &'static str),
    parent_of: fn(&Value) -> Option<i64>,
) -> impl Handler<
    (
        HttpRequest,
        web::Query<ListQuery>,
        web::Data<Shared>,
        web::Path<i64>,
    ),
    Output = HttpResponse,
> {
    move |req: HttpRequest, q: web::Query<ListQuery>, s: web::Data<Shared>, path: web::Path<i64>| async move {
        let id = path.into_inner();
        if s.lock().store.get(parents, id).is_none() {
            return rejection_response(not_found(parent, id));
        }
        list_of(&req, &q, &s, move |store| {
            Box::new(
                store
                    .records(child)
                    .filter(move |r| parent_of(r) == Some(id)),
            )
        })
    }
}

async fn create_ticket(s: web::Data<Shared>, body: Bytes) -> HttpResponse {
    let result = json_body(&body).and_then(|body| write(&s, |store| new_ticket(store, body)));
    reply(result, StatusCode::CREATED)
}

async fn patch_ticket(s: web::Data<Shared>, path: web::Path<i64>, body: Bytes) -> HttpResponse {
    let id = path.into_inner();
    let operations = json_body(&body).and_then(|_| {
        serde_json::from_slice::<Vec<PatchOperation>>(&body).map_err(|e| {
            let mut rejection = invalid("patch", Vec::new());
            rejection.1.message = Some(format!("Expected a JSON-Patch array: {e}"));
            rejection
        })
    });
    let result = operations.and_then(|ops| write(&s, |store| patched_ticket(store, id, &ops)));
    reply(result, StatusCode::OK)
}

async fn create_note(s: web::Data<Shared>, path: web::Path<i64>, body: Bytes) -> HttpResponse {
    let id = path.into_inner();
    let result = json_body(&body).and_then(|body| write(&s, |store| new_note(store, id, body)));
    reply(result, StatusCode::CREATED)
}

fn field_error(field: &str, message: impl Into<String>) -> ApiFieldError {
    ApiFieldError {
        code: Some("InvalidField".into()),
        message: Some(message.into()),
        resource: Some("ticket".into()),
        field: Some(field.into()),
    }
}

/// The record a reference names: by `id`, else by `name` (or a company's `identifier`),
/// among `candidates`; the reference as ConnectWise embeds it.
fn resolve<'a>(
    candidates: impl Iterator<Item = &'a Value>,
    given: &Value,
    key: &str,
) -> Option<Value> {
    let by_id = given["id"].as_i64();
    let by_key = given[key].as_str();
    let found = candidates.into_iter().find(|r| match (by_id, by_key) {
        (Some(id), _) => r["id"].as_i64() == Some(id),
        (None, Some(text)) => r[key]
            .as_str()
            .is_some_and(|v| v.eq_ignore_ascii_case(text)),
        _ => false,
    })?;
    let mut reference = Map::new();
    for field in ["id", "identifier", "name", "sort"] {
        if let Some(value) = found.get(field) {
            reference.insert(field.into(), value.clone());
        }
    }
    Some(Value::Object(reference))
}

fn of_board(store: &Store, collection: Collection, board: i64) -> impl Iterator<Item = &Value> {
    store
        .records(collection)
        .filter(move |r| r["board"]["id"].as_i64() == Some(board))
}

fn status_is_closed(store: &Store, status: &Value) -> bool {
    status["id"]
        .as_i64()
        .and_then(|id| store.get(Collection::BoardStatuses, id))
        .is_some_and(|s| s["closedStatus"] == json!(true))
}

/// Validates a ticket the way ConnectWise does and fills in what it derives.
fn new_ticket(store: &mut Store, body: Value) -> Result<Value, Rejection> {
    let Value::Object(given) = body else {
        return Err(invalid(
            "ticket",
            vec![field_error("ticket", "Expected a JSON object.")],
        ));
    };
    let mut errors = Vec::new();
    let summary = given
        .get("summary")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if summary.trim().is_empty() {
        errors.push(field_error("summary", "summary field is required."));
    } else if summary.chars().count() > SUMMARY_MAX {
        errors.push(field_error(
            "summary",
            "summary may not exceed 100 characters.",
        ));
    }
    let xref = given.get("externalXRef");
    if xref.is_some_and(|x| {
        !x.is_null()
            && x.as_str()
                .is_none_or(|x| x.chars().count() > EXTERNAL_REF_MAX)
    }) {
        errors.push(field_error(
            "externalXRef",
            "externalXRef may not exceed 100 characters.",
        ));
    }
    let none = Value::Null;
    let board = resolve(
        store.records(Collection::Boards),
        given.get("board").unwrap_or(&none),
        "name",
    );
    if board.is_none() {
        errors.push(field_error(
            "board",
            "board is required and must name an existing board.",
        ));
    }
    let company = given.get("company").and_then(|c| {
        resolve(store.records(Collection::Companies), c, "identifier")
            .or_else(|| resolve(store.records(Collection::Companies), c, "name"))
    });
    if company.is_none() {
        errors.push(field_error(
            "company",
            "company is required and must name an existing company.",
        ));
    }
    let board_id = board
        .as_ref()
        .and_then(|b| b["id"].as_i64())
        .unwrap_or_default();
    let status = match given.get("status").filter(|v| !v.is_null()) {
        Some(given) => resolve(
            of_board(store, Collection::BoardStatuses, board_id),
            given,
            "name",
        )
        .ok_or("status"),
        None => of_board(store, Collection::BoardStatuses, board_id)
            .find(|s| s["defaultFlag"] == json!(true))
            .map(|s| json!({"id": s["id"], "name": s["name"]}))
            .ok_or("status"),
    };
    if status.is_err() && board.is_some() {
        errors.push(field_error(
            "status",
            "status must be a status of the ticket's board.",
        ));
    }
    let priority = match given.get("priority").filter(|v| !v.is_null()) {
        Some(given) => {
            resolve(store.records(Collection::Priorities), given, "name").ok_or("priority")
        }
        None => Ok(store
            .records(Collection::Priorities)
            .find(|p| p["defaultFlag"] == json!(true))
            .map(|p| json!({"id": p["id"], "name": p["name"], "sort": p["sort"]}))
            .unwrap_or(Value::Null)),
    };
    if priority.is_err() {
        errors.push(field_error(
            "priority",
            "priority must name an existing priority.",
        ));
    }
    let kind = match given.get("type").filter(|v| !v.is_null()) {
        Some(given) => resolve(
            of_board(store, Collection::BoardTypes, board_id),
            given,
            "name",
        )
        .map(Some)
        .ok_or("type"),
        None => Ok(None),
    };
    if kind.is_err() && board.is_some() {
        errors.push(field_error(
            "type",
            "type must be a type of the ticket's board.",
        ));
    }
    if !errors.is_empty() {
        return Err(invalid("ticket", errors));
    }
    let status = status.expect("checked");
    let closed = status_is_closed(store, &status);
    let description = given
        .get("initialDescription")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut ticket = json!({
        "summary": summary,
        "recordType": "ServiceTicket",
        "board": board,
        "status": status,
        "company": company,
        "priority": priority.expect("checked"),
        "severity": "Medium",
        "impact": "Medium",
        "closedFlag": closed,
        "externalXRef": xref.cloned().unwrap_or(Value::Null),
        "dateEntered": now_stamp(),
    });
    if let Some(kind) = kind.expect("checked") {
        ticket["type"] = kind;
    }
    let created = store.insert(Collection::Tickets, ticket);
    // The initial description is write-only: ConnectWise keeps it as the ticket's first note.
    if let (Some(text), Some(id)) = (description, created["id"].as_i64()) {
        store.insert(
            Collection::TicketNotes,
            json!({"ticketId": id, "text": text, "detailDescriptionFlag": true,
                   "internalAnalysisFlag": false, "resolutionFlag": false,
                   "dateCreated": now_stamp(), "createdBy": "fake-connectwise"}),
        );
    }
    Ok(created)
}

/// Applies a patch of `summary`, `status` or `priority`; a status must be one of the ticket's
/// board, and decides `closedFlag`.
fn patched_ticket(
    store: &mut Store,
    id: i64,
    operations: &[PatchOperation],
) -> Result<Value, Rejection> {
    let mut ticket = store
        .get(Collection::Tickets, id)
        .cloned()
        .ok_or_else(|| not_found("Ticket", id))?;
    let board_id = ticket["board"]["id"].as_i64().unwrap_or_default();
    for op in operations {
        let path = op.path.trim_start_matches('/');
        let value: Value = match (&op.op, &op.value) {
            (PatchOp::Replace | PatchOp::Add, Some(raw)) => {
                serde_json::from_str(raw.get()).unwrap_or(Value::Null)
            }
            _ => {
                return Err(invalid(
                    "ticket",
                    vec![field_error(path, "Only replace with a value is supported.")],
                ))
            }
        };
        match path {
            "summary" => match value.as_str() {
                Some(text) if !text.trim().is_empty() && text.chars().count() <= SUMMARY_MAX => {
                    ticket["summary"] = value.clone()
                }
                _ => {
                    return Err(invalid(
                        "ticket",
                        vec![field_error(
                            "summary",
                            "summary must be 1 to 100 characters.",
                        )],
                    ))
                }
            },
            "status" => {
                let status = resolve(
                    of_board(store, Collection::BoardStatuses, board_id),
                    &value,
                    "name",
                )
                .ok_or_else(|| {
                    invalid(
                        "ticket",
                        vec![field_error(
                            "status",
                            "status must be a status of the ticket's board.",
                        )],
                    )
                })?;
                let closed = status_is_closed(store, &status);
                ticket["closedFlag"] = json!(closed);
                ticket["closedDate"] = if closed {
                    json!(now_stamp())
                } else {
                    Value::Null
                };
                ticket["status"] = status;
            }
            "priority" => {
                ticket["priority"] = resolve(store.records(Collection::Priorities), &value, "name")
                    .ok_or_else(|| {
                        invalid(
                            "ticket",
                            vec![field_error(
                                "priority",
                                "priority must name an existing priority.",
                            )],
                        )
                    })?;
            }
            other => {
                return Err(invalid(
                    "ticket",
                    vec![field_error(other, "This field cannot be patched here.")],
                ))
            }
        }
    }
    ticket["_info"] = super::store::info();
    Ok(store.put(Collection::Tickets, id, ticket))
}

fn new_note(store: &mut Store, ticket_id: i64, body: Value) -> Result<Value, Rejection> {
    if store.get(Collection::Tickets, ticket_id).is_none() {
        return Err(not_found("Ticket", ticket_id));
    }
    let flag = |name: &str| body.get(name).and_then(Value::as_bool).unwrap_or(false);
    let mut errors = Vec::new();
    if body
        .get("text")
        .and_then(Value::as_str)
        .is_none_or(|t| t.trim().is_empty())
    {
        errors.push(field_error("text", "text field is required."));
    }
    if !(flag("detailDescriptionFlag") || flag("internalAnalysisFlag") || flag("resolutionFlag")) {
        errors.push(field_error(
            "detailDescriptionFlag",
            "At least one of detailDescriptionFlag, internalAnalysisFlag or resolutionFlag must be true.",
        ));
    }
    if !errors.is_empty() {
        return Err(invalid("ticketNote", errors));
    }
    Ok(store.insert(
        Collection::TicketNotes,
        json!({"ticketId": ticket_id, "text": body["text"],
               "detailDescriptionFlag": flag("detailDescriptionFlag"),
               "internalAnalysisFlag": flag("internalAnalysisFlag"),
               "resolutionFlag": flag("resolutionFlag"),
               "dateCreated": now_stamp(), "createdBy": "fake-connectwise"}),
    ))
}
