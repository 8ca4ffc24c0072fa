//! The KSC Open API methods the bridge uses, on the real wire format (KlAkOAPI is the reference).

use actix_web::http::{ConnectionType, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::data::{FakeHost, FakeKey};
use super::state::{Cursor, FaultKind, Scope, State};
use super::{ConnectionId, Shared};

type Outcome = Result<Value, Refusal>;

/// How a call fails: a refused login, a call with neither a valid session nor a logged-in
/// connection, or a KSC error body.
enum Refusal {
    Unauthorized,
    NotAuthenticated,
    Pxg { code: i64, message: String },
}

impl Refusal {
    fn pxg(code: i64, message: &str) -> Self {
        Refusal::Pxg {
            code,
            message: message.to_string(),
        }
    }

    fn into_response(self) -> HttpResponse {
        match self {
            Refusal::Unauthorized => HttpResponse::Unauthorized().finish(),
            Refusal::NotAuthenticated => HttpResponse::Unauthorized().json(json!({
                "PxgError": {"code": 1184, "module": "KLSTD", "file": "fake_ksc", "line": 0, "message": "Not authenticated"}
            })),
            Refusal::Pxg { code, message } => HttpResponse::InternalServerError().json(json!({
                "PxgError": {"code": code, "module": "KLSTD", "file": "fake_ksc", "line": 0, "message": message}
            })),
        }
    }
}

/// Answers `latency` after the request arrived (the work done counts towards it, as in a
/// real server's response time).
pub(super) async fn handle(
    shared: web::Data<Shared>,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let answer_at = std::time::Instant::now() + shared.latency;
    let response = respond(shared, request, path, body).await;
    crate::cli::sandbox::latency::wait_until(answer_at).await;
    response
}

async fn respond(
    shared: web::Data<Shared>,
    request: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let method = method_name(&path);
    let connection = request
        .conn_data::<ConnectionId>()
        .map(|id| id.0)
        .unwrap_or_default();
    let params: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);

    let fault = {
        let mut state = shared.state.lock().expect("fake KSC state");
        *state.calls.entry(method.clone()).or_default() += 1;
        let scope = if method == "login" {
            login_vserver(&request)
        } else {
            authenticated_scope(&state, &request, connection)
        };
        let Some(scope) = scope else {
            return state.refuse_unauthenticated(method == "login");
        };
        state.take_fault(&method, &scope)
    };
    let close = matches!(fault, Some(FaultKind::Close));
    match fault {
        Some(FaultKind::Status {
            status,
            retry_after,
        }) => {
            let mut response = HttpResponse::build(
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            );
            if let Some(seconds) = retry_after {
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            return response.finish();
        }
        Some(FaultKind::Pxg { code, message }) => {
            return Refusal::Pxg { code, message }.into_response()
        }
        Some(FaultKind::Delay(delay)) => actix_web::rt::time::sleep(delay).await,
        Some(FaultKind::Close) | None => {}
    }

    let mut state = shared.state.lock().expect("fake KSC state");
    let outcome = if method == "login" {
        login(&mut state, &request, connection)
    } else {
        match authenticated_scope(&state, &request, connection) {
            // The session may have ended while a delay fault slept.
            None => return state.refuse_unauthenticated(false),
            Some(scope) => call(
                &mut state,
                &request,
                connection,
                &scope,
                &method,
                &params,
                shared.max_chunk,
            ),
        }
    };
    if close {
        // The connection's login ends with it.
        state.connections.remove(&connection);
    }
    let mut response = match outcome {
        Ok(value) => HttpResponse::Ok().json(value),
        Err(refusal) => refusal.into_response(),
    };
    if close {
        response
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    response
}

/// `Instance.Class.Method` → `Class.Method`: the instance is irrelevant here.
fn method_name(path: &str) -> String {
    let parts: Vec<&str> = path.split('.').collect();
    parts[parts.len().saturating_sub(2)..].join(".")
}

fn header<'a>(request: &'a HttpRequest, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

fn decode_b64(text: &str) -> Option<String> {
    BASE64
        .decode(text.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
}

fn login_vserver(request: &HttpRequest) -> Option<Scope> {
    match header(request, "X-KSC-VServer") {
        None | Some("") => Some(String::new()),
        Some(encoded) => decode_b64(encoded),
    }
}

impl State {
    /// A login whose virtual-server header cannot be read is a refused login; any other call
    /// without a session or a logged-in connection is "Not authenticated", and counted.
    fn refuse_unauthenticated(&mut self, login: bool) -> HttpResponse {
        if login {
            return Refusal::Unauthorized.into_response();
        }
        self.not_authenticated += 1;
        Refusal::NotAuthenticated.into_response()
    }
}

/// A session token wins (on any connection); otherwise the login of this TCP connection — so
/// a `Session.StartSession` yields a session of whatever virtual server logged in on the
/// connection it arrives on, and is refused on a connection never logged in.
fn authenticated_scope(state: &State, request: &HttpRequest, connection: u64) -> Option<Scope> {
    match header(request, "X-KSC-Session") {
        Some(token) => state.sessions.get(token).cloned(),
        None => state.connections.get(&connection).cloned(),
    }
}

/// `KSCBasic user="<b64>", pass="<b64>", domain="<b64>", internal="1"` → (user, password).
fn basic_credentials(authorization: &str) -> Option<(String, String)> {
    let fields = authorization.strip_prefix("KSCBasic ")?;
    let field = |name: &str| {
        fields.split(',').map(str::trim).find_map(|part| {
            part.strip_prefix(name)?
                .strip_prefix("=\"")?
                .strip_suffix('"')
                .map(String::from)
        })
    };
    Some((decode_b64(&field("user")?)?, decode_b64(&field("pass")?)?))
}

fn login(state: &mut State, request: &HttpRequest, connection: u64) -> Outcome {
    let unauthorized = || Refusal::Unauthorized;
    let credentials = header(request, "Authorization")
        .and_then(basic_credentials)
        .ok_or_else(unauthorized)?;
    if credentials != (state.data.user.clone(), state.data.password.clone()) {
        return Err(unauthorized());
    }
    let scope = login_vserver(request).ok_or_else(unauthorized)?;
    let allowed = scope.is_empty() || state.vserver(&scope).is_some_and(|vs| vs.enabled);
    if !allowed {
        return Err(unauthorized());
    }
    state.connections.insert(connection, scope);
    Ok(json!({}))
}

fn call(
    state: &mut State,
    request: &HttpRequest,
    connection: u64,
    scope: &str,
    method: &str,
    params: &Value,
    max_chunk: usize,
) -> Outcome {
    match method {
        "Session.StartSession" => {
            *state.sessions_started.entry(scope.to_string()).or_default() += 1;
            let token = state.new_id("session");
            state.sessions.insert(token.clone(), scope.to_string());
            Ok(json!({"PxgRetVal": token}))
        }
        "Session.EndSession" => {
            match header(request, "X-KSC-Session") {
                Some(token) => state.sessions.remove(token),
                None => state.connections.remove(&connection),
            };
            Ok(json!({}))
        }
        "VServers.GetVServers" => Ok(json!({"PxgRetVal": vservers(state, scope)})),
        "LicenseKeys.EnumKeys" => {
            let rows = tenant(state, scope)?.keys.iter().map(key_row).collect();
            let rows = only_fields(rows, params.get("pFields"));
            let count = rows.len();
            let iterator = open(state, Objects::Iterators, scope, rows);
            Ok(json!({"lKeyCount": count, "wstrIterator": iterator}))
        }
        "LicenseKeys.AcquireKeyHosts" => {
            let serial = plain(params.pointer("/pInData"))
                .and_then(|data| data.get("KLLIC_SERIAL"))
                .and_then(Value::as_str);
            let key = tenant(state, scope)?
                .keys
                .iter()
                .find(|key| Some(key.serial.as_str()) == serial);
            let key = key.ok_or_else(|| Refusal::pxg(1190, "The license key was not found"))?;
            let rows = only_fields(key_host_rows(key), params.get("pFields"));
            let count = rows.len();
            let iterator = open(state, Objects::Iterators, scope, rows);
            Ok(json!({"lKeyCount": count, "wstrIterator": iterator}))
        }
        "GroupSyncIterator.GetNextItems" => {
            let count = params.get("nCount").and_then(Value::as_u64).unwrap_or(0) as usize;
            let cursor = owned(state, Objects::Iterators, scope, params.get("szwIterator"))?;
            let end = (cursor.position + count.min(max_chunk)).min(cursor.rows.len());
            let rows = cursor.rows[cursor.position..end].to_vec();
            cursor.position = end;
            let eof = end == cursor.rows.len();
            Ok(json!({"bEOF": eof, "pData": {"KLCSP_ITERATOR_ARRAY": rows}}))
        }
        "GroupSyncIterator.ReleaseIterator" => {
            release(state, Objects::Iterators, scope, params.get("szwIterator"))
        }
        "HostGroup.FindHosts" => {
            let this_server_only = plain(params.get("pParams"))
                .and_then(|p| p.get("KLGRP_FIND_FROM_CUR_VS_ONLY"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let mut hosts: Vec<&FakeHost> = tenant(state, scope)?.hosts.iter().collect();
            if scope.is_empty() && !this_server_only {
                hosts.extend(state.data.vservers.iter().flat_map(|vs| &vs.tenant.hosts));
            }
            let rows = only_fields(
                hosts.into_iter().map(host_row).collect(),
                params.get("vecFieldsToReturn"),
            );
            let count = rows.len();
            let accessor = open(state, Objects::Accessors, scope, rows);
            Ok(json!({"PxgRetVal": count, "strAccessor": accessor}))
        }
        "ChunkAccessor.GetItemsChunk" => {
            let start = params.get("nStart").and_then(Value::as_u64).unwrap_or(0) as usize;
            let count = params.get("nCount").and_then(Value::as_u64).unwrap_or(0) as usize;
            let cursor = owned(state, Objects::Accessors, scope, params.get("strAccessor"))?;
            let start = start.min(cursor.rows.len());
            let end = (start + count.min(max_chunk)).min(cursor.rows.len());
            let rows = cursor.rows[start..end].to_vec();
            Ok(json!({"PxgRetVal": rows.len(), "pChunk": {"KLCSP_ITERATOR_ARRAY": rows}}))
        }
        "ChunkAccessor.Release" => {
            release(state, Objects::Accessors, scope, params.get("strAccessor"))
        }
        _ => Err(Refusal::pxg(
            1184,
            &format!("Method {method} is not supported by the fake KSC"),
        )),
    }
}

/// The value of a possibly typed (`{"type":"params","value":…}`) parameter.
fn plain(value: Option<&Value>) -> Option<&Value> {
    match value? {
        Value::Object(object) if object.contains_key("type") && object.contains_key("value") => {
            object.get("value")
        }
        other => Some(other),
    }
}

fn tenant<'a>(state: &'a State, scope: &str) -> Result<&'a super::data::FakeTenant, Refusal> {
    state
        .tenant(scope)
        .ok_or_else(|| Refusal::pxg(1950, "The virtual server no longer exists"))
}

fn params_value(fields: Map<String, Value>) -> Value {
    json!({"type": "params", "value": fields})
}

/// The fields of a row written as a `json!` object literal.
fn row_fields(row: Value) -> Map<String, Value> {
    match row {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn datetime(value: Option<&str>) -> Value {
    json!({"type": "datetime", "value": value.unwrap_or("")})
}

fn vservers(state: &State, scope: &str) -> Vec<Value> {
    if !scope.is_empty() {
        return Vec::new();
    }
    let row = |vs: &super::data::FakeVServer| {
        params_value(row_fields(json!({
            "KLVSRV_ID": vs.id, "KLVSRV_UID": vs.uid, "KLVSRV_DN": vs.name, "KLVSRV_ENABLED": vs.enabled,
            "KLVSRV_GRP": {"type": "long", "value": 0},
        })))
    };
    state.data.vservers.iter().map(row).collect()
}

fn key_row(key: &FakeKey) -> Map<String, Value> {
    let mut row = row_fields(json!({
        "KLLIC_SERIAL": key.serial,
        "KLLIC_PROD_NAME": key.product_name,
        "KLLIC_APP_ID": key.app_id,
        "KLLIC_KEY_TYPE": key.key_type,
        "KLLIC_LIMIT_DATE": datetime(key.limit_date.as_deref()),
        "KLLIC_LICENSE_PERIOD": 365,
    }));
    // Only KSC 15.4 and later know the SKU.
    if let Some(part_number) = &key.part_number {
        row.insert("KLLIC_PART_NUMBER".into(), json!(part_number));
    }
    row
}

fn key_host_rows(key: &FakeKey) -> Vec<Map<String, Value>> {
    key.hosts
        .iter()
        .map(|(host, current)| {
            row_fields(json!({
                "KLLICSRV_HOSTNAME": host, "KLLICSRV_HOST_CURRENT": current, "KLLICSRV_PRODUCT": key.product_name,
            }))
        })
        .collect()
}

fn host_row(host: &FakeHost) -> Map<String, Value> {
    row_fields(json!({
        "KLHST_WKS_HOSTNAME": host.id,
        "KLHST_WKS_DN": host.display_name,
        "KLHST_WKS_OS_NAME": host.os_name,
        "KLHST_WKS_CTYPE": host.ctype,
        "KLHST_WKS_LAST_VISIBLE": datetime(Some("2026-05-07T23:18:00Z")),
    }))
}

/// Keeps the requested fields only (all when none are named), as the real server does.
fn only_fields(rows: Vec<Map<String, Value>>, fields: Option<&Value>) -> Vec<Value> {
    let wanted: Vec<&str> = plain(fields)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    rows.into_iter()
        .map(|mut row| {
            if !wanted.is_empty() {
                row.retain(|name, _| wanted.contains(&name.as_str()));
            }
            params_value(row)
        })
        .collect()
}

#[derive(Clone, Copy)]
enum Objects {
    Iterators,
    Accessors,
}

fn objects(state: &mut State, kind: Objects) -> &mut std::collections::HashMap<String, Cursor> {
    match kind {
        Objects::Iterators => &mut state.iterators,
        Objects::Accessors => &mut state.accessors,
    }
}

fn open(state: &mut State, kind: Objects, scope: &str, rows: Vec<Value>) -> String {
    let id = state.new_id(match kind {
        Objects::Iterators => "iterator",
        Objects::Accessors => "accessor",
    });
    objects(state, kind).insert(
        id.clone(),
        Cursor {
            scope: scope.to_string(),
            rows,
            position: 0,
        },
    );
    id
}

/// The object named by `id`, if it exists and belongs to the caller's virtual server.
fn owned<'a>(
    state: &'a mut State,
    kind: Objects,
    scope: &str,
    id: Option<&Value>,
) -> Result<&'a mut Cursor, Refusal> {
    let id = id.and_then(Value::as_str).unwrap_or_default();
    objects(state, kind)
        .get_mut(id)
        .filter(|cursor| cursor.scope == scope)
        .ok_or_else(|| Refusal::pxg(1186, &format!("Object {id:?} not found")))
}

fn release(state: &mut State, kind: Objects, scope: &str, id: Option<&Value>) -> Outcome {
    owned(state, kind, scope, id)?;
    let id = id.and_then(Value::as_str).unwrap_or_default();
    objects(state, kind).remove(id);
    Ok(json!({}))
}
