//! What a line bills besides its quantity (DOMAIN.md §7): the billing profile of its product,
//! the customer's own terms, and the terms an addition is written with.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::model::{ApplicationId, DeviceCategory};
use super::money::Money;

/// The longest invoice description ConnectWise keeps.
pub const INVOICE_DESCRIPTION_MAX: usize = 6000;

crate::text_enum! {
    /// How ConnectWise bills an addition.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
    pub enum BillCustomer {
        /// Billed at its price (the default).
        #[default]
        Billable => "Billable",
        /// A cost-only line: not on the invoice (margin tracking).
        DoNotBill => "DoNotBill",
        /// On the invoice at zero.
        NoCharge => "NoCharge",
    }
}

/// A unit price or cost: the catalog item's current one (the text `"catalog"`), or a fixed
/// amount (a decimal string).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Price {
    #[default]
    Catalog,
    Fixed(Money),
}

impl Price {
    /// The amount in force given the catalog's; `None` when it follows a catalog that has none.
    pub fn resolve(self, catalog: Option<Money>) -> Option<Money> {
        match self {
            Price::Catalog => catalog,
            Price::Fixed(amount) => Some(amount),
        }
    }
}

impl Serialize for Price {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Price::Catalog => s.serialize_str("catalog"),
            Price::Fixed(amount) => amount.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Price {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        match text.as_ref() {
            "catalog" => Ok(Price::Catalog),
            amount => amount
                .parse()
                .map(Price::Fixed)
                .map_err(serde::de::Error::custom),
        }
    }
}

impl utoipa::PartialSchema for Price {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(format!("^catalog$|{}", super::money::PATTERN)))
            .description(Some(
                "`catalog` (the catalog item's current amount) or a fixed amount as a decimal \
                 string, e.g. \"24.50\".",
            ))
            .examples(["catalog"])
            .into()
    }
}

impl ToSchema for Price {}

/// One ConnectWise product's billing profile: how every addition of the product is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BillingProfile {
    pub bill_customer: BillCustomer,
    pub unit_price: Price,
    pub unit_cost: Price,
    /// `null`: the catalog item's flag.
    pub taxable: Option<bool>,
    /// A template with `{application}`, `{category}`, `{company}`, `{tenant}` and `{quantity}`;
    /// `null`: the application names and categories the line bills.
    pub invoice_description: Option<String>,
}

/// This customer's terms for one product on its agreement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProductTerms {
    /// The ConnectWise product.
    pub product_id: i64,
    /// A line with usage bills at least this many units (0 usage still cancels).
    #[serde(default)]
    pub minimum_quantity: u64,
    /// Units the agreement already includes: written as `lessIncluded`.
    #[serde(default)]
    pub included_quantity: u64,
    /// This customer's price, beating the profile's.
    #[serde(default)]
    pub unit_price: Option<Money>,
}

/// This customer's handling of one application (and category): billed on another product, or
/// not billed at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ApplicationTerms {
    pub application_id: ApplicationId,
    /// `null`: every category (and the totalled line).
    #[serde(default)]
    pub category: Option<DeviceCategory>,
    /// Bill this usage on this product instead of the mapping's.
    #[serde(default)]
    pub product: Option<i64>,
    /// Not billed for this customer (reported as unbilled, reason `excluded`).
    #[serde(default)]
    pub excluded: bool,
}

/// A company mapping's terms: per product, and per application.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CompanyTerms {
    /// One entry per ConnectWise product, by product id.
    #[serde(default)]
    pub products: Vec<ProductTerms>,
    #[serde(default)]
    pub applications: Vec<ApplicationTerms>,
}

/// How the customer's terms route one application's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Routing {
    /// As the product mapping says.
    Mapped,
    Product(i64),
    Excluded,
}

impl CompanyTerms {
    /// The routing of `application` (in `category`): a rule naming the category beats one for
    /// every category.
    pub fn routing(&self, application: &str, category: Option<DeviceCategory>) -> Routing {
        let rule = |exact: bool| {
            self.applications.iter().find(|t| {
                t.application_id == application
                    && if exact {
                        t.category.is_some() && t.category == category
                    } else {
                        t.category.is_none()
                    }
            })
        };
        match rule(true).or_else(|| rule(false)) {
            Some(t) if t.excluded => Routing::Excluded,
            Some(ApplicationTerms {
                product: Some(p), ..
            }) => Routing::Product(*p),
            _ => Routing::Mapped,
        }
    }

