//! Reading tenants and their usage: keys, hosts on keys, hosts, through KSC iterators and
//! chunk accessors, which are always released (also when reading fails).

use std::future::Future;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::{KscClient, Session};
use super::value::Params;
use super::KscError;
use crate::adapters::outbound::retry::Replay;
use crate::domain::model::TenantUsage;
use crate::domain::usage::{count_usage, ApplicationRules, Host, KeyHost, LicenceKey};

/// Rows asked for per iterator / accessor read; the server may return fewer.
const CHUNK_SIZE: i64 = 500;
/// Seconds the server keeps an iterator or accessor alive without use.
const SERVER_OBJECT_LIFETIME: i64 = 600;

/// `KLLIC_PART_NUMBER` (the licence SKU) comes back from KSC 15.4 on; older servers leave it out.
const KEY_FIELDS: [&str; 6] = [
    "KLLIC_SERIAL",
    "KLLIC_PROD_NAME",
    "KLLIC_APP_ID",
    "KLLIC_KEY_TYPE",
    "KLLIC_LIMIT_DATE",
    "KLLIC_PART_NUMBER",
];
const KEY_HOST_FIELDS: [&str; 3] = [
    "KLLICSRV_HOSTNAME",
    "KLLICSRV_HOST_CURRENT",
    "KLLICSRV_PRODUCT",
];
const HOST_FIELDS: [&str; 4] = [
    "KLHST_WKS_HOSTNAME",
    "KLHST_WKS_DN",
    "KLHST_WKS_OS_NAME",
    "KLHST_WKS_CTYPE",
];

/// A tenant: one KSC virtual server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VServer {
    pub id: i64,
    pub uid: String,
    /// `KLVSRV_DN`, also the name a login to it carries.
    pub display_name: String,
    pub enabled: bool,
}

impl VServer {
    fn from_row(row: Params<'_>) -> Result<Self, KscError> {
        Ok(VServer {
            id: row.int("KLVSRV_ID")?,
            uid: row.text("KLVSRV_UID")?,
            display_name: row.text("KLVSRV_DN")?,
            enabled: row.bool("KLVSRV_ENABLED")?,
        })
    }
}

impl KscClient {
    /// Every virtual server, in sub-groups too (a login to the main server).
    pub async fn list_vservers(&self) -> Result<Vec<VServer>, KscError> {
        let session = self.open_session("").await?;
        let listed = session
            .call(
                "VServers.GetVServers",
                json!({"lParentGroup": -1}),
                Replay::Safe,
            )
            .await;
        session.end().await;
        let listed = listed?;
        let response = Params::of(&listed)?;
        response
            .rows("PxgRetVal")?
            .into_iter()
            .map(VServer::from_row)
            .collect()
    }

    /// Counts one tenant's usage. A disabled virtual server is not read at all.
    pub async fn collect_usage(
        &self,
        vserver: &VServer,
        applications: &[ApplicationRules],
    ) -> Result<TenantUsage, KscError> {
        if !vserver.enabled {
            return Err(KscError::VServerDisabled(vserver.display_name.clone()));
        }
        let session = self.open_session(&vserver.display_name).await?;
        let read = read_tenant(&session).await;
        session.end().await;
        let (keys, key_hosts, hosts) = read?;
        Ok(count_usage(
            &keys,
            &key_hosts,
            &hosts,
            applications,
            Utc::now(),
        ))
    }
}

async fn read_tenant(
    session: &Session<'_>,
) -> Result<(Vec<LicenceKey>, Vec<KeyHost>, Vec<Host>), KscError> {
    let now = Utc::now();
    let keys = read_keys(session).await?;
    let mut key_hosts = Vec::new();
    // Hosts of keys that can never count are not worth a round trip.
    for key in keys.iter().filter(|key| key.is_billable(now)) {
        key_hosts.extend(read_key_hosts(session, &key.serial).await?);
    }
    let hosts = read_hosts(session).await?;
    tracing::debug!(
        vserver = session.vserver(),
        keys = keys.len(),
        hosts = hosts.len(),
        "KSC tenant read"
    );
    Ok((keys, key_hosts, hosts))
}

async fn read_keys(session: &Session<'_>) -> Result<Vec<LicenceKey>, KscError> {
    let body = json!({"pFields": KEY_FIELDS, "pFieldsToOrder": [], "pOptions": {}, "lTimeoutSec": SERVER_OBJECT_LIFETIME});
    let opened = session
        .call("LicenseKeys.EnumKeys", body, Replay::Unsafe)
        .await?;
    let rows = read_iterator(session, &opened).await?;
    rows.iter()
        .map(|row| {
            let row = Params::of(row)?;
            Ok(LicenceKey {
                serial: row.text("KLLIC_SERIAL")?,
                product_name: row.opt_text("KLLIC_PROD_NAME").unwrap_or_default(),
                app_id: row.opt_text("KLLIC_APP_ID").unwrap_or_default(),
                part_number: row.opt_text("KLLIC_PART_NUMBER").unwrap_or_default(),
                key_type: row.int("KLLIC_KEY_TYPE")?,
                limit_date: row.datetime("KLLIC_LIMIT_DATE")?,
            })
        })
        .collect()
}

