//! ConnectWise Manage ("ConnectWise PSA") REST API: the part the bridge uses (DOMAIN.md §3).

mod client;
mod conditions;
mod config;
mod error;
mod exact;
mod models;
mod service;

pub use crate::adapters::outbound::retry::RetryPolicy;
pub use client::{ConnectWiseClient, PAGE_SIZE};
pub use conditions::{ConditionValue, Conditions};
pub use config::{site_origin, ConnectWiseConfig};
pub use error::{ApiErrorBody, ApiFieldError, ConnectWiseError};
pub use models::{
    Addition, Agreement, CatalogItem, Company, CompanyInfo, NewAddition, PatchOp, PatchOperation,
    Reference, SystemInfo,
};
pub use service::{Board, NewTicket, NewTicketNote, Ticket, TicketNote};
