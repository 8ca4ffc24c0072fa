//! The fake's records and ConnectWise's rules for agreement additions.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::adapters::connectwise::{ApiErrorBody, ApiFieldError, PatchOp, PatchOperation};

const BILL_CUSTOMER_VALUES: [&str; 3] = ["Billable", "DoNotBill", "NoCharge"];
const INVOICE_DESCRIPTION_MAX: usize = 6000;
/// Fields a client cannot change on an addition.
const READ_ONLY_FIELDS: [&str; 3] = ["id", "agreementId", "_info"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Collection {
    Catalog,
    Companies,
    Agreements,
    Additions,
    Boards,
    BoardStatuses,
    BoardTypes,
    Priorities,
    Tickets,
    TicketNotes,
}

/// Records as ConnectWise would serialise them, keyed (and listed) by id.
#[derive(Default)]
pub struct Store {
    last_id: i64,
    tables: BTreeMap<&'static str, BTreeMap<i64, Value>>,
    /// The additions of each agreement, so listing one agreement's does not scan them all.
    additions_of: BTreeMap<i64, BTreeSet<i64>>,
}

/// A ConnectWise error: HTTP status and body.
pub type Rejection = (u16, ApiErrorBody);

impl Collection {
    fn table(self) -> &'static str {
        match self {
            Self::Catalog => "catalog",
            Self::Companies => "companies",
            Self::Agreements => "agreements",
            Self::Additions => "additions",
            Self::Boards => "boards",
            Self::BoardStatuses => "board_statuses",
            Self::BoardTypes => "board_types",
            Self::Priorities => "priorities",
            Self::Tickets => "tickets",
            Self::TicketNotes => "ticket_notes",
        }
    }
}

pub fn now_stamp() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub fn info() -> Value {
    json!({"lastUpdated": now_stamp(), "updatedBy": "fake-connectwise"})
}

pub fn not_found(what: &str, id: i64) -> Rejection {
    (
        404,
        ApiErrorBody {
            code: Some("NotFound".into()),
            message: Some(format!("{what} recId {id} not found")),
            errors: Vec::new(),
        },
    )
}

pub fn invalid(resource: &str, errors: Vec<ApiFieldError>) -> Rejection {
    (
        400,
        ApiErrorBody {
            code: Some("InvalidObject".into()),
            message: Some(format!("{resource} object is invalid")),
            errors,
        },
    )
}

fn field_error(code: &str, field: &str, message: String) -> ApiFieldError {
    ApiFieldError {
        code: Some(code.into()),
        message: Some(message),
        resource: Some("addition".into()),
        field: Some(field.into()),
    }
}

impl Store {
    pub fn records(&self, collection: Collection) -> impl Iterator<Item = &Value> {
        self.tables
            .get(collection.table())
            .into_iter()
            .flat_map(BTreeMap::values)
    }

    /// The additions of one agreement, by id.
    pub fn additions_of(&self, agreement_id: i64) -> impl Iterator<Item = &Value> {
        self.additions_of
            .get(&agreement_id)
            .into_iter()
            .flatten()
            .filter_map(|&id| self.get(Collection::Additions, id))
    }

    pub fn get(&self, collection: Collection, id: i64) -> Option<&Value> {
        self.tables.get(collection.table())?.get(&id)
    }

    /// Stores a record, giving it the next id and `_info`.
    pub fn insert(&mut self, collection: Collection, mut record: Value) -> Value {
        self.last_id += 1;
        let fields = record.as_object_mut().expect("records are JSON objects");
        fields.insert("id".into(), json!(self.last_id));
        fields.insert("_info".into(), info());
        self.put(collection, self.last_id, record)
    }

    pub fn put(&mut self, collection: Collection, id: i64, record: Value) -> Value {
        if collection == Collection::Additions {
            if let Some(agreement_id) = record["agreementId"].as_i64() {
                self.additions_of
                    .entry(agreement_id)
                    .or_default()
                    .insert(id);
            }
        }
        self.tables
            .entry(collection.table())
            .or_default()
            .insert(id, record.clone());
        record
    }

    pub fn remove(&mut self, collection: Collection, id: i64) -> Option<Value> {
        let removed = self.tables.get_mut(collection.table())?.remove(&id)?;
        if collection == Collection::Additions {
            if let Some(ids) = removed["agreementId"]
                .as_i64()
                .and_then(|agreement| self.additions_of.get_mut(&agreement))
            {
                ids.remove(&id);
            }
        }
        Some(removed)
    }

    /// A reference as ConnectWise embeds it: `{id, identifier, name, _info}` from the target record.
    pub fn reference(&self, collection: Collection, id: i64) -> Option<Value> {
        let record = self.get(collection, id)?;
        let mut reference = Map::new();
        reference.insert("id".into(), json!(id));
        for field in ["identifier", "name"] {
            if let Some(value) = record.get(field) {
                reference.insert(field.into(), value.clone());
            }
        }
        Some(Value::Object(reference))
    }

