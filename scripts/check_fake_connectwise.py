"""Talks to the fake ConnectWise server with the public pyconnectwise client.

pyconnectwise's pydantic models come from ConnectWise's OpenAPI schema, so parsing every answer with
them checks that the fake speaks ConnectWise's wire format. Usage: check_fake_connectwise.py '<json line
printed by examples/fake_connectwise.rs>'. The caller sets REQUESTS_CA_BUNDLE to the fake's CA file.
"""

import json
import sys

from pyconnectwise import ConnectWiseManageAPIClient
from pyconnectwise.models.manage import (
    Addition,
    Agreement,
    Board,
    BoardStatus,
    CatalogItem,
    Company,
    Info,
    ServiceNote,
    Ticket,
)


def check(condition, message):
    if not condition:
        raise SystemExit(f"FAILED: {message}")
    print(f"ok: {message}")


def main():
    fake = json.loads(sys.argv[1])
    # No codebase given: the client discovers it through login/companyinfo, over https.
    client = ConnectWiseManageAPIClient(
        fake["login_company"],
        fake["host_port"],
        fake["client_id"],
        fake["public_key"],
        fake["private_key"],
    )
    check(client.codebase == "v4_6_release/", f"codebase discovered ({client.codebase})")

    info = client.system.info.get()
    check(isinstance(info, Info) and info.version, f"system/info parsed (version {info.version})")

    catalog = list(client.procurement.catalog.paginated(1, 1000).all())
    check(all(isinstance(item, CatalogItem) for item in catalog), "catalog items parsed")
    check(len(catalog) == fake["catalog_items"], f"catalog read across pages ({len(catalog)} items)")
    check(len({item.id for item in catalog}) == len(catalog), "catalog ids are unique")

    name = fake["company_name"]
    companies = client.company.companies.get(params={"conditions": f'name = "{name}"'})
    check(
        [c.id for c in companies] == [fake["company_id"]] and isinstance(companies[0], Company),
        f"company found by a name with an ampersand ({name})",
    )

    agreements = client.finance.agreements.get(params={"conditions": f"company/id={fake['company_id']}"})
    check(
        [a.id for a in agreements] == [fake["agreement_id"]] and isinstance(agreements[0], Agreement),
        "agreements of the company read",
    )
    check(agreements[0].company.id == fake["company_id"], "agreement carries its company reference")

    additions = client.finance.agreements.id(fake["agreement_id"]).additions
    created = additions.post(
        data={"product": {"id": fake["product_id"]}, "billCustomer": "Billable", "quantity": 5}
    )
    check(isinstance(created, Addition) and created.id, f"addition created (id {created.id})")
    check(created.unit_price == 5.0 and created.agreement_id == fake["agreement_id"], "catalog price and agreement filled in")

    patched = additions.id(created.id).patch(data=[{"op": "replace", "path": "quantity", "value": 12}])
    check(isinstance(patched, Addition) and patched.quantity == 12, "addition patched to quantity 12")

    listed = additions.get(params={"conditions": "cancelledDate = null"})
    check([a.quantity for a in listed] == [12], "active additions listed with the new quantity")

    # The terms a billing profile writes, under the names pyconnectwise's model gives them.
    priced = additions.post(
        data={"product": {"id": fake["product_id"]}, "billCustomer": "NoCharge", "quantity": 5,
              "lessIncluded": 2, "unitPrice": 19.99, "unitCost": 9.5, "taxableFlag": False,
              "invoiceDescription": "KES for Contoso: 5"}
    )
    check(
        isinstance(priced, Addition)
        and (priced.bill_customer, priced.less_included, priced.unit_price, priced.unit_cost)
        == ("NoCharge", 2, 19.99, 9.5)
        and priced.taxable_flag is False
        and priced.invoice_description == "KES for Contoso: 5",
        "addition terms kept: billCustomer, lessIncluded, unitPrice, unitCost, taxableFlag, invoiceDescription",
    )
    repriced = additions.id(priced.id).patch(
        data=[{"op": "replace", "path": "unitPrice", "value": 21.99},
              {"op": "replace", "path": "billCustomer", "value": "Billable"}]
    )
    check(
        repriced.unit_price == 21.99 and repriced.bill_customer == "Billable",
        "addition terms patched (unitPrice, billCustomer)",
    )

    check_service_desk(client, fake)


def check_service_desk(client, fake):
    """Boards, tickets and notes as the ticket channel of notifications uses them."""
    boards = client.service.boards.get(params={"conditions": 'name = "Help Desk"'})
    check(len(boards) == 1 and isinstance(boards[0], Board) and boards[0].id, "board looked up by name")
    board = boards[0]
    statuses = client.service.boards.id(board.id).statuses.get()
    check(
        all(isinstance(s, BoardStatus) for s in statuses) and any(s.closed_status for s in statuses),
        "board statuses parsed, one of them closed",
    )
    xref = "kmb:check:1"
    ticket = client.service.tickets.post(
        data={"summary": "Held lines would raise Smith & Sons' monthly bill by 8.00",
              "board": {"id": board.id}, "company": {"id": fake["company_id"]},
              "status": {"name": "New"}, "priority": {"name": "Priority 3 - Normal Response"},
              "type": {"name": "Billing"}, "initialDescription": "What, who, where", "externalXRef": xref}
    )
    check(
        isinstance(ticket, Ticket) and ticket.id and ticket.board.id == board.id
        and ticket.company.id == fake["company_id"] and ticket.status.name == "New"
        and ticket.type.name == "Billing" and ticket.closed_flag is False,
        f"ticket opened (id {ticket.id}) with board, company, status, priority and type",
    )
    found = client.service.tickets.get(params={"conditions": f'externalXRef = "{xref}"'})
    check([t.id for t in found] == [ticket.id], "ticket found again by its externalXRef")
    tickets = client.service.tickets.id(ticket.id)
    note = tickets.notes.post(data={"text": "Seen again", "detailDescriptionFlag": True})
    check(isinstance(note, ServiceNote) and note.ticket_id == ticket.id, "note added")
    notes = tickets.notes.get()
    check(
        [n.text for n in notes] == ["What, who, where", "Seen again"],
        "notes listed: the initial description first",
    )
    tickets.notes.post(data={"text": "Resolved", "resolutionFlag": True})
    closed = tickets.patch(data=[{"op": "replace", "path": "status", "value": {"name": "Closed"}}])
    check(
        isinstance(closed, Ticket) and closed.status.name == "Closed" and closed.closed_flag is True,
        "ticket closed by its status",
    )
    check(tickets.get().closed_flag is True, "ticket read back closed")
    try:
        tickets.notes.post(data={"text": "no flag"})
    except Exception:  # pyconnectwise raises on the 400
        print("ok: a note without detail/internal/resolution flag refused")
    else:
        raise SystemExit("FAILED: a note without detail/internal/resolution flag was accepted")


if __name__ == "__main__":
    main()
