//! Mutable server state: logins, sessions, open iterators and accessors, counters, faults.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::data::{FakeKscData, FakeTenant};

/// A failure the fake returns instead of answering normally.
#[derive(Debug, Clone)]
pub struct Fault {
    /// `Class.Method`, or `login`.
    pub method: String,
    /// Only calls on this virtual server (`""` = main server); `None` = any.
    pub vserver: Option<String>,
    pub kind: FaultKind,
    /// How many calls fail; `None` = all of them.
    pub times: Option<u32>,
}

#[derive(Debug, Clone)]
pub enum FaultKind {
    /// An HTTP status with an empty body, optionally with `Retry-After` seconds.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// A `PxgError` body.
    Pxg { code: i64, message: String },
    /// Answer normally, but only after this delay.
    Delay(Duration),
    /// Answer normally, then close the connection (as a server does at its keep-alive limit):
    /// a login made on it is gone with it.
    Close,
}

impl Fault {
    pub fn new(method: &str, kind: FaultKind) -> Self {
        Fault {
            method: method.into(),
            vserver: None,
            kind,
            times: None,
        }
    }

    pub fn on_vserver(mut self, vserver: &str) -> Self {
        self.vserver = Some(vserver.into());
        self
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = Some(times);
        self
    }
}

/// The virtual server a login, session or server object belongs to (`""` = main server).
pub(super) type Scope = String;

/// Rows handed out piece by piece by an iterator or accessor.
pub(super) struct Cursor {
    pub scope: Scope,
    pub rows: Vec<Value>,
    pub position: usize,
}

pub(super) struct State {
    pub data: FakeKscData,
    /// Logins bound to a TCP connection (the connection id from `on_connect`).
    pub connections: HashMap<u64, Scope>,
    pub sessions: HashMap<String, Scope>,
    pub iterators: HashMap<String, Cursor>,
    pub accessors: HashMap<String, Cursor>,
    pub calls: HashMap<String, u64>,
    /// Calls refused as "Not authenticated".
    pub not_authenticated: u64,
    /// Sessions started, by the virtual server they belong to.
    pub sessions_started: HashMap<Scope, u64>,
    pub faults: Vec<Fault>,
    next_object: u64,
    /// Where each virtual server is in `data`, by name (rebuilt when the data change).
    by_name: HashMap<String, usize>,
}

impl State {
    pub fn new(data: FakeKscData, faults: Vec<Fault>) -> Self {
        State {
            data,
            connections: HashMap::new(),
            sessions: HashMap::new(),
            iterators: HashMap::new(),
            accessors: HashMap::new(),
            calls: HashMap::new(),
            not_authenticated: 0,
            sessions_started: HashMap::new(),
            faults,
            next_object: 0,
            by_name: HashMap::new(),
        }
        .reindexed()
    }

    /// Looks the virtual servers up by name again, after their data changed.
    pub fn reindexed(mut self) -> Self {
        self.reindex();
        self
    }

    pub fn reindex(&mut self) {
        self.by_name.clear();
        for (i, vs) in self.data.vservers.iter().enumerate() {
            // The first of two servers with one name answers, as a scan would find it.
            self.by_name.entry(vs.name.clone()).or_insert(i);
        }
    }

    /// The virtual server of this name.
    pub fn vserver(&self, name: &str) -> Option<&super::data::FakeVServer> {
        self.data.vservers.get(*self.by_name.get(name)?)
    }

    /// A fresh id for an iterator, accessor or session token.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next_object += 1;
        format!(
            "{prefix}-{}-{:016x}",
            self.next_object,
            rand::random::<u64>()
        )
    }

    /// The tenant seen from a scope: the main server's own, or a virtual server's.
    pub fn tenant(&self, scope: &str) -> Option<&FakeTenant> {
        if scope.is_empty() {
            return Some(&self.data.main);
        }
        self.vserver(scope).map(|vs| &vs.tenant)
    }

    /// Takes the fault due for this call, if any, counting down its remaining uses.
    pub fn take_fault(&mut self, method: &str, scope: &str) -> Option<FaultKind> {
        let index = self.faults.iter().position(|fault| {
            fault.method == method
                && fault
                    .vserver
                    .as_deref()
                    .is_none_or(|vserver| vserver == scope)
        })?;
        let fault = &mut self.faults[index];
        let kind = fault.kind.clone();
        if let Some(times) = fault.times.as_mut() {
            *times -= 1;
            if *times == 0 {
                self.faults.remove(index);
            }
        }
        Some(kind)
    }
}