    pub fn product(&self, product_id: i64) -> Option<&ProductTerms> {
        self.products.iter().find(|p| p.product_id == product_id)
    }

    /// The quantity a line bills for `usage` units: at least the minimum while there is usage.
    pub fn billed_quantity(&self, product_id: i64, usage: u64) -> u64 {
        match self.product(product_id) {
            Some(t) if usage > 0 => usage.max(t.minimum_quantity),
            _ => usage,
        }
    }
}

/// What the catalog cache knows of a product's money.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatalogTerms {
    pub price: Option<Money>,
    pub cost: Option<Money>,
    pub taxable: bool,
}

/// The terms an addition is written with (besides its quantity and dates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LineTerms {
    pub bill_customer: BillCustomer,
    pub unit_price: Option<Money>,
    pub unit_cost: Option<Money>,
    pub taxable: bool,
    pub invoice_description: Option<String>,
    pub less_included: u64,
}

/// What a description template is filled with.
#[derive(Debug, Clone, Default)]
pub struct DescriptionContext<'a> {
    pub applications: &'a [String],
    pub categories: &'a [String],
    pub company: &'a str,
    pub tenant: &'a str,
    pub quantity: u64,
}

/// Fills `{application}`, `{category}`, `{company}`, `{tenant}` and `{quantity}`; an unknown
/// name in braces stays as written. Cut to what ConnectWise keeps.
pub fn expand(template: &str, context: &DescriptionContext<'_>) -> String {
    let text = template
        .replace("{application}", &context.applications.join(", "))
        .replace("{category}", &context.categories.join(", "))
        .replace("{company}", context.company)
        .replace("{tenant}", context.tenant)
        .replace("{quantity}", &context.quantity.to_string());
    text.chars().take(INVOICE_DESCRIPTION_MAX).collect()
}

/// The default description: the applications and categories the line bills.
pub fn default_description(context: &DescriptionContext<'_>) -> String {
    let mut text = context.applications.join(", ");
    if !context.categories.is_empty() {
        text = format!("{text} ({})", context.categories.join(", "));
    }
    text.chars().take(INVOICE_DESCRIPTION_MAX).collect()
}

/// The terms of one line: the profile of its product (if the MSP set one), beaten by the
/// customer's price; `None` without a profile or customer terms, so an installation that sets
/// none writes additions exactly as before (ConnectWise's catalog defaults).
pub fn line_terms(
    profile: Option<&BillingProfile>,
    customer: Option<&ProductTerms>,
    catalog: CatalogTerms,
    description: &DescriptionContext<'_>,
) -> Option<LineTerms> {
    if profile.is_none() && customer.is_none() {
        return None;
    }
    let profile = profile.cloned().unwrap_or_default();
    let unit_price = customer
        .and_then(|c| c.unit_price)
        .or_else(|| profile.unit_price.resolve(catalog.price));
    Some(LineTerms {
        bill_customer: profile.bill_customer,
        unit_price,
        unit_cost: profile.unit_cost.resolve(catalog.cost),
        taxable: profile.taxable.unwrap_or(catalog.taxable),
        invoice_description: Some(match &profile.invoice_description {
            Some(template) => expand(template, description),
            None => default_description(description),
        }),
        less_included: customer.map_or(0, |c| c.included_quantity),
    })
}

/// The monthly amount a line invoices: units beyond those included, at its price; nothing
/// for a line that is not billed to the customer.
pub fn monthly_amount(
    bill_customer: BillCustomer,
    quantity: rust_decimal::Decimal,
    less_included: rust_decimal::Decimal,
    unit_price: Option<Money>,
) -> Money {
    if bill_customer != BillCustomer::Billable {
        return Money::ZERO;
    }
    let billed = (quantity - less_included).max(rust_decimal::Decimal::ZERO);
    unit_price.unwrap_or_default().times(billed)
}

#[cfg(test)]
mod tests;
