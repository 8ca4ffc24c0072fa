//! The reconciliation report (DOMAIN.md §7): per company and product, units deployed against
//! units billed by the ConnectWise additions in force today (read live, one paged read per
//! agreement at the sync's concurrency), the money between them, and unbilled usage at catalog
//! price.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::adapters::db;
use crate::domain::desired::UnbilledUsage;
use crate::domain::ids::AgreementId;
use crate::domain::money::Money;
use crate::domain::plan::CwAddition;
use crate::domain::reconciliation::{reconcile, CompanyInput, ReconciledLine};
use crate::runtime::state::Core;
use crate::services::listing::PageRequest;
use crate::services::ServiceError;
use crate::sync::inputs::Inputs;
use crate::sync::plan::read_additions;

/// Where the billed side is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReadingSource {
    /// ConnectWise, while the report is made (one read per agreement).
    #[default]
    Live,
    /// What the last run read, after its own writes (no ConnectWise call).
    LastRun,
}

/// Why a company's deployed units are not known now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CompanyState {
    /// Usage and additions both read: every line is reconciled.
    Reconciled,
    /// Its usage cannot be billed now (unreadable, too old, blocked, billing off).
    UsageNotBilled,
    /// Its agreement's additions could not be read (or, from the last run, were never read).
    AdditionsUnreadable,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CompanyReconciliation {
    pub company_mapping_id: String,
    pub cw_company_id: i64,
    pub cw_company_name: String,
    pub agreement_id: i64,
    pub tenant_name: Option<String>,
    pub state: CompanyState,
    /// When its agreement's additions were read.
    pub read_at: Option<DateTime<Utc>>,
    pub lines: Vec<ReconciledLine>,
    pub totals: Totals,
}

/// Monthly amounts of some lines together. A line whose deployed units are unknown (usage not
/// billed now) counts as deployed at what it bills, so `amount_deployed − amount_billed` is always
/// `difference`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Totals {
    pub amount_billed: Money,
    pub amount_deployed: Money,
    pub difference: Money,
}

impl Totals {
    fn of<'a>(lines: impl Iterator<Item = &'a ReconciledLine>) -> Totals {
        lines.fold(Totals::default(), |t, l| Totals {
            amount_billed: t.amount_billed + l.amount_billed,
            amount_deployed: t.amount_deployed + l.amount_deployed.unwrap_or(l.amount_billed),
            difference: t.difference + l.difference.unwrap_or(Money::ZERO),
        })
    }
}

/// Usage nothing bills, with what it would bill at catalog price where a product is mapped.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UnbilledAmount {
    #[serde(flatten)]
    pub usage: UnbilledUsage,
    pub amount_at_catalog: Option<Money>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reconciliation {
    pub source: ReadingSource,
    /// When the billed side was read (from the last run: the oldest reading shown).
    pub read_at: Option<DateTime<Utc>>,
    /// The companies of this page, by name.
    pub companies: Vec<CompanyReconciliation>,
    /// Companies the filters let through (all pages).
    pub total: i64,
    /// Every company the filters let through, together.
    pub totals: Totals,
    pub unbilled: Vec<UnbilledAmount>,
}

/// Which companies to show.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub cw_company_id: Option<i64>,
    pub differences_only: bool,
    pub source: ReadingSource,
}

/// The additions in force of each agreement, when each was read, and those not read.
struct Billed {
    additions: Vec<CwAddition>,
    read_at: HashMap<AgreementId, DateTime<Utc>>,
}

async fn billed(
    ctx: &Core,
    source: ReadingSource,
    agreements: BTreeSet<AgreementId>,
) -> Result<Billed, ServiceError> {
    match source {
        ReadingSource::Live => {
            let client = crate::runtime::clients::shared_connectwise(ctx).await?;
            let (additions, unreadable) = read_additions(&client, &agreements).await;
            let now = Utc::now();
            let unreadable: HashSet<AgreementId> =
                unreadable.iter().map(|u| u.agreement_id).collect();
            let read_at = agreements
                .into_iter()
                .filter(|a| !unreadable.contains(a))
                .map(|a| (a, now))
                .collect();
            Ok(Billed { additions, read_at })
        }
        ReadingSource::LastRun => {
            let ids: Vec<i64> = agreements.into_iter().map(|a| a.0).collect();
            let rows = db::run(&ctx.pool, move |conn| {
                Ok::<_, ServiceError>(db::readings::of(conn, &ids)?)
            })
            .await?;
            let read_at = rows
                .iter()
                .map(|r| (AgreementId(r.agreement_id), r.read_at.and_utc()))
                .collect();
            let additions = rows.into_iter().flat_map(|r| r.additions_json.0).collect();
            Ok(Billed { additions, read_at })
        }
    }
}

