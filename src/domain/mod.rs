//! Billing rules as pure functions: no actix, no diesel, no I/O.
//! DOMAIN.md §6 is the specification; every rule here has table-driven unit tests.

pub mod desired;
pub mod guards;
pub mod ids;
pub mod mapping_rules;
pub mod model;
pub mod money;
pub mod moves;
pub mod notices;
pub mod outcome;
pub mod plan;
pub mod plan_lines;
pub mod plan_money;
pub mod policies;
pub mod product_mapping;
pub mod reconciliation;
pub mod report;
pub mod role;
pub mod terms;
pub mod text_enum;
pub mod units;
pub mod usage;
pub mod validation;
