//! The audit log, read a page at a time.

use crate::adapters::db::{self, audit::AuditEventRow, audit::AuditFilter};
use crate::runtime::state::Core;
use crate::services::listing::{self, PageRequest, Rows};
use crate::services::ServiceError;

/// A page of the audit events `filter` lets through, newest first.
pub async fn list(
    ctx: &Core,
    filter: AuditFilter,
    page: PageRequest,
) -> Result<Rows<AuditEventRow>, ServiceError> {
    listing::page(ctx, page, move |conn, offset, limit| {
        db::audit::list(conn, &filter, offset, limit)
    })
    .await
}
