//! The ConnectWise ticket channel (issue 25) through the HTTP API against the fake ConnectWise:
//! a notice opens one ticket on the configured board (on the company concerned), a recurrence
//! adds a note, the resolution a closing note and the closed status; a ticket whose creation
//! answer was lost is found again by its reference, never opened twice.

use std::time::Duration;

use chrono::{DateTime, Utc};

use kaspersky_msp_bridge::adapters::connectwise::Company;
use kaspersky_msp_bridge::cli::sandbox::fake_connectwise::{route, Fault};
use reqwest::Method;
use serde_json::{json, Value};

use crate::guards::change_settings;
use crate::helpers::{eventually, TestApp};
use crate::products::invalid_fields;
use crate::sync::{world_with, World};

const CHANNELS: &str = "/api/v1/notification-channels";

fn desk(company: Value) -> Value {
    json!({
        "board": {"name": "Help Desk"},
        "status": {"name": "New"},
        "closed_status": {"name": "Closed"},
        "priority": {"name": "Priority 3 - Normal Response"},
        "type": {"name": "Billing"},
        "company": company,
        "on_affected_company": true,
    })
}

async fn ticket_channel(app: &TestApp, kinds: Value) -> Value {
    let body = json!({"name": "service desk", "kind": "connectwise_ticket",
        "event_kinds": kinds, "ticket": desk(json!({"identifier": "MyMSP"}))});
    app.admin_json(Method::POST, CHANNELS, &body, 201).await
}

/// The MSP's own company, where tickets about no single customer go.
fn own_company(w: &World) -> i64 {
    w.cw.add_company(&Company {
        identifier: Some("MyMSP".into()),
        name: Some("My MSP".into()),
        ..Default::default()
    })
}

async fn wait_for_tickets(w: &World, what: &str, done: impl Fn(&[Value]) -> bool) {
    eventually(Duration::from_secs(30), what, || async {
        done(&w.cw.tickets())
    })
    .await;
}

