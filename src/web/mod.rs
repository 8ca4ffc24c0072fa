//! The HTTP application: the route table and handlers (extract → one service call → respond),
//! request extractors, middleware, the OpenAPI document and problem+json errors.

pub mod error;
pub mod middleware;
pub mod openapi;
pub mod routes;
pub mod startup;
