// The frontend workflow through the generated types (openapi-typescript) and openapi-fetch,
// against a live sandbox: log in, read the mapping grid with its ETag and save it with
// If-Match, map a company, preview, start a run, then clear a mapping so its cancels are held,
// approve them and read the run's changes. Compiled with `tsc --strict` against the committed
// spec (scripts/check-typed-clients.sh): a spec change that breaks this breaks CI.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./api.js";

type SyncRun = components["schemas"]["SyncRun"];
// Node's `process`, without pulling in all of @types/node.
declare const process: { env: Record<string, string | undefined> };

const base = process.env.BRIDGE_URL ?? "";
const password = process.env.ADMIN_PASSWORD ?? "";

function check(condition: boolean, what: string): asserts condition {
  if (!condition) {
    throw new Error(`typed client: ${what}`);
  }
}

const client = createClient<paths>({ baseUrl: base });

const login = await client.POST("/api/v1/auth/login", {
  body: { username: "admin", password },
});
check(login.data !== undefined, `login answered ${login.response.status}`);
const token = login.data.access_token;
const bearer: Middleware = {
  onRequest({ request }) {
    request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
};
client.use(bearer);

await client.POST("/api/v1/connectwise/products/refresh");
const products = await client.GET("/api/v1/connectwise/products", { params: { query: { per_page: 100 } } });
check(products.data !== undefined, "the catalog cannot be read");
const productId = (identifier: string): number => {
  const found = products.data?.items.find((p) => p.identifier === identifier);
  check(found !== undefined, `no product ${identifier}`);
  return found.id;
};

// Category billing on, then the grid read with its ETag and saved with If-Match.
const billing = await client.GET("/api/v1/settings/billing");
check(billing.data !== undefined, "no billing settings");
await client.PUT("/api/v1/settings/billing", {
  params: { header: { "If-Match": billing.response.headers.get("ETag") ?? undefined } },
  body: { bill_devices_by_category: true },
});
const grid = await client.GET("/api/v1/product-mappings", { params: { query: { solution: "ksc" } } });
check(grid.data !== undefined && grid.data.bill_devices_by_category, "the grid does not bill by category");
const etag = grid.response.headers.get("ETag");
check(etag !== null, "the grid has no ETag");
const notModified = await client.GET("/api/v1/product-mappings", {
  params: { query: { solution: "ksc" }, header: { "If-None-Match": etag } },
});
check(notModified.response.status === 304, `If-None-Match answered ${notModified.response.status}`);
const windows = {
  application_id: "kes-windows",
  workstation_product_id: productId("KES-WS"),
  server_product_id: productId("KES-SRV"),
  non_windows_product_id: productId("KES-NONWIN"),
};
const saved = await client.PUT("/api/v1/product-mappings", {
  params: { header: { "If-Match": etag } },
  body: { rows: [windows] },
});
check(saved.data !== undefined, `saving the grid answered ${saved.response.status}`);
const savedEtag = saved.response.headers.get("ETag");
check(savedEtag !== null, "the saved grid has no ETag");

// Contoso mapped to its company's agreement, both found through the look-ups.
const tenants = await client.GET("/api/v1/tenants", { params: { query: { solution: "ksc" } } });
const contoso = tenants.data?.items.find((t) => t.name === "Contoso");
check(contoso !== undefined, "no Contoso tenant");
const companies = await client.GET("/api/v1/connectwise/companies", { params: { query: { search: "Contoso" } } });
const company = companies.data?.items[0];
check(company !== undefined, "no Contoso company");
const agreements = await client.GET("/api/v1/connectwise/companies/{id}/agreements", {
  params: { path: { id: company.id } },
});
const agreement = agreements.data?.items.find((a) => a.accepts_additions);
check(agreement !== undefined, "no agreement takes additions");
const mapping = await client.POST("/api/v1/company-mappings", {
  body: { tenant_id: contoso.id, cw_company_id: company.id, agreement_id: agreement.id },
});
check(mapping.response.status === 201, `mapping Contoso answered ${mapping.response.status}`);

async function finished(started: SyncRun): Promise<SyncRun> {
  for (let i = 0; i < 300; i++) {
    const run = await client.GET("/api/v1/sync/runs/{id}", { params: { path: { id: started.id } } });
    check(run.data !== undefined, "the run cannot be read");
    if (run.data.finished_at !== null && run.data.finished_at !== undefined) {
      return run.data;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("typed client: the run did not finish");
}

async function previewAndRun(approve?: "all"): Promise<SyncRun> {
  const preview = await client.POST("/api/v1/sync/preview", {});
  check(preview.data !== undefined, `preview answered ${preview.response.status}`);
  const started = await client.POST("/api/v1/sync/runs", {
    body: { plan_id: preview.data.id, approve },
  });
  check(started.data !== undefined, `starting a run answered ${started.response.status}`);
  check(started.response.headers.get("Location") !== null, "the run has no Location");
  return finished(started.data);
}

const first = await previewAndRun();
check(first.summary.outcomes["applied"] !== undefined, `nothing applied: ${JSON.stringify(first.summary)}`);

// Clearing the mapping cancels Contoso's lines: every cancel is held until approved.
const cleared = await client.PUT("/api/v1/product-mappings", {
  params: { header: { "If-Match": savedEtag } },
  body: { rows: [{ application_id: "kes-windows" }] },
});
check(cleared.data !== undefined, `clearing answered ${cleared.response.status}`);
const held = await client.POST("/api/v1/sync/preview", {});
const heldLines = held.data?.lines.filter((line) => line.hold !== null && line.hold !== undefined) ?? [];
check(heldLines.length > 0, "no line is held");
const approved = await previewAndRun("all");
const changes = await client.GET("/api/v1/sync/runs/{id}/changes", {
  params: { path: { id: approved.id }, query: { per_page: 50 } },
});
check(changes.data !== undefined, "the changes cannot be read");
const cancels = changes.data.items.filter((c) => c.action === "cancel" && c.result === "applied");
check(cancels.length > 0, `no approved cancel applied: ${JSON.stringify(changes.data.items)}`);
check(changes.response.headers.get("Link") !== null, "the changes have no Link");
console.log(`typed client: ${cancels.length} held cancel(s) approved and applied in run ${approved.id}`);