/// How long after the run finished its tickets were opened, from the delivery log's clock.
async fn log_ticket_delay(app: &TestApp, run: &Value) {
    let finished: DateTime<Utc> = run["finished_at"].as_str().unwrap().parse().unwrap();
    let delivered = || async {
        let log: Value = app
            .get("/api/v1/notifications", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        let at = |d: &Value| {
            d["delivered_at"]
                .as_str()
                .map(|t| t.parse::<DateTime<Utc>>().unwrap())
        };
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|n| {
                n["deliveries"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(at)
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    eventually(Duration::from_secs(30), "deliveries recorded", || async {
        delivered().await.len() == 2
    })
    .await;
    let last = delivered().await.into_iter().max().unwrap();
    eprintln!(
        "notification: tickets opened {} ms after the run finished",
        (last - finished).num_milliseconds()
    );
}

fn of_kind<'a>(tickets: &'a [Value], marker: &str) -> Vec<&'a Value> {
    tickets
        .iter()
        .filter(|t| t["summary"].as_str().unwrap_or_default().contains(marker))
        .collect()
}

#[actix_web::test]
async fn a_held_change_opens_one_ticket_notes_its_recurrence_and_closes_it() {
    let w = world_with(|_| {}).await;
    let app = &w.app;
    own_company(&w);
    let channel = ticket_channel(app, json!(["held_money", "held_lines"])).await;
    assert_eq!(channel["ticket"]["board"]["name"], "Help Desk", "{channel}");
    assert_eq!(channel["url"], Value::Null);
    change_settings(app, |s| {
        s["hold_first_billing"] = json!(true);
        s["held_notice_after_hours"] = json!(0);
        s["held_money_notice_threshold"] = json!("5.00");
    })
    .await;

    // 2 users at 4.00: 8.00 a month held, over the 5.00 threshold.
    w.push_users(2).await;
    let run = w.sync(None).await;
    assert_eq!(run["status"], "held");
    wait_for_tickets(&w, "two tickets", |t| t.len() == 2).await;
    log_ticket_delay(app, &run).await;
    let tickets = w.cw.tickets();
    let money = of_kind(&tickets, "monthly bill")[0].clone();
    assert_eq!(
        money["summary"],
        "Held lines would raise Acme Corp's monthly bill by 8.00"
    );
    for ticket in &tickets {
        assert_eq!(ticket["board"]["name"], "Help Desk", "{ticket}");
        assert_eq!(ticket["status"]["name"], "New");
        assert_eq!(ticket["type"]["name"], "Billing");
        assert_eq!(ticket["priority"]["name"], "Priority 3 - Normal Response");
        assert_eq!(ticket["closedFlag"], false);
        // One company concerned: the ticket is on it, not on the MSP's own.
        assert_eq!(ticket["company"]["id"], w.company, "{ticket}");
        assert!(ticket["externalXRef"].as_str().unwrap().starts_with("kmb:"));
    }
    let id = money["id"].as_i64().unwrap();
    let notes = w.cw.ticket_notes(id);
    assert_eq!(notes.len(), 1, "the initial description");
    let description = notes[0]["text"].as_str().unwrap();
    assert!(
        description.contains("Monthly billing at stake: 8.00"),
        "{description}"
    );
    assert!(description.contains("/#/sync"), "{description}");

    // More held money: a recurrence, noted on the same ticket.
    w.push_users(3).await;
    assert_eq!(w.sync(None).await["status"], "held");
    eventually(Duration::from_secs(30), "a note", || async {
        w.cw.ticket_notes(id).len() == 2
    })
    .await;
    assert_eq!(w.cw.tickets().len(), 2, "no new ticket for a recurrence");
    let again = w.cw.ticket_notes(id)[1]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(again.starts_with("Seen again (2 times"), "{again}");

    // Approved: both causes are gone, both tickets get a closing note and the closed status.
    let approved = w.sync(Some(json!({"approve": "all"}))).await;
    assert_eq!(approved["status"], "succeeded", "{approved}");
    wait_for_tickets(&w, "closed tickets", |t| {
        t.iter().all(|t| t["closedFlag"] == json!(true))
    })
    .await;
    for ticket in w.cw.tickets() {
        assert_eq!(ticket["status"]["name"], "Closed");
        let notes = w.cw.ticket_notes(ticket["id"].as_i64().unwrap());
        assert_eq!(notes.last().unwrap()["resolutionFlag"], true, "{notes:?}");
    }
    assert_eq!(w.cw.tickets().len(), 2);

    // The delivery log names the tickets.
    let log: Value = app
        .get("/api/v1/notifications?state=all", &app.admin_token)
        .await
        .json()
        .await
        .unwrap();
    let statuses: Vec<String> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|n| n["deliveries"].as_array().unwrap().clone())
        .map(|d| format!("{} {}", d["status"], d["last_status"]))
        .collect();
    assert!(
        statuses.iter().all(|s| s.starts_with("\"delivered\"")),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().any(|s| s.contains("ticket #")),
        "{statuses:?}"
    );
}

#[actix_web::test]
async fn a_lost_creation_answer_never_opens_a_second_ticket() {
    let w = world_with(|_| {}).await;
    let app = &w.app;
    own_company(&w);
    ticket_channel(app, json!(["held_money"])).await;
    change_settings(app, |s| {
        s["hold_first_billing"] = json!(true);
        s["held_money_notice_threshold"] = json!("1.00");
    })
    .await;
    // ConnectWise creates the ticket, then the connection drops before the answer.
    w.cw.inject_fault("POST", route::TICKETS, Fault::ApplyThenDrop, 1);
    w.push_users(2).await;
    assert_eq!(w.sync(None).await["status"], "held");
    wait_for_tickets(&w, "the ticket", |t| t.len() == 1).await;
    // The next pass finds it by its reference and records it as delivered.
    eventually(Duration::from_secs(40), "the delivery recorded", || async {
        let log: Value = app
            .get("/api/v1/notifications", &app.admin_token)
            .await
            .json()
            .await
            .unwrap();
        log["items"][0]["deliveries"][0]["status"] == "delivered"
    })
    .await;
    assert_eq!(w.cw.tickets().len(), 1, "never a second ticket");
    assert_eq!(w.cw.calls("POST", route::TICKETS), 1);
}

#[actix_web::test]
async fn ticket_channels_are_checked_and_tested_against_connectwise() {
    let w = world_with(|_| {}).await;
    let app = &w.app;
    let own = own_company(&w);

    // What a ticket channel needs, each problem named.
    let bad = json!({"name": "desk", "kind": "connectwise_ticket",
        "url": "https://hooks.example.com/x",
        "ticket": {"board": {"id": 1, "name": "Help Desk"}, "closed_status": {},
                   "company": {"name": "My MSP"}}});
    let response = app
        .send_json(Method::POST, CHANNELS, &app.admin_token, &bad)
        .await;
    assert_eq!(response.status(), 422);
    let fields = invalid_fields(response).await;
    for field in [
        "url",
        "ticket.board",
        "ticket.closed_status",
        "ticket.company",
    ] {
        assert!(fields.contains(&field.to_string()), "{field} in {fields:?}");
    }
    let missing = json!({"name": "desk", "kind": "connectwise_ticket"});
    let response = app
        .send_json(Method::POST, CHANNELS, &app.admin_token, &missing)
        .await;
    assert_eq!(invalid_fields(response).await, vec!["ticket".to_string()]);
    let webhook_with_ticket = json!({"name": "hook", "kind": "webhook",
        "url": "https://hooks.example.com/x", "secret": "0123456789abcdef",
        "ticket": desk(json!({"id": own}))});
    let response = app
        .send_json(
            Method::POST,
            CHANNELS,
            &app.admin_token,
            &webhook_with_ticket,
        )
        .await;
    assert_eq!(invalid_fields(response).await, vec!["ticket".to_string()]);

    // A test opens a ticket on the MSP's own company and closes it at once.
    let channel = ticket_channel(app, json!([])).await;
    let test = format!("{CHANNELS}/{}/test", channel["id"].as_str().unwrap());
    let result = app.admin_json(Method::POST, &test, &json!({}), 200).await;
    assert_eq!(result["delivered"], true, "{result}");
    let tickets = w.cw.tickets();
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["company"]["id"], own);
    assert_eq!(tickets[0]["closedFlag"], true);
    assert!(result["last_status"]
        .as_str()
        .unwrap()
        .contains("opened and closed"));

    // A board ConnectWise does not have: the test says so, nothing is opened.
    let mut settings = channel.clone();
    settings["ticket"]["board"] = json!({"name": "No Such Board"});
    let path = format!("{CHANNELS}/{}", channel["id"].as_str().unwrap());
    let body = json!({"name": "service desk", "kind": "connectwise_ticket",
        "ticket": settings["ticket"]});
    app.admin_json(Method::PUT, &path, &body, 200).await;
    let result = app.admin_json(Method::POST, &test, &json!({}), 200).await;
    assert_eq!(result["delivered"], false, "{result}");
    assert!(
        result["last_status"]
            .as_str()
            .unwrap()
            .contains("No Such Board"),
        "{result}"
    );
    assert_eq!(w.cw.tickets().len(), 1);
}