    pub fn agreement_addition(
        &self,
        agreement_id: i64,
        addition_id: i64,
    ) -> Result<&Value, Rejection> {
        self.get(Collection::Additions, addition_id)
            .filter(|a| a["agreementId"] == json!(agreement_id))
            .ok_or_else(|| not_found("Addition", addition_id))
    }

    pub fn create_addition(&mut self, agreement_id: i64, body: Value) -> Result<Value, Rejection> {
        let record = self.complete_addition(agreement_id, body, None)?;
        Ok(self.insert(Collection::Additions, record))
    }

    pub fn replace_addition(
        &mut self,
        agreement_id: i64,
        addition_id: i64,
        body: Value,
    ) -> Result<Value, Rejection> {
        let existing = self.agreement_addition(agreement_id, addition_id)?.clone();
        let record = self.complete_addition(agreement_id, body, Some(&existing))?;
        Ok(self.put(Collection::Additions, addition_id, record))
    }

    pub fn patch_addition(
        &mut self,
        agreement_id: i64,
        addition_id: i64,
        operations: &[PatchOperation],
    ) -> Result<Value, Rejection> {
        let mut patched = self.agreement_addition(agreement_id, addition_id)?.clone();
        for operation in operations {
            apply_patch(&mut patched, operation)?;
        }
        self.replace_addition(agreement_id, addition_id, patched)
    }

    /// Validates an addition body and fills what ConnectWise fills: catalog prices, status, totals.
    fn complete_addition(
        &self,
        agreement_id: i64,
        body: Value,
        existing: Option<&Value>,
    ) -> Result<Value, Rejection> {
        let agreement = self
            .get(Collection::Agreements, agreement_id)
            .ok_or_else(|| not_found("Agreement", agreement_id))?;
        let Value::Object(mut fields) = body else {
            return Err(invalid("addition", Vec::new()));
        };
        let mut errors = Vec::new();
        let product_id = fields
            .get("product")
            .and_then(|p| p.get("id"))
            .and_then(Value::as_i64);
        let product = product_id.and_then(|id| self.get(Collection::Catalog, id));
        match (product_id, product) {
            (None, _) => errors.push(field_error(
                "MissingRequiredField",
                "product",
                "The product field is required.".into(),
            )),
            (Some(id), None) => errors.push(field_error(
                "InvalidField",
                "product/id",
                format!("Product recId {id} not found."),
            )),
            _ => {}
        }
        match fields.get("billCustomer").and_then(Value::as_str) {
            None => errors.push(field_error(
                "MissingRequiredField",
                "billCustomer",
                "The billCustomer field is required.".into(),
            )),
            Some(value) if !BILL_CUSTOMER_VALUES.contains(&value) => errors.push(field_error(
                "InvalidField",
                "billCustomer",
                format!(
                    "billCustomer must be one of {}.",
                    BILL_CUSTOMER_VALUES.join(", ")
                ),
            )),
            Some(_) => {}
        }
        let invoice_description_len = fields
            .get("invoiceDescription")
            .and_then(Value::as_str)
            .map_or(0, |d| d.chars().count());
        if invoice_description_len > INVOICE_DESCRIPTION_MAX {
            errors.push(field_error(
                "InvalidField",
                "invoiceDescription",
                format!("invoiceDescription is limited to {INVOICE_DESCRIPTION_MAX} characters."),
            ));
        }
        let (Some(product_id), Some(product), true) = (product_id, product, errors.is_empty())
        else {
            return Err(invalid("addition", errors));
        };

        for read_only in READ_ONLY_FIELDS {
            fields.remove(read_only);
        }
        let defaults = [
            ("quantity", json!(0.0)),
            ("lessIncluded", json!(0.0)),
            (
                "unitPrice",
                product.get("price").cloned().unwrap_or(json!(0.0)),
            ),
            (
                "unitCost",
                product.get("cost").cloned().unwrap_or(json!(0.0)),
            ),
            (
                "description",
                product.get("description").cloned().unwrap_or(Value::Null),
            ),
            (
                "invoiceDescription",
                product
                    .get("customerDescription")
                    .cloned()
                    .unwrap_or(Value::Null),
            ),
            (
                "taxableFlag",
                product.get("taxableFlag").cloned().unwrap_or(json!(false)),
            ),
            (
                "effectiveDate",
                json!(format!("{}T00:00:00Z", Utc::now().date_naive())),
            ),
            ("cancelledDate", Value::Null),
        ];
        for (field, default) in defaults {
            if fields.get(field).is_none_or(Value::is_null) {
                fields.insert(field.into(), default);
            }
        }
        let number = |field: &str| fields.get(field).and_then(Value::as_f64).unwrap_or(0.0);
        let billed = (number("quantity") - number("lessIncluded")).max(0.0);
        let (ext_price, ext_cost) = (billed * number("unitPrice"), billed * number("unitCost"));
        fields.insert("extPrice".into(), json!(ext_price));
        fields.insert("extCost".into(), json!(ext_cost));
        fields.insert(
            "product".into(),
            self.reference(Collection::Catalog, product_id)
                .expect("checked above"),
        );
        fields.insert("agreementId".into(), json!(agreement_id));
        fields.insert(
            "agreementStatus".into(),
            agreement
                .get("agreementStatus")
                .cloned()
                .unwrap_or(json!("Active")),
        );
        if let Some(existing) = existing {
            fields.insert("id".into(), existing["id"].clone());
            fields.insert("_info".into(), info());
        }
        Ok(Value::Object(fields))
    }
}