pub async fn report(
    ctx: &Core,
    filter: Filter,
    page: PageRequest,
) -> Result<Reconciliation, ServiceError> {
    let now = Utc::now();
    let inputs = db::run(&ctx.pool, move |conn| Inputs::load(conn, now)).await?;
    let mappings: Vec<_> = inputs
        .mappings
        .iter()
        .filter(|m| filter.cw_company_id.is_none_or(|id| id == m.cw_company_id))
        .collect();
    let agreements: BTreeSet<AgreementId> = mappings
        .iter()
        .map(|m| AgreementId(m.agreement_id))
        .collect();
    let Billed { additions, read_at } = billed(ctx, filter.source, agreements).await?;
    let desired = inputs.desired_all();
    let not_billed: HashSet<&String> = desired
        .frozen
        .iter()
        .map(|t| &t.tenant_id)
        .chain(desired.blocked.iter().map(|t| &t.tenant_id))
        .chain(desired.released.iter().map(|t| &t.tenant_id))
        .collect();
    let pricing = inputs.pricing(&desired.quantities);
    let mut companies: Vec<CompanyReconciliation> = mappings
        .iter()
        .map(|m| {
            let agreement = AgreementId(m.agreement_id);
            let state = if !read_at.contains_key(&agreement) {
                CompanyState::AdditionsUnreadable
            } else if not_billed.contains(&m.tenant_id) {
                CompanyState::UsageNotBilled
            } else {
                CompanyState::Reconciled
            };
            let lines = desired
                .quantities
                .iter()
                .filter(|d| d.agreement_id == agreement)
                .collect();
            let prices: BTreeMap<i64, _> = pricing
                .iter()
                .filter(|(key, _)| key.agreement_id == agreement)
                .map(|(key, p)| (key.product_id.0, p.clone()))
                .collect();
            let lines = reconcile(&CompanyInput {
                desired: (state == CompanyState::Reconciled).then_some(lines),
                additions: additions
                    .iter()
                    .filter(|a| a.agreement_id == agreement && a.is_active(now))
                    .collect(),
                pricing: &prices,
            });
            CompanyReconciliation {
                company_mapping_id: m.id.clone(),
                cw_company_id: m.cw_company_id,
                cw_company_name: m.cw_company_name.clone(),
                agreement_id: m.agreement_id,
                tenant_name: inputs.tenants.get(&m.tenant_id).map(|t| t.name.clone()),
                state,
                read_at: read_at.get(&agreement).copied(),
                totals: Totals::of(lines.iter()),
                lines,
            }
        })
        .filter(|c| !filter.differences_only || c.lines.iter().any(ReconciledLine::differs))
        .collect();
    companies.sort_by(|a, b| {
        (&a.cw_company_name, a.cw_company_id).cmp(&(&b.cw_company_name, b.cw_company_id))
    });
    let totals = Totals::of(companies.iter().flat_map(|c| &c.lines));
    let total = companies.len() as i64;
    let oldest = companies.iter().filter_map(|c| c.read_at).min();
    let shown: Vec<String> = companies
        .iter()
        .map(|c| c.company_mapping_id.clone())
        .collect();
    let companies = companies
        .into_iter()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .collect();
    let tenants: HashSet<&String> = mappings
        .iter()
        .filter(|m| shown.contains(&m.id))
        .map(|m| &m.tenant_id)
        .collect();
    let unbilled = desired
        .unbilled
        .into_iter()
        .filter(|u| filter.cw_company_id.is_none() || tenants.contains(&u.tenant_id))
        .map(|usage| {
            let product = usage
                .application_id
                .as_deref()
                .and_then(|app| inputs.product_for(app, usage.category));
            let amount_at_catalog = product
                .and_then(|p| inputs.catalog_price(p))
                .map(|price| price.times(usage.quantity.into()));
            UnbilledAmount {
                usage,
                amount_at_catalog,
            }
        })
        .collect();
    Ok(Reconciliation {
        source: filter.source,
        read_at: oldest,
        companies,
        total,
        totals,
        unbilled,
    })
}