async fn read_key_hosts(session: &Session<'_>, serial: &str) -> Result<Vec<KeyHost>, KscError> {
    let body = json!({
        "pInData": {"KLLIC_SERIAL": serial},
        "pFields": KEY_HOST_FIELDS,
        "pFieldsToOrder": [],
        "pOptions": {},
        "lTimeoutSec": SERVER_OBJECT_LIFETIME,
    });
    let opened = session
        .call("LicenseKeys.AcquireKeyHosts", body, Replay::Unsafe)
        .await?;
    let rows = read_iterator(session, &opened).await?;
    rows.iter()
        .map(|row| {
            let row = Params::of(row)?;
            Ok(KeyHost {
                serial: serial.to_string(),
                host_id: row.text("KLLICSRV_HOSTNAME")?,
                current: row.bool("KLLICSRV_HOST_CURRENT")?,
            })
        })
        .collect()
}

async fn read_hosts(session: &Session<'_>) -> Result<Vec<Host>, KscError> {
    let body = json!({
        "wstrFilter": "",
        "vecFieldsToReturn": HOST_FIELDS,
        "vecFieldsToOrder": [],
        // On the main server FindHosts would otherwise return the virtual servers' hosts too.
        "pParams": {"KLGRP_FIND_FROM_CUR_VS_ONLY": true},
        "lMaxLifeTime": SERVER_OBJECT_LIFETIME,
    });
    let found = session
        .call("HostGroup.FindHosts", body, Replay::Unsafe)
        .await?;
    let rows = read_accessor(session, &found).await?;
    rows.iter()
        .map(|row| {
            let row = Params::of(row)?;
            Ok(Host {
                host_id: row.text("KLHST_WKS_HOSTNAME")?,
                ctype: row.int("KLHST_WKS_CTYPE").unwrap_or(0),
                os_name: row.opt_text("KLHST_WKS_OS_NAME").unwrap_or_default(),
            })
        })
        .collect()
}

/// Reads a `GroupSyncIterator` to its end, then releases it.
async fn read_iterator(session: &Session<'_>, opened: &Value) -> Result<Vec<Value>, KscError> {
    let iterator = Params::of(opened)?.text("wstrIterator")?;
    let rows = read_iterator_rows(session, &iterator).await;
    released(
        rows,
        session.call(
            "GroupSyncIterator.ReleaseIterator",
            json!({"szwIterator": iterator}),
            Replay::Unsafe,
        ),
    )
    .await
}

async fn read_iterator_rows(session: &Session<'_>, iterator: &str) -> Result<Vec<Value>, KscError> {
    let mut rows = Vec::new();
    loop {
        let body = json!({"szwIterator": iterator, "nCount": CHUNK_SIZE});
        // Not replayed: each read advances the iterator.
        let response = session
            .call("GroupSyncIterator.GetNextItems", body, Replay::Unsafe)
            .await?;
        let response = Params::of(&response)?;
        let chunk = response.params("pData")?.rows("KLCSP_ITERATOR_ARRAY")?;
        let eof = response.bool("bEOF")?;
        if chunk.is_empty() && !eof {
            return Err(KscError::Decode(
                "iterator returned no rows before its end".into(),
            ));
        }
        // The last rows arrive together with bEOF: keep them before stopping.
        rows.extend(chunk.into_iter().map(Params::to_value));
        if eof {
            return Ok(rows);
        }
    }
}

/// Reads a `ChunkAccessor` (item count in the opener's `PxgRetVal`), then releases it.
async fn read_accessor(session: &Session<'_>, opened: &Value) -> Result<Vec<Value>, KscError> {
    let opened = Params::of(opened)?;
    let accessor = opened.text("strAccessor")?;
    let total = opened.int("PxgRetVal")?;
    let rows = read_accessor_rows(session, &accessor, total).await;
    released(
        rows,
        session.call(
            "ChunkAccessor.Release",
            json!({"strAccessor": accessor}),
            Replay::Unsafe,
        ),
    )
    .await
}

async fn read_accessor_rows(
    session: &Session<'_>,
    accessor: &str,
    total: i64,
) -> Result<Vec<Value>, KscError> {
    let mut rows = Vec::new();
    while (rows.len() as i64) < total {
        let body = json!({"strAccessor": accessor, "nStart": rows.len(), "nCount": CHUNK_SIZE});
        let response = session
            .call("ChunkAccessor.GetItemsChunk", body, Replay::Safe)
            .await?;
        let chunk = Params::of(&response)?
            .params("pChunk")?
            .rows("KLCSP_ITERATOR_ARRAY")?;
        if chunk.is_empty() {
            // Hosts removed since FindHosts counted them.
            break;
        }
        rows.extend(chunk.into_iter().map(Params::to_value));
    }
    Ok(rows)
}

/// The read's result after the release ran; a failed release after a good read is only logged
/// (the server drops the object when its lifetime ends).
async fn released<T>(
    read: Result<T, KscError>,
    release: impl Future<Output = Result<Value, KscError>>,
) -> Result<T, KscError> {
    if let Err(error) = release.await {
        tracing::warn!(%error, "KSC iterator or accessor was not released");
    }
    read
}