fn apply_patch(record: &mut Value, operation: &PatchOperation) -> Result<(), Rejection> {
    let path: Vec<&str> = operation.path.trim_start_matches('/').split('/').collect();
    let patch_error = |message: String| {
        invalid(
            "addition",
            vec![field_error("InvalidField", &operation.path, message)],
        )
    };
    if READ_ONLY_FIELDS
        .iter()
        .any(|f| f.eq_ignore_ascii_case(path[0]))
    {
        return Err(patch_error(format!("{} is read-only.", operation.path)));
    }
    let (last, parents) = path.split_last().expect("split yields at least one part");
    let mut target = record;
    for part in parents {
        target = target
            .as_object_mut()
            .map(|fields| fields.entry(*part).or_insert_with(|| json!({})))
            .filter(|child| child.is_object() || child.is_null())
            .ok_or_else(|| patch_error(format!("{} is not an object path.", operation.path)))?;
        if target.is_null() {
            *target = json!({});
        }
    }
    let fields = target.as_object_mut().expect("walked objects only");
    match (operation.op, &operation.value) {
        (PatchOp::Remove, _) => {
            fields.insert((*last).into(), Value::Null);
        }
        (_, Some(value)) => {
            let value = serde_json::from_str(value.get())
                .map_err(|_| patch_error("The value is not JSON.".into()))?;
            fields.insert((*last).into(), value);
        }
        (_, None) => return Err(patch_error("A value is required.".into())),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded() -> (Store, i64, i64) {
        let mut store = Store::default();
        let product = store.insert(
            Collection::Catalog,
            json!({"identifier": "KES-WS", "description": "KES workstation", "price": 4.5, "cost": 2.0}),
        );
        let agreement = store.insert(
            Collection::Agreements,
            json!({"name": "MSP", "agreementStatus": "Active"}),
        );
        (
            store,
            agreement["id"].as_i64().unwrap(),
            product["id"].as_i64().unwrap(),
        )
    }

    #[test]
    fn creation_fills_catalog_defaults() {
        let (mut store, agreement, product) = seeded();
        let created = store
            .create_addition(
                agreement,
                json!({"product": {"id": product}, "billCustomer": "Billable", "quantity": 10}),
            )
            .unwrap();
        assert_eq!(created["unitPrice"], json!(4.5));
        assert_eq!(created["unitCost"], json!(2.0));
        assert_eq!(created["extPrice"], json!(45.0));
        assert_eq!(created["product"]["identifier"], json!("KES-WS"));
        assert_eq!(created["agreementId"], json!(agreement));
        assert_eq!(created["cancelledDate"], Value::Null);
    }

    #[test]
    fn validation_reports_every_problem() {
        let (mut store, agreement, _) = seeded();
        let (status, body) = store
            .create_addition(agreement, json!({"billCustomer": "Sometimes"}))
            .unwrap_err();
        assert_eq!(status, 400);
        let fields: Vec<_> = body
            .errors
            .iter()
            .filter_map(|e| e.field.as_deref())
            .collect();
        assert_eq!(fields, ["product", "billCustomer"]);
        let (status, _) = store
            .create_addition(agreement + 100, json!({}))
            .unwrap_err();
        assert_eq!(status, 404);
    }

    #[test]
    fn patch_replaces_adds_and_removes() {
        let (mut store, agreement, product) = seeded();
        let created = store
            .create_addition(
                agreement,
                json!({"product": {"id": product}, "billCustomer": "Billable"}),
            )
            .unwrap();
        let id = created["id"].as_i64().unwrap();
        let ops: Vec<PatchOperation> = serde_json::from_str(
            &json!([
                {"op": "replace", "path": "quantity", "value": 12},
                {"op": "add", "path": "cancelledDate", "value": "2026-05-31T00:00:00Z"},
                {"op": "remove", "path": "description"}
            ])
            .to_string(),
        )
        .unwrap();
        let patched = store.patch_addition(agreement, id, &ops).unwrap();
        assert_eq!(patched["quantity"], json!(12));
        assert_eq!(patched["cancelledDate"], json!("2026-05-31T00:00:00Z"));
        assert_eq!(patched["extPrice"], json!(54.0));
        let read_only = [PatchOperation::replace("id", 99)];
        assert_eq!(
            store
                .patch_addition(agreement, id, &read_only)
                .unwrap_err()
                .0,
            400
        );
    }
}
